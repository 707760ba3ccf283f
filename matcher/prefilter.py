"""The prefilter's score for every city of the catalogue, without building their feature matrix.

The prefilter is additive over features (a weight on each standardised feature and one on its square), so its score
splits into parts that cost far less than the matrix: features of the candidate alone are summed once per catalogue,
features of the two countries once per country, and only the truly pairwise ones per candidate. The result equals
`ranker.prefilter_scores(pair_features(...))` (tested); it is the largest saving in a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.features import (FEATURES, Graph, Query, cosines_from, partner_distances, partner_size_gaps,
                              shared_terms, spread)
from matcher.geo import log_cosine_km
from matcher.table import CityTable

if TYPE_CHECKING:  # the ranker uses this scorer to draw its training rows
    from matcher.rank import PartnerRanker

_COLUMN = {name: i for i, name in enumerate(FEATURES)}


class CatalogueScorer:
    def __init__(self, table: CityTable, graph: Graph, ranker: PartnerRanker):
        self.table, self.graph, self.ranker = table, graph, ranker
        self.linear, self.square = np.split(ranker.prefilter_weights_, 2)
        side = table.side
        self.candidate_part = sum(self.term(f"{name}_b", values) for name, values in self._own(side, graph).items())
        # What every query reads of the catalogue, computed once
        self.everyone = np.arange(len(side.log_pop))
        self.profiled = np.flatnonzero(side.profile)
        self.port = (side.harbour > 0).astype(np.intp)
        # Continent, subregion and income group are the country's: compared once per country, not per city.
        n_countries = len(table.countries.codes)
        self.country_of = {name: _per_group(getattr(side, name), side.country, n_countries, fill)
                           for name, fill in (("continent", -1), ("subregion", -1), ("income", np.nan))}
        # A climate zone belongs to one group: both climate features are a lookup by zone (-1, unknown, reads last).
        self.climate_group = _per_group(side.climate_group, side.climate, side.climate.max() + 1, -1)

    @staticmethod
    def _own(side, graph: Graph, rows=slice(None), degree=None) -> dict[str, np.ndarray]:
        """The features of one side that depend on that city alone."""
        return {"log_pop": side.log_pop[rows], "capital": side.capital[rows], "admin_seat": side.admin_seat[rows],
                "harbour": side.harbour[rows], "airport": side.airport[rows], "income": side.income[rows],
                "growth": side.growth[rows], "profile": side.profile[rows],
                "degree": np.log1p(graph.degree if degree is None else degree)}

    def term(self, name: str, values) -> np.ndarray:
        """One feature's share of the score, as `PartnerRanker.prefilter_scores` computes it."""
        i = _COLUMN[name]
        z = np.array(values, np.float32)  # a copy, worked on in place (0-d for a single value)
        z -= np.float32(self.ranker.center_[i])
        z *= np.float32(1 / self.ranker.scale_[i])
        np.clip(z, -5, 5, out=z)
        z[np.isnan(z)] = 0
        return z * (np.float32(self.linear[i]) + np.float32(self.square[i]) * z)

    def scores(self, query: Query, similarity: np.ndarray) -> np.ndarray:
        """Prefilter score of A -> every city of the catalogue (`similarity`: to A, for every city).

        Scores for A itself and A's partners are meaningless (their own edges are not discounted): callers drop
        them. Scoring the whole catalogue and then selecting is cheaper than gathering a dozen arrays for the
        candidates. Features with a few distinct values are looked up, not standardised city by city."""
        a, side, graph = query.side, self.table.side, self.graph
        own_a = self._own(a, graph, 0, len(query.partners))
        constant = sum(float(self.term(f"{name}_a", value)) for name, value in own_a.items())
        score = self.candidate_part + self._country_part(query)[side.country]
        score += constant
        score += self._lookups(query)
        everyone = self.everyone
        from_a = cosines_from(query, graph)
        near_partner_of_a, near_partner_of_b = partner_distances(query, everyone, graph, from_a)
        size_gap_a, size_gap_b = partner_size_gaps(query, everyone, graph)
        continuous = {
            "pop_ratio": np.abs(side.log_pop - a.log_pop[0]),
            "log_distance": log_cosine_km(from_a),
            "lat_gap": np.abs(side.lat - a.lat[0]),
            "embedding_similarity": similarity,
            "partner_distance_a": near_partner_of_a,
            "partner_distance_b": near_partner_of_b,
            "partner_size_gap_a": size_gap_a,
            "partner_size_gap_b": size_gap_b,
        }
        for name, values in continuous.items():
            score += self.term(name, values)
        score += self._sparse_part(query)
        return score + self._network_part(query) + self._curated_part(query)

    def shortlist_scores(self, query: Query, positions: np.ndarray) -> np.ndarray:
        """`scores` of A -> the cities at `positions`, with the text similarity read from the embedding sketch: what
        serving shortlists by, and what the trees' training shortlists are drawn from."""
        return self.scores(query, self.table.sketch_similarity(query.side.embedding[0]))[positions]

    def _lookups(self, query: Query) -> np.ndarray:
        """Climate and ports: a few values per candidate, looked up rather than standardised city by city."""
        a, side = query.side, self.table.side
        by_zone = np.zeros(len(self.climate_group) + 1, np.float32)  # the last entry: zone unknown (0, the mean)
        if a.climate[0] >= 0:
            by_zone[:-1] = (self.term("same_climate", np.arange(len(self.climate_group)) == a.climate[0])
                            + self.term("same_climate_group", self.climate_group == a.climate_group[0]))
        ports = self.term("both_ports", [False, a.harbour[0] > 0])
        return by_zone[side.climate] + ports[self.port]

    def _sparse_part(self, query: Query) -> np.ndarray:
        """Partners of B in A's country and links between the two regions: zero or unknown for most."""
        graph, ca = self.graph, int(query.side.country[0])
        in_country = graph.partners_in_country[:, ca]
        some = np.flatnonzero(in_country)
        base = float(self.term("partners_in_country_b", 0.0))
        out = np.full(len(in_country), base, np.float32)
        out[some] += self.term("partners_in_country_b", np.log1p(in_country[some])) - base
        if query.region >= 0:
            row = graph.region_links[query.region].toarray().ravel()
            by_region = self.term("region_pair_links", np.r_[np.log1p(np.maximum(row, 0)), np.nan])
            out += by_region[graph.region]  # region -1 (unknown) reads the last entry
        else:
            out += self.term("region_pair_links", np.nan)
        return out

    def _country_part(self, query: Query) -> np.ndarray:
        """Every feature that depends on the two countries alone, for each country B may be in."""
        countries, graph, a = self.table.countries, self.graph, query.side
        ca = int(a.country[0])
        same = np.arange(len(countries.codes)) == ca
        born_b_in_a, born_a_in_b = countries.born_in_living_in[:, ca], countries.born_in_living_in[ca, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            share_b_in_a, share_a_in_b = born_b_in_a / countries.population[ca], born_a_in_b / countries.population
        links = graph.country_links[ca]
        expected = (graph.country_degree[ca] + 1) * (graph.country_degree + 1) / max(graph.country_degree.sum(), 1)
        partners = np.bincount(graph.country[query.partners], minlength=len(countries.codes))
        values = {
            "born_there_here_a": np.where(same, np.nan, np.log1p(born_b_in_a)),
            "born_there_here_b": np.where(same, np.nan, np.log1p(born_a_in_b)),
            "born_there_share_a": np.where(same, np.nan, share_b_in_a),
            "born_there_share_b": np.where(same, np.nan, share_a_in_b),
            "lists_diaspora_a": a.diaspora[0] if a.profile[0] else np.full(len(same), np.nan),
            "partners_in_country_a": np.log1p(partners),
            "same_country": same,
            "same_continent": self.country_of["continent"] == a.continent[0],
            "same_subregion": self.country_of["subregion"] == a.subregion[0],
            "income_gap": np.abs(self.country_of["income"] - a.income[0]),
            "neighbours": countries.neighbours[ca],
            "language_overlap": countries.language_overlap[ca],
            "shared_official": countries.shared_official[ca],
            "country_pair_links": np.log1p(np.maximum(links, 0)),
            "country_pair_lift": np.log((np.maximum(links, 0) + 0.5) / (expected + 0.5)),
        }
        return sum(self.term(name, v) for name, v in values.items())

    def _network_part(self, query: Query) -> np.ndarray:
        """Common partners, Adamic-Adar and links between the neighbourhoods: zero for most candidates."""
        graph = self.graph
        common = spread(graph.adjacency, query.partners, np.ones(len(query.partners)))
        adamic = spread(graph.adjacency, query.partners, graph.weights[query.partners])
        linked = spread(graph.adjacency, query.vicinity, np.ones(len(query.vicinity)))
        touched = np.flatnonzero(linked)
        vicinity = np.log1p(np.maximum(spread(graph.vicinity, touched, linked[touched]), 0))
        out = np.zeros(len(common), np.float32)
        for name, values in (("common_partners", common), ("adamic_adar", adamic), ("vicinity_links", vicinity)):
            at = np.flatnonzero(values)
            base = float(self.term(name, 0.0))
            out += base
            out[at] += self.term(name, values[at]) - base
        return out

    def _curated_part(self, query: Query) -> np.ndarray:
        """B's diaspora naming A's country, known where B has a curated profile; shared industries and themes,
        known where both have one."""
        a, side = query.side, self.table.side
        rows = self.profiled
        out = np.zeros(len(side.profile), np.float32)
        out[rows] = self.term("lists_diaspora_b", side.diaspora[rows, a.country[0]])
        if not a.profile[0]:
            return out
        for kind in ("industries", "themes"):
            shared, jaccard = shared_terms(getattr(a, kind)[0], getattr(side, kind)[rows])
            short = "industry" if kind == "industries" else "theme"
            out[rows] += self.term(f"shared_{kind}", shared) + self.term(f"{short}_jaccard", jaccard)
        return out


def _per_group(values: np.ndarray, group: np.ndarray, n_groups: int, fill) -> np.ndarray:
    """The value each group's members share (e.g. a country's continent, from its cities); `fill` for empty groups."""
    out = np.full(n_groups, fill, dtype=np.result_type(values, np.asarray(fill)))
    out[group[group >= 0]] = values[group >= 0]
    return out
