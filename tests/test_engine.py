"""The matching engine: leakage, two-sided scores, filters, explanations, the batch contract."""

import copy
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits
from typer.testing import CliRunner

from matcher.cli import app
from matcher import explain
from matcher.features import (FEATURES, PAIR_SIZE_PRIOR, pair_features, partner_chains, partner_distances,
                               partner_size_gaps, swap_sides, usual_pair_sizes)
from matcher.geo import haversine_km
from matcher.prefilter import CatalogueScorer
from matcher.rank import PartnerRanker, TrainingGraphs
from matcher.recommend import Filters

COVENTRY, DRESDEN, PORTLAND, CHICAGO = 2652221, 2935022, 5746545, 4887398


def _edges(graph):
    coo = graph.adjacency.tocoo()
    keep = coo.row < coo.col
    return coo.row[keep], coo.col[keep]


@pytest.mark.parametrize("pair_index", [0, 7, 123])
def test_a_pair_never_informs_its_own_features(engine, pair_index):
    """Features of a known pair, its edge discounted, equal those computed on the graph without that edge."""
    table, graph = engine.table, engine.graph
    a_all, b_all = _edges(graph)
    order = np.argsort(-(graph.degree[a_all] + graph.degree[b_all]))  # well-connected pairs: every feature is live
    a, b = a_all[order[pair_index]], b_all[order[pair_index]]
    keep = ~((a_all == a) & (b_all == b))
    without = table.graph_of_positions(a_all[keep], b_all[keep])
    candidates = np.array([b])
    with_edge = pair_features(table.query(a, graph), table.side, candidates, graph,
                              table.countries, is_edge=np.array([True]))
    removed = pair_features(table.query(a, without), table.side, candidates, without,
                            table.countries)
    np.testing.assert_allclose(with_edge, removed, equal_nan=True, err_msg=str(FEATURES))


def test_partner_distances_are_the_nearest_partners_without_the_pair_itself(engine):
    """Checked against plain haversine distances, for candidates that are and are not A's partners."""
    table, graph = engine.table, engine.graph
    side = table.side
    a = table.position[COVENTRY]
    query = table.query(a, graph)
    candidates = np.r_[query.partners[:3], np.flatnonzero(graph.degree > 0)[:50]]
    to_a_partner, to_b_partner = partner_distances(query, candidates, graph)

    def nearest_km(lat, lon, others):
        return np.log1p(haversine_km(lat, lon, side.lat[others], side.lon[others]).min()) if len(others) else np.nan

    for i, b in enumerate(candidates):
        a_partners = query.partners[query.partners != b]
        b_partners = graph.neighbours(b)[graph.neighbours(b) != a]
        assert to_a_partner[i] == pytest.approx(nearest_km(side.lat[b], side.lon[b], a_partners), abs=1e-6, nan_ok=True)
        assert to_b_partner[i] == pytest.approx(nearest_km(side.lat[a], side.lon[a], b_partners), abs=1e-6, nan_ok=True)


def test_partner_chains_count_three_partnerships_that_avoid_the_pair(engine):
    """Checked against chains A - X - Y - B enumerated one by one, for candidates that are and are not A's
    partners (a partner's chains must not pass through the pair's own edge)."""
    table, graph = engine.table, engine.graph
    a = table.position[COVENTRY]
    query = table.query(a, graph)
    reached = np.unique(np.concatenate([graph.neighbours(y) for x in query.partners for y in graph.neighbours(x)]))
    candidates = np.r_[query.partners[:5], np.setdiff1d(reached, np.r_[query.partners, a])[:40]]
    is_partner = np.isin(candidates, query.partners)
    chains = partner_chains(query, candidates, graph, is_partner.astype(float))
    inverse = 1 / np.maximum(graph.degree, 1)
    for i, b in enumerate(candidates):
        expected = sum(inverse[x] * inverse[y] for x in query.partners if x != b
                       for y in graph.neighbours(x) if y != a and b in graph.neighbours(y))
        assert chains[i] == pytest.approx(expected, abs=1e-9)
    assert (chains[~is_partner] > 0).all()


def test_partner_size_gaps_compare_with_the_mean_size_of_the_other_partners(engine):
    table, graph = engine.table, engine.graph
    log_pop = table.side.log_pop
    a = table.position[CHICAGO]
    query = table.query(a, graph)
    candidates = np.flatnonzero(graph.degree > 0)[:30]
    gap_a, gap_b = partner_size_gaps(query, candidates, graph)
    for i, b in enumerate(candidates):
        assert gap_a[i] == pytest.approx(abs(log_pop[b] - log_pop[query.partners].mean()))
        assert gap_b[i] == pytest.approx(abs(log_pop[a] - log_pop[graph.neighbours(b)].mean()))


def test_usual_pair_sizes_are_those_of_the_two_countries_links(engine):
    """The usual size of B's country's cities in the links between the two countries, smoothed towards that of B's
    country's cities in all its links; A's likewise. Counted here end by end, over the graph's edges."""
    table, graph = engine.table, engine.graph
    log_pop, country = table.side.log_pop, graph.country
    a = table.position[CHICAGO]
    rows, cols = _edges(graph)
    ends, others = np.r_[rows, cols], np.r_[cols, rows]  # every end of every link, with the city at the other end

    def usual(of: int, with_country: int) -> float:
        in_pair = ends[(country[ends] == of) & (country[others] == with_country)]
        overall = log_pop[ends[country[ends] == of]].mean()
        return (log_pop[in_pair].sum() + PAIR_SIZE_PRIOR * overall) / (len(in_pair) + PAIR_SIZE_PRIOR)

    partnered = np.flatnonzero(graph.degree > 0)
    candidates = np.r_[partnered[:20], partnered[country[partnered] == country[a]][:5]]  # abroad and at home
    usual_a, usual_b = usual_pair_sizes(graph, country[a], country[candidates])
    for i, b in enumerate(candidates):
        assert usual_b[i] == pytest.approx(usual(country[b], country[a]))
        assert usual_a[i] == pytest.approx(usual(country[a], country[b]))


def test_a_nearby_partner_is_told_by_name():
    a = {"name": "Coventry", "country": "GB", "population": 360_000}
    b = {"name": "Kiel", "country": "DE", "population": 250_000}
    contributions = np.zeros(len(FEATURES))
    contributions[FEATURES.index("partner_distance_b")] = 1.0
    context = {"country_names": {}, "b_partner_near_a": ("Warwick", 14.2), "a_partner_near_b": ("Lübeck", 70.0)}
    told = explain.reasons(a, b, np.zeros(len(FEATURES)), contributions, context)
    assert told[0] == "already twinned with Warwick, 14 km from Coventry"
    context["b_partner_near_a"] = ("Perth", 15_000.0)
    told = explain.reasons(a, b, np.zeros(len(FEATURES)), contributions, context)
    assert told[0] == "70 km from Coventry's partner Lübeck"


def test_partners_in_the_other_country_and_activity_are_told():
    """A city seeking its first partner has none in the candidate's country: the candidate's partners in its own
    country are told instead, and a candidate's many partners are a reason of their own."""
    a = {"name": "Keluang", "country": "MY", "population": 40_000}
    b = {"name": "Shanghai", "country": "CN", "population": 24_900_000}
    context = {"country_names": {"MY": "Malaysia", "CN": "China"}}
    features, contributions = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    features[FEATURES.index("partners_in_country_b")] = np.log1p(3)
    features[FEATURES.index("degree_b")] = np.log1p(45)
    contributions[FEATURES.index("partners_in_country_b")] = 2.0
    contributions[FEATURES.index("degree_b")] = 1.0
    told = explain.reasons(a, b, features, contributions, context)
    assert told[:2] == ["Shanghai already has 3 partners in Malaysia",
                        "Shanghai is active in twinning (45 partner cities)"]
    features[FEATURES.index("partners_in_country_a")] = np.log1p(1)
    assert explain.reasons(a, b, features, contributions, context)[0] == "Keluang already has 1 partner in China"
    features[FEATURES.index("degree_b")] = np.log1p(4)  # four partners: common, not told
    assert not any("active" in reason for reason in explain.reasons(a, b, features, contributions, context))


def test_a_shared_income_group_is_told_across_a_border_only():
    """The development concept is told where it is news: two countries in one World Bank income group."""
    a = {"name": "Nagaoka", "country": "JP", "population": 260_000}
    b = {"name": "Fort Worth", "country": "US", "population": 920_000}
    context = {"country_names": {"JP": "Japan", "US": "United States"}}
    features, contributions = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    features[FEATURES.index("income_a")] = features[FEATURES.index("income_b")] = 3
    contributions[FEATURES.index("income_b")] = 1.0
    told = explain.reasons(a, b, features, contributions, context)
    assert told[0] == "Japan and the United States are both high-income economies"
    features[FEATURES.index("income_a")] = 2  # different groups: nothing to tell
    assert not any("economies" in reason for reason in explain.reasons(a, b, features, contributions, context))
    features[FEATURES.index("income_a")] = np.nan  # group unknown
    assert not any("economies" in reason for reason in explain.reasons(a, b, features, contributions, context))
    features[FEATURES.index("income_a")] = 3
    same_country = {**b, "country": "JP"}
    assert not any("economies" in reason
                   for reason in explain.reasons(a, same_country, features, contributions, context))


@pytest.mark.parametrize("population, told", [(600_000, "similar size: 345k and 600k"),
                                               (1_000_000, "sizes: 345k and 1.0M")])
def test_similar_size_means_within_a_factor_of_two(population, told):
    """Sizes that pushed a suggestion up are told as similar within a factor of two; further apart, only as the
    concrete fact that every suggestion carries when little else can be told."""
    a = {"name": "Coventry", "country": "GB", "population": 345_000}
    b = {"name": "Köln", "country": "DE", "population": population}
    features, contributions = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    features[FEATURES.index("pop_ratio")] = abs(np.log10(a["population"]) - np.log10(population))
    contributions[FEATURES.index("pop_ratio")] = 1.0
    assert explain.reasons(a, b, features, contributions, {"country_names": {}})[0] == told


@pytest.mark.parametrize("name, told", [
    ("United States", "the United States"), ("The Netherlands", "the Netherlands"), ("Philippines", "the Philippines"),
    ("Dominican Republic", "the Dominican Republic"), ("Faroe Islands", "the Faroe Islands"),
    ("Japan", "Japan"), ("Czechia", "Czechia"), ("Isle of Man", "Isle of Man"), ("Saint Lucia", "Saint Lucia"),
])
def test_a_country_reads_with_its_article_in_a_sentence(name, told):
    assert explain.country_in_sentence(name) == told


def test_a_partner_chain_is_told_by_name(engine):
    """The chain named for a candidate is a real one: A's partner X is twinned with Y, one of B's partners. It is
    told where the two share no partner."""
    recommender, table, graph = engine.recommender, engine.table, engine.graph
    a = table.position[COVENTRY]
    query = table.query(a, graph)
    partners_of_partners = np.concatenate([graph.neighbours(x) for x in query.partners])
    candidates = np.setdiff1d(np.flatnonzero(graph.degree), np.r_[query.partners, a, partners_of_partners])
    chains = partner_chains(query, candidates, graph, np.zeros(len(candidates)))
    b = candidates[np.argmax(chains)]
    context = recommender._contexts(query, np.array([b]))[0]
    x_name, y_name = context["partner_chain"]
    names = table.cities["name"].to_numpy()
    weight = graph.inverse_degree
    strongest = max(weight[x] * weight[y] for x in query.partners for y in graph.neighbours(x)
                    if b in graph.neighbours(y))
    assert any(names[x] == x_name and names[y] == y_name and b in graph.neighbours(y)
               and weight[x] * weight[y] == strongest for x in query.partners for y in graph.neighbours(x))
    # Named for several candidates at once, each gets the chain it gets alone.
    several = candidates[np.argsort(-chains)[:8]]
    assert ([c["partner_chain"] for c in recommender._contexts(query, several)]
            == [recommender._contexts(query, np.array([c]))[0]["partner_chain"] for c in several])
    contributions = np.zeros(len(FEATURES))
    contributions[FEATURES.index("partner_chains")] = 1.0
    told = explain.reasons(recommender.city_record_at(a), recommender.city_record_at(b), np.zeros(len(FEATURES)),
                           contributions, context)
    assert told[0] == f"Coventry's partner {x_name} is twinned with {y_name}, a partner of {names[b]}"


def test_scores_are_two_sided(engine):
    table, graph, ranker = engine.table, engine.graph, engine.ranker
    a, b = table.position[COVENTRY], table.position[CHICAGO]
    forward = pair_features(table.query(a, graph), table.side, np.array([b]), graph, table.countries)
    backward = pair_features(table.query(b, graph), table.side, np.array([a]), graph, table.countries)
    np.testing.assert_allclose(swap_sides(forward), backward, rtol=1e-5, equal_nan=True)
    assert ranker.score(forward)[0] == pytest.approx(ranker.score(backward)[0], rel=1e-5)


def test_known_partners_are_never_suggested(engine):
    known = set(engine.recommender.known_partners(COVENTRY))
    assert DRESDEN in known
    suggested = {s.geonameid for s in engine.recommender.for_city(COVENTRY, 50)}
    assert not suggested & known and COVENTRY not in suggested


@pytest.mark.parametrize("filters, check", [
    (Filters(countries=["FR", "IT"]), lambda c: c["country"] in {"FR", "IT"}),
    (Filters(exclude_countries=["DE", "FR"]), lambda c: c["country"] not in {"DE", "FR"}),
    (Filters(continents=["AS"]), lambda c: c["continent"] == "AS"),
    (Filters(min_population=200_000, max_population=900_000), lambda c: 200_000 <= c["population"] <= 900_000),
])
def test_filters_apply_inside_ranking(engine, filters, check):
    results = engine.recommender.for_city(PORTLAND, 20, filters)
    assert len(results) == 20
    assert all(check(engine.table.cities.loc[s.geonameid]) for s in results)


def test_required_industries_themes_and_languages(engine):
    results = engine.recommender.for_city(PORTLAND, 10, Filters(industries=["port_logistics"], themes=["port_city"],
                                                                 languages=["pt"]))
    assert results
    for s in results:
        profile = engine.table.profiles[s.geonameid]
        assert "port_logistics" in profile["industries"] and "port_city" in profile["themes"]
        country = engine.table.countries.position[engine.table.cities.loc[s.geonameid, "country"]]
        pt = engine.table.countries.languages.index("pt")
        assert engine.table.countries.language_share[country, pt] >= 0.05


def test_diversity_limits_one_country(engine):
    plain = engine.recommender.for_city(CHICAGO, 10)
    diverse = engine.recommender.for_city(CHICAGO, 10, Filters(diversity=1.0))
    countries = [engine.table.cities.loc[s.geonameid, "country"] for s in diverse]
    assert len(countries) == len(set(countries)) == 10
    assert [s.score for s in diverse] != [s.score for s in plain] or len(
        {engine.table.cities.loc[s.geonameid, "country"] for s in plain}) == 10


def test_intent_moves_the_slate(engine):
    plain = [s.geonameid for s in engine.recommender.for_city(CHICAGO, 10)]
    intent = engine.recommender.for_city(CHICAGO, 10, Filters(
        intent="port city with maritime logistics and a Portuguese-speaking community"))
    assert [s.geonameid for s in intent] != plain
    ports = sum(engine.table.cities.loc[s.geonameid, "harbour_size"] > 0 or
                "port_city" in engine.table.profiles.get(s.geonameid, {}).get("themes", []) for s in intent)
    assert ports >= 5


def test_explanations_are_plain_language_with_numbers(engine):
    for suggestion in engine.recommender.for_city(CHICAGO, 10):
        assert 2 <= len(suggestion.reasons) <= 4
        assert all(isinstance(r, str) and len(r) > 8 for r in suggestion.reasons)
        assert set(suggestion.contributions) == set(FEATURES)
        total = sum(suggestion.contributions.values())
        assert np.isfinite(total)


def test_batch_contract(curated_build, tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(curated_build.path.parent.parent))
    batch = tmp_path / "ids.txt"
    batch.write_text(f"{PORTLAND}\n999999999\n\n{COVENTRY}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["recommend", "--batch", str(batch), "--k", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == [PORTLAND, 999999999, COVENTRY]
    assert "error" in lines[1] and "results" not in lines[1]
    for line in (lines[0], lines[2]):
        assert isinstance(line["known_partners"], list) and len(line["results"]) == 5
        for item in line["results"]:
            assert set(item) == {"geonameid", "name", "country", "continent", "population", "score", "reasons"}
            assert isinstance(item["geonameid"], int) and isinstance(item["population"], int)
            assert isinstance(item["score"], float) and item["reasons"]


def test_batch_in_parallel_answers_as_one_process(curated_build, tmp_path, monkeypatch):
    """Forked workers share the engine: the same lines, in the file's order, as one process gives."""
    monkeypatch.setenv("MATCHER_HOME", str(curated_build.path.parent.parent))
    batch = tmp_path / "ids.txt"
    batch.write_text("\n".join(map(str, [PORTLAND, COVENTRY, 999999999, CHICAGO, DRESDEN, "x", COVENTRY, CHICAGO])))
    outputs = {}
    for jobs in ("1", "2"):
        result = CliRunner().invoke(app, ["recommend", "--batch", str(batch), "--k", "4", "--jobs", jobs],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs[jobs] = result.stdout.splitlines()
    assert len(outputs["1"]) == 8 and outputs["2"] == outputs["1"]
    assert [json.loads(line)["query"] for line in outputs["2"]][:3] == [PORTLAND, COVENTRY, 999999999]


def test_contributions_add_up_to_the_score(engine):
    """Tree attributions and the linear model's terms together: float32 terms, so to 1e-4."""
    table, graph, ranker = engine.table, engine.graph, engine.ranker
    a = table.position[CHICAGO]
    candidates = np.flatnonzero(table.side.profile)[:40]
    features = pair_features(table.query(a, graph), table.side, candidates, graph, table.countries)
    bias = ranker.trees_.bias
    np.testing.assert_allclose(ranker.contributions(features).sum(axis=1) + bias, ranker.score(features), atol=1e-4)


def _described(**changes):
    from matcher.recommend import CityProfile

    fields = dict(name="Porto Novo Test", country="PT", latitude=41.2, longitude=-8.6, population=120_000,
                  industries=["port_logistics", "tourism"], themes=["port_city"], diaspora=["BR", "FR"],
                  description="A harbour town north of Porto with fishing, shipyards and a wine trade.",
                  partners=[])
    return CityProfile(**{**fields, **changes})


def test_a_described_city_gets_suggestions_with_reasons(engine):
    results = engine.recommender.for_profile(_described(), 10)
    assert len(results) == 10
    assert all(2 <= len(s.reasons) <= 4 for s in results)
    with_partner = engine.recommender.for_profile(_described(partners=[COVENTRY]), 10, Filters(countries=["GB"]))
    assert COVENTRY not in {s.geonameid for s in with_partner}


def test_a_described_city_matches_its_catalogue_twin(engine):
    """Described with a catalogue city's own facts, the city gets much the same suggestions."""
    from matcher.recommend import CityProfile

    profile = engine.table.profiles[COVENTRY]
    row = engine.table.cities.loc[COVENTRY]
    described = CityProfile(name=profile["name"], country="GB", latitude=row["latitude"], longitude=row["longitude"],
                            population=int(row["population"]), industries=profile["industries"],
                            themes=profile["themes"], diaspora=[d["country"] for d in profile["diaspora"]],
                            description=profile["description"], partners=engine.recommender.known_partners(COVENTRY))
    own = {s.geonameid for s in engine.recommender.for_city(COVENTRY, 20)}
    twin = {s.geonameid for s in engine.recommender.for_profile(described, 20)}
    assert len(own & twin) >= 10


@pytest.mark.parametrize("changes, message", [
    ({"country": "XX"}, "unknown country"),
    ({"industries": ["space_elevators"]}, "unknown industries ['space_elevators']; valid:"),
    ({"diaspora": ["ZZ"]}, "unknown diaspora countries"),
    ({"partners": [999999999]}, "partners not in the catalogue"),
])
def test_a_described_city_with_unknown_values_is_refused(engine, changes, message):
    from matcher.errors import InputError

    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        engine.recommender.for_profile(_described(**changes), 5)


def test_compare_lays_out_the_facts(engine):
    rows = engine.recommender.compare(COVENTRY, [DRESDEN, CHICAGO])
    assert [r.geonameid for r in rows] == [DRESDEN, CHICAGO]
    dresden, chicago = (r.facts for r in rows)
    assert dresden["known_partner"] and not chicago["known_partner"]
    assert 900 < dresden["distance_km"] < 1300 and chicago["distance_km"] > 5000
    assert "English" in chicago["shared_languages"]
    assert chicago["born_in_city_country_living_in_candidate_country"] > 100_000
    assert all(r.reasons and set(r.contributions) == set(FEATURES) for r in rows)
    with pytest.raises(KeyError):
        engine.recommender.compare(COVENTRY, [999999999])


def test_the_prefilter_weighs_rows_without_partners_apart(engine):
    """Rows where A has no partner take a set of weights of their own, alone or mixed with rows that have them."""
    ranker, table = engine.ranker, engine.table
    assert ranker.prefilter_weights_.shape == (2, 2 * len(FEATURES))
    assert not np.allclose(*ranker.prefilter_weights_)
    query = engine.recommender.query_of(CHICAGO)
    rows = pair_features(query, table.side, np.arange(40), engine.graph, table.countries)
    rows[::2, FEATURES.index("degree_a")] = 0
    one_by_one = np.vstack([ranker.prefilter_terms(row[None]) for row in rows])
    np.testing.assert_allclose(ranker.prefilter_terms(rows), one_by_one, rtol=1e-6)
    z = np.clip(np.nan_to_num((rows[0] - ranker.center_) / ranker.scale_), -5, 5)
    linear, square = np.split(ranker.prefilter_weights_[0], 2)
    np.testing.assert_allclose(one_by_one[0], z * (linear + square * z), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("who", ["partnered", "profile-less", "described", "described without partners"])
def test_the_catalogue_scorer_equals_the_prefilter_on_features(engine, who):
    """The fast split-up prefilter gives the prefilter's own score on the full feature matrix, with either set of
    weights (A with partners, A without)."""
    table, recommender = engine.table, engine.recommender
    if who.startswith("described"):
        query = recommender.query_of_profile(_described(partners=[] if who.endswith("partners") else [COVENTRY]))
    else:
        gid = CHICAGO if who == "partnered" else int(table.ids[~table.side.profile][0])
        query = recommender.query_of(gid)
    positions = np.flatnonzero(recommender.candidate_mask(query, Filters()))
    similarity = table.sketch_similarity(query.side.embedding[0])
    full = pair_features(query, table.side, positions, engine.graph, table.countries, similarity=similarity[positions])
    np.testing.assert_allclose(recommender.catalogue_scorer.scores(query, similarity)[positions],
                               engine.ranker.prefilter_scores(full), atol=1e-4)


def test_a_cold_training_query_sees_no_edge_of_its_batch_and_no_candidate_hidden_with_it(engine):
    """A query made cold is described by a graph without the edges of its batch's cold queries, and only by those:
    a candidate hidden with it would look partner-less, unlike any city in service, so its rows leave it out."""
    table, graph, ranker = engine.table, engine.graph, engine.ranker
    a_all, b_all = _edges(graph)
    query = np.argmax(graph.degree)
    partners = graph.neighbours(query)
    others = np.setdiff1d(np.flatnonzero(graph.degree > 0), np.r_[partners, query])[:20]  # non-partners with partners
    cold_batch = np.r_[query, partners[0], others[0]]
    graphs = TrainingGraphs.hiding(table, graph, cold_batch)
    assert graphs.cold.degree[cold_batch].sum() == 0 and graphs.full is graph
    touched = np.isin(a_all, cold_batch) | np.isin(b_all, cold_batch)
    assert graphs.cold.adjacency.nnz == 2 * (~touched).sum()  # every other edge kept
    features, is_positive = ranker._rows_of(table, graphs, query, partners, others, is_cold=True)
    assert is_positive.sum() == len(partners) - 1  # the hidden partner is left out
    assert len(features) == len(partners) - 1 + len(others) - 1  # and so is the hidden non-partner
    assert (features[:, FEATURES.index("degree_a")] == 0).all()
    warm, warm_positive = ranker._rows_of(table, graphs, query, partners, others, is_cold=False)
    assert warm_positive.sum() == len(partners) and (warm[:, FEATURES.index("degree_a")] > 0).all()


def test_the_trees_learn_only_from_partners_the_prefilter_could_shortlist(engine):
    """A partner the prefilter ranks below `partner_reach` non-partners is never shortlisted in service: its row is
    left out of the trees' training rows, and every other partner's row is kept (a query made cold, whose partners
    the prefilter ranks among the non-partners)."""
    table, graph = engine.table, engine.graph
    query = np.argmax(graph.degree)
    partners = graph.neighbours(query)
    pool = np.flatnonzero(engine.recommender.pool)
    ranker = copy.copy(engine.ranker)
    graphs = TrainingGraphs.hiding(table, graph, np.array([query]))

    def positive_rows(reach):
        ranker.partner_reach = reach
        X, y, groups = ranker._shortlist_rows(table, graphs, pool, np.array([query]), np.array([True]),
                                              np.random.default_rng(0))
        assert groups.tolist() == [len(y)]
        return X[y == 1]

    everything = positive_rows(len(pool))
    assert len(everything) == len(partners)
    partner_scores = ranker.prefilter_scores(everything)
    candidates = np.setdiff1d(pool, np.r_[partners, query])
    scores = CatalogueScorer(table, graphs.cold, ranker).shortlist_scores(table.query(query, graphs.cold), candidates)
    reach = int((scores > np.median(partner_scores)).sum()) + 1  # about half the partners within reach
    kept = partner_scores >= np.sort(scores)[-reach]
    assert 0 < kept.sum() < len(partners)
    np.testing.assert_array_equal(positive_rows(reach), everything[kept])


def _blas_threads() -> set[int]:
    return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"}


def test_training_runs_blas_on_one_thread(engine, monkeypatch):
    """BLAS sums in one order whatever the machine's thread settings, so one build always trains one ranker: the
    prefilter's regressions are fitted on one BLAS thread even where the process runs BLAS on two."""
    seen = []
    fit = LogisticRegression.fit

    def spy(model, *args, **kwargs):
        seen.append(_blas_threads())
        return fit(model, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads() == {2}
        PartnerRanker(max_queries=40, tree_queries=20, cold_tree_queries=20, n_estimators=5, n_jobs=1).fit(
            engine.table, engine.graph, np.flatnonzero(engine.recommender.pool))
        assert _blas_threads() == {2}  # the process's setting is given back
    assert seen == [{1}, {1}]  # the two sets of prefilter weights
