"""Suggestions for a city: filter the catalogue, shortlist, score both sides, diversify, explain."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from babel import Locale

from matcher import explain
from matcher.features import FEATURES, Graph, Query, as_count, pair_features, row_entries
from matcher.geo import cosine_km, haversine_km, unit_vectors
from matcher.prefilter import CatalogueScorer
from matcher.rank import PartnerRanker, top_indices
from matcher.sources.profiles import vocabulary
from matcher.table import CityProfile, CityTable

__all__ = ["CityProfile", "Comparison", "Filters", "Recommender", "Suggestion"]

INTENT_WEIGHT = 1.0  # how much a free-text intent moves the score, in standard deviations of intent similarity


@dataclass
class Filters:
    countries: list[str] = field(default_factory=list)
    exclude_countries: list[str] = field(default_factory=list)
    continents: list[str] = field(default_factory=list)
    min_population: int | None = None
    max_population: int | None = None
    industries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    intent: str | None = None
    diversity: float = 0.0  # 0: no limit per country; 1: at most one suggestion per country


@dataclass
class Suggestion:
    geonameid: int
    score: float
    reasons: list[str]
    contributions: dict[str, float]


@dataclass
class Comparison(Suggestion):
    facts: dict = field(default_factory=dict)   # what a planner compares side by side, as plain values


@dataclass
class Ranking:
    """The candidates of one query: a shortlist scored by the model, the rest scored by the prefilter only."""
    shortlist: np.ndarray    # indices into the candidate positions, best first
    scores: np.ndarray       # model scores of the shortlist
    prefilter: np.ndarray    # prefilter score of every candidate
    features: np.ndarray     # A -> B features of the shortlist, in its order

    def order(self) -> np.ndarray:
        """Every candidate, best first: the shortlist, then the rest by prefilter score."""
        rest = np.setdiff1d(np.arange(len(self.prefilter)), self.shortlist)
        return np.r_[self.shortlist, rest[np.argsort(-self.prefilter[rest])]]


class Recommender:
    def __init__(self, table: CityTable, graph: Graph, ranker: PartnerRanker, embed_text=None,
                 min_language_share: float = 0.05):
        self.table, self.graph, self.ranker = table, graph, ranker
        self.embed_text = embed_text  # str -> unit vector, for intents and described cities
        self.pool = table.cities["in_default_pool"].to_numpy(bool)
        self.population = table.cities["population"].to_numpy()
        self.continent = table.cities["continent"].fillna("").to_numpy(str)
        # Plain lists for the records explanations read: a DataFrame row lookup costs a millisecond.
        self.names, self.country_of = table.cities["name"].tolist(), table.cities["country"].tolist()
        self.climates = [c if isinstance(c, str) else None for c in table.cities["climate"]]
        self.country_codes = np.array(table.countries.codes)
        self.min_language_share = min_language_share
        self.language_position = {lang: i for i, lang in enumerate(table.countries.languages)}
        english = Locale("en")
        self.language_names = [english.languages.get(lang, lang) for lang in table.countries.languages]
        self.catalogue_scorer = CatalogueScorer(table, graph, ranker)

    # -- entry points -------------------------------------------------------------------------------
    def for_city(self, geonameid: int, k: int = 10, filters: Filters | None = None) -> list[Suggestion]:
        return self.recommend(self.query_of(geonameid), k, filters or Filters())

    def for_profile(self, profile: CityProfile, k: int = 10, filters: Filters | None = None) -> list[Suggestion]:
        """Suggestions for a city described by the caller (InputError for what the catalogue does not know)."""
        return self.recommend(self.query_of_profile(profile), k, filters or Filters(), self.record_of(profile))

    def compare(self, geonameid: int, candidates: list[int]) -> list[Comparison]:
        """Chosen candidates side by side: score, reasons and the facts behind them (KeyError: unknown id)."""
        query = self.query_of(geonameid)
        positions = np.array([self.table.position[gid] for gid in candidates], dtype=int)
        if not len(positions):
            return []
        features = pair_features(query, self.table.side, positions, self.graph, self.table.countries)
        scores = self.ranker.score(features)
        contributions = self.ranker.contributions(features)
        a = self.city_record_at(query.position)
        partners = set(query.partners.tolist())
        out = []
        for i, (position, context) in enumerate(zip(positions, self._contexts(query, positions))):
            suggestion = self._suggestion(a, position, scores[i], features[i], contributions[i], context)
            facts = self.facts(query, a, position, features[i], position in partners, context)
            out.append(Comparison(**suggestion.__dict__, facts=facts))
        return out

    def known_partners(self, geonameid: int) -> list[int]:
        return sorted(int(self.table.ids[p]) for p in self.graph.neighbours(self.table.position[geonameid]))

    def query_of(self, geonameid: int) -> Query:
        return self.table.query(self.table.position[geonameid], self.graph)

    def query_of_profile(self, profile: CityProfile) -> Query:
        self.table.check_profile(profile)
        return self.table.profile_query(profile, self.graph, self.embed_text(profile.text()))

    # -- the pipeline -------------------------------------------------------------------------------
    def candidate_mask(self, query: Query, filters: Filters) -> np.ndarray:
        side = self.table.side
        mask = self.pool.copy()
        mask[query.partners] = False
        if query.position is not None:
            mask[query.position] = False
        country = self.country_codes[side.country]
        if filters.countries:
            mask &= np.isin(country, filters.countries)
        if filters.exclude_countries:
            mask &= ~np.isin(country, filters.exclude_countries)
        if filters.continents:
            mask &= np.isin(self.continent, filters.continents)
        if filters.min_population is not None:
            mask &= self.population >= filters.min_population
        if filters.max_population is not None:
            mask &= self.population <= filters.max_population
        for kind, wanted in (("industries", filters.industries), ("themes", filters.themes)):
            if wanted:
                vocab = sorted(vocabulary(kind))
                columns = [vocab.index(term) for term in wanted]
                mask &= getattr(side, kind)[:, columns].all(axis=1)
        if filters.languages:
            columns = [self.language_position[lang] for lang in filters.languages if lang in self.language_position]
            speaks = self.table.countries.language_share[:, columns] >= self.min_language_share
            mask &= speaks.any(axis=1)[side.country] if columns else False
        return mask

    def rank(self, query: Query, positions: np.ndarray, intent: np.ndarray | None = None) -> Ranking:
        """Shortlist the candidates cheaply, then score the shortlist with the two-sided model.

        The shortlist pass reads a low-dimensional sketch of the embeddings; the model sees exact features. An
        intent (unit vector) is blended into both passes.
        """
        table = self.table
        cheap = self.catalogue_scorer.shortlist_scores(query, positions)
        if intent is not None:
            wish = table.sketch_similarity(intent)[positions]
            cheap = _standardise(cheap) + INTENT_WEIGHT * _standardise(wish)
        shortlist = top_indices(cheap, self.ranker.shortlist)
        features = pair_features(query, table.side, positions[shortlist], self.graph, table.countries)
        scores = self.ranker.score(features)
        if intent is not None:
            exact = table.side.embedding[positions[shortlist]] @ intent
            scores = scores + INTENT_WEIGHT * scores.std() * _standardise(exact)
        best = np.argsort(-scores)
        return Ranking(shortlist[best], scores[best], cheap, features[best])

    def recommend(self, query: Query, k: int, filters: Filters, record: dict | None = None) -> list[Suggestion]:
        positions = np.flatnonzero(self.candidate_mask(query, filters))
        if not len(positions):
            return []
        ranking = self.rank(query, positions, self._intent_vector(filters.intent))
        shortlisted = positions[ranking.shortlist]
        chosen = _diversify(np.arange(len(shortlisted)), self.table.side.country[shortlisted], k, filters.diversity)
        rows = ranking.features[chosen]
        contributions = self.ranker.contributions(rows) if chosen else np.zeros((0, len(FEATURES)))
        a = record or self.city_record_at(query.position)
        contexts = self._contexts(query, shortlisted[chosen])
        return [self._suggestion(a, shortlisted[i], ranking.scores[i], rows[n], contributions[n], contexts[n])
                for n, i in enumerate(chosen)]

    # -- helpers ------------------------------------------------------------------------------------
    def _intent_vector(self, intent: str | None) -> np.ndarray | None:
        if not intent or not intent.strip() or self.embed_text is None:
            return None
        return self.embed_text(intent.strip()[:1000])

    def _contexts(self, query: Query, positions: np.ndarray) -> list[dict]:
        """What the reasons and facts of A and each candidate tell, beyond the features."""
        chains = self._chains(query, positions)
        return [self._context(query, position, chains.get(int(position))) for position in positions]

    def _context(self, query: Query, position: int, chain: tuple[str, str] | None) -> dict:
        ca, cb = query.side.country[0], self.table.side.country[position]
        countries = self.table.countries
        b_partners = self.graph.neighbours(position)
        a_point = self.graph.xyz[query.position] if query.position is not None else \
            unit_vectors(query.side.lat[0], query.side.lon[0])
        common = sorted(set(b_partners.tolist()).intersection(query.partners.tolist()))
        return {
            "country_names": countries.names,
            "born_b_in_a": float(countries.born_in_living_in[cb, ca]),
            "born_a_in_b": float(countries.born_in_living_in[ca, cb]),
            "common_partners": [self.names[p] for p in common],
            "common_partner_ids": [int(self.table.ids[p]) for p in common],
            "shared_languages": self.shared_languages(ca, cb),
            "b_partner_near_a": self._nearest(b_partners[b_partners != query.position], a_point),
            "a_partner_near_b": self._nearest(query.partners[query.partners != position], self.graph.xyz[position]),
            "partner_chain": None if common else chain,  # shared partners say more
        }

    def _chains(self, query: Query, positions: np.ndarray) -> dict[int, tuple[str, str]]:
        """(A's partner X, B's partner Y) of the strongest chain A - X - Y - B of each candidate B at `positions`
        that has one, weighted as `partner_chains` weighs them. All candidates in one pass: one pass per candidate
        took about 40 % of the contexts' time."""
        graph = self.graph
        if not len(query.partners) or not len(positions):
            return {}
        offsets, lengths = row_entries(graph.adjacency, positions)
        bs, ys = np.repeat(positions, lengths), graph.adjacency.indices[offsets]
        if query.position is not None:
            not_a = ys != query.position
            bs, ys = bs[not_a], ys[not_a]
        offsets, lengths = row_entries(graph.adjacency, ys)
        bs, ys, xs = np.repeat(bs, lengths), np.repeat(ys, lengths), graph.adjacency.indices[offsets]
        links = np.isin(xs, query.partners) & (xs != bs)
        bs, ys, xs = bs[links], ys[links], xs[links]
        if not len(bs):
            return {}
        strongest = np.lexsort((-(graph.inverse_degree[xs] * graph.inverse_degree[ys]), bs))  # stable: first wins
        first = strongest[np.r_[True, bs[strongest][1:] != bs[strongest][:-1]]]
        return {int(b): (self.names[x], self.names[y]) for b, x, y in zip(bs[first], xs[first], ys[first])}

    def _nearest(self, positions: np.ndarray, point: np.ndarray) -> tuple[str, float] | None:
        """(name, km) of the city among `positions` nearest to a point (a unit vector)."""
        if not len(positions):
            return None
        cosines = self.graph.xyz[positions] @ point
        nearest = int(np.argmax(cosines))
        return self.names[positions[nearest]], cosine_km(float(cosines[nearest]))

    def _suggestion(self, a: dict, position: int, score: float, features: np.ndarray, contributions: np.ndarray,
                    context: dict) -> Suggestion:
        b = self.city_record_at(position)
        return Suggestion(int(self.table.ids[position]), round(float(score), 4),
                          explain.reasons(a, b, features, contributions, context),
                          dict(zip(FEATURES, np.round(contributions.astype(float), 4).tolist())))

    def facts(self, query: Query, a: dict, position: int, features: np.ndarray, known: bool, context: dict) -> dict:
        """What a planner compares (`context`: the pair's, from `_contexts`, shared with the reasons)."""
        b = self.city_record_at(position)
        value = dict(zip(FEATURES, features.tolist()))
        side = self.table.side
        return {
            "population": b["population"] or None,
            "distance_km": round(float(haversine_km(query.side.lat[0], query.side.lon[0], side.lat[position],
                                                    side.lon[position])), 1),
            "same_country": a["country"] == b["country"],
            "shared_languages": context["shared_languages"],
            "shared_official_language": bool(value["shared_official"]),
            "born_in_candidate_country_living_in_city_country": int(context["born_b_in_a"]),
            "born_in_city_country_living_in_candidate_country": int(context["born_a_in_b"]),
            "shared_industries": sorted(set(a.get("industries", [])) & set(b.get("industries", []))),
            "shared_themes": sorted(set(a.get("themes", [])) & set(b.get("themes", []))),
            "text_similarity": round(value["embedding_similarity"], 3),
            "common_partners": context["common_partner_ids"],
            "city_partners_in_candidate_country": int(as_count(value["partners_in_country_a"])),
            "candidate_partners_in_city_country": int(as_count(value["partners_in_country_b"])),
            "candidate_partner_count": int(as_count(value["degree_b"])),
            "climate": b["climate"],
            "known_partner": known,
        }

    def city_record_at(self, position: int) -> dict:
        gid = int(self.table.ids[position])
        record = {"geonameid": gid, "name": self.names[position], "country": self.country_of[position],
                  "population": int(self.population[position]), "climate": self.climates[position]}
        return {**record, **{key: value for key, value in self.table.profiles.get(gid, {}).items()
                             if key in ("industries", "themes", "diaspora")}}

    def record_of(self, profile: CityProfile) -> dict:
        return {"geonameid": None, "name": profile.name, "country": profile.country,
                "population": profile.population, "climate": None, "industries": profile.industries,
                "themes": profile.themes, "diaspora": [{"country": c} for c in profile.diaspora]}

    def shared_languages(self, ca: int, cb: int) -> list[str]:
        shares = self.table.countries.language_share
        both = np.minimum(shares[ca], shares[cb])
        return [self.language_names[i] for i in np.argsort(-both)[:3] if both[i] >= 0.1]


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def _diversify(order: np.ndarray, country: np.ndarray, k: int, diversity: float) -> list[int]:
    """Top k, with at most ceil(k * (1 - diversity)) suggestions from any one country."""
    cap = max(1, math.ceil(k * (1 - diversity))) if diversity > 0 else k
    chosen, per_country = [], {}
    for i in order:
        c = country[i]
        if per_country.get(c, 0) < cap:
            chosen.append(int(i))
            per_country[c] = per_country.get(c, 0) + 1
            if len(chosen) == k:
                break
    return chosen
