"""The prefilter's score for every city of the catalogue, without building their feature matrix.

The prefilter is additive over features (a weight on each standardised feature and one on its square), so its score
splits into parts that cost far less than the matrix: features of the candidate alone are summed once per catalogue,
features of the two countries once per country, and only the truly pairwise ones per candidate, in compiled loops
(numba) where numpy would take many passes. The result equals `ranker.prefilter_scores(pair_features(...))`
(tested); it is the largest saving in a request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from matcher.features import COLUMN, Graph, Query, dense_row, shared_terms, usual_pair_sizes
from matcher.geo import log_cosine_km, unit_vectors
from matcher.table import CityTable

if TYPE_CHECKING:  # the ranker uses this scorer to draw its training rows
    from matcher.rank import PartnerRanker


class CatalogueScorer:
    def __init__(self, table: CityTable, graph: Graph, ranker: PartnerRanker):
        self.table, self.graph, self.ranker = table, graph, ranker
        # Per set of weights (`PartnerRanker.weight_set`) and feature: what `share` subtracts, multiplies by and weighs
        # the standardised value and its square with.
        self.coefficients = np.stack([np.c_[ranker.center_, 1 / ranker.scale_, *np.split(weights, 2)]
                                      for weights in ranker.prefilter_weights_]).astype(np.float32)
        side = table.side
        own_b = {f"{name}_b": values for name, values in self._own(side, graph).items()}
        self.candidate_part = [self.share(own_b, coefficients) for coefficients in self.coefficients]
        # What every query reads of the catalogue, computed once
        self.profiled = np.flatnonzero(side.profile)
        self.port = (side.harbour > 0).astype(np.intp)
        # For `_graph_values`: the cities with partners, and where and in which country each of their partners is
        partner_of = graph.adjacency.indices
        self.partner_arrays = (np.flatnonzero(graph.degree), np.ascontiguousarray(graph.xyz[partner_of]),
                               graph.country[partner_of])
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

    @staticmethod
    def share(values: dict[str, object], coefficients: np.ndarray) -> np.ndarray:
        """The named features' share of the score, as `PartnerRanker.prefilter_scores` computes it with
        `coefficients` (one weight set), summed over the features (values: arrays of one length, or single
        values)."""
        coefficients = coefficients[[COLUMN[name] for name in values]]
        z = np.array(np.broadcast_arrays(*map(np.atleast_1d, values.values())), np.float32)  # features x items
        z -= coefficients[:, 0, None]
        z *= coefficients[:, 1, None]
        np.clip(z, -5, 5, out=z)
        z[np.isnan(z)] = 0
        return (z * (coefficients[:, 2, None] + coefficients[:, 3, None] * z)).sum(axis=0)

    def scores(self, query: Query, similarity: np.ndarray) -> np.ndarray:
        """Prefilter score of A -> every city of the catalogue (`similarity`: to A, for every city).

        Scores for A itself and A's partners are meaningless (their own edges are not discounted): callers drop
        them. Features with a few distinct values are looked up per country, climate zone or region; those that read
        the partnership graph are gathered in one compiled pass (`_graph_values`), and each feature's share is added
        in another."""
        a, side, graph = query.side, self.table.side, self.graph
        weight_set = int(self.ranker.weight_set(len(query.partners)))
        c = self.coefficients[weight_set]
        own_a = self._own(a, graph, 0, len(query.partners))
        score = self.candidate_part[weight_set] + self.share({f"{name}_a": v for name, v in own_a.items()}, c)
        usual_a, usual_b = usual_pair_sizes(graph, int(a.country[0]), np.arange(len(self.table.countries.codes)))
        score += self._country_part(query, c, usual_a)[side.country]
        score += self._climate_part(query, c)[side.climate]
        score += self._port_part(query, c)[self.port]
        a_xyz = unit_vectors(a.lat[0], a.lon[0])
        position = -1 if query.position is None else int(query.position)
        from_graph = _graph_values(graph.xyz, graph.log_pop, graph.partner_log_pop, graph.degree, graph.weights,
                                   graph.inverse_degree, *self.partner_arrays, graph.adjacency.indptr,
                                   graph.adjacency.indices, graph.vicinity.indptr, graph.vicinity.indices, a_xyz,
                                   float(a.log_pop[0]), int(a.country[0]), position, query.partners.astype(np.intp),
                                   query.vicinity.astype(np.intp))
        pairwise = dict(zip(GRAPH_VALUES, from_graph))
        for name in ("partner_distance_a", "partner_distance_b"):  # from the nearest partner's cosine, as log-km
            pairwise[name] = log_cosine_km(pairwise[name])
        pairwise.update(pop_ratio=np.abs(side.log_pop - a.log_pop[0]), lat_gap=np.abs(side.lat - a.lat[0]),
                        log_distance=log_cosine_km(graph.xyz @ a_xyz), embedding_similarity=similarity,
                        region_pair_links=self._region_part(query)[graph.region])
        pairwise["country_pair_size_gap_b"] = np.abs(side.log_pop - usual_b[side.country])
        if not len(query.partners):  # unknown for every city: no share of the score
            del pairwise["partner_distance_a"], pairwise["partner_size_gap_a"]
        for name, values in pairwise.items():
            _add_term(score, values, *c[COLUMN[name]])
        return score + self._curated_part(query, c)

    def shortlist_scores(self, query: Query, positions: np.ndarray) -> np.ndarray:
        """`scores` of A -> the cities at `positions`, with the text similarity read from the embedding sketch: what
        serving shortlists by, and what the trees' training shortlists are drawn from."""
        return self.scores(query, self.table.sketch_similarity(query.side.embedding[0]))[positions]

    def _climate_part(self, query: Query, c: np.ndarray) -> np.ndarray:
        """Both climate features for a candidate in each climate zone (the last entry: zone unknown, 0)."""
        a = query.side
        by_zone = np.zeros(len(self.climate_group) + 1, np.float32)
        if a.climate[0] >= 0:
            by_zone[:-1] = self.share({"same_climate": np.arange(len(self.climate_group)) == a.climate[0],
                                       "same_climate_group": self.climate_group == a.climate_group[0]}, c)
        return by_zone

    def _port_part(self, query: Query, c: np.ndarray) -> np.ndarray:
        """`both_ports` for a candidate without and with a harbour."""
        return self.share({"both_ports": [False, query.side.harbour[0] > 0]}, c)

    def _region_part(self, query: Query) -> np.ndarray:
        """`region_pair_links` of A and a candidate in each admin-1 region (the last entry: region unknown)."""
        links = self.graph.region_links
        values = np.full(links.shape[0] + 1, np.nan)
        if query.region >= 0:
            values[:-1] = np.log1p(np.maximum(dense_row(links, query.region), 0))
        return values

    def _country_part(self, query: Query, c: np.ndarray, usual_a: np.ndarray) -> np.ndarray:
        """Every feature that depends on the two countries (and A) alone, for each country B may be in (`usual_a`:
        the usual size of A's country's cities in links with each country)."""
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
            "country_pair_size_gap_a": np.abs(a.log_pop[0] - usual_a),
        }
        return self.share(values, c)

    def _curated_part(self, query: Query, c: np.ndarray) -> np.ndarray:
        """B's diaspora naming A's country, known where B has a curated profile; shared industries and themes,
        known where both have one."""
        a, side = query.side, self.table.side
        rows = self.profiled
        out = np.zeros(len(side.profile), np.float32)
        out[rows] = self.share({"lists_diaspora_b": side.diaspora[rows, a.country[0]]}, c)
        if not a.profile[0]:
            return out
        for kind in ("industries", "themes"):
            shared, jaccard = shared_terms(getattr(a, kind)[0], getattr(side, kind)[rows])
            short = "industry" if kind == "industries" else "theme"
            out[rows] += self.share({f"shared_{kind}": shared, f"{short}_jaccard": jaccard}, c)
        return out


def _per_group(values: np.ndarray, group: np.ndarray, n_groups: int, fill) -> np.ndarray:
    """The value each group's members share (e.g. a country's continent, from its cities); `fill` for empty groups."""
    out = np.full(n_groups, fill, dtype=np.result_type(values, np.asarray(fill)))
    out[group[group >= 0]] = values[group >= 0]
    return out


@numba.njit(cache=True, nogil=True, fastmath={"nsz", "arcp", "contract", "reassoc"})  # no "nnan": NaN is unknown
def _add_term(score, values, center, inv_scale, linear, square):
    """score += `CatalogueScorer.share` of each value, in one pass the compiler vectorises."""
    for i in range(len(score)):
        z = np.float32(values[i])
        z = np.float32(0) if z != z else min(max((z - center) * inv_scale, np.float32(-5)), np.float32(5))
        score[i] += z * (linear + square * z)


@numba.njit(cache=True, nogil=True)
def _graph_values(xyz, log_pop, partner_log_pop, degree, weights, inverse_degree, partnered, partner_xyz,
                  partner_country, adjacency_ptr, adjacency_idx, vicinity_ptr, vicinity_idx, a_xyz, a_log_pop,
                  a_country, a_position, partners, vicinity):
    """The features of A and every city B of the catalogue that read the partnership graph, as `pair_features`
    defines them (B is never counted among A's partners, nor A among B's): nearest partners as cosines, -inf
    for none. `partnered`: the cities with partners; `partner_xyz` and `partner_country`: of each adjacency entry, in
    its order, so that B's partners are read in one stream rather than gathered."""
    n = len(xyz)
    common, adamic, linked, around = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    reached, chains = np.zeros(n), np.zeros(n)
    for p in partners:  # partners of A's partners
        for j in range(adjacency_ptr[p], adjacency_ptr[p + 1]):
            common[adjacency_idx[j]] += 1.0
            adamic[adjacency_idx[j]] += weights[p]
            reached[adjacency_idx[j]] += inverse_degree[p]
    if a_position >= 0:
        reached[a_position] = 0.0
    for y in np.flatnonzero(reached):  # and their partners: chains of three partnerships
        for j in range(adjacency_ptr[y], adjacency_ptr[y + 1]):
            chains[adjacency_idx[j]] += reached[y] * inverse_degree[y]
    for v in vicinity:  # partners of the cities around A, and the cities around those
        for j in range(adjacency_ptr[v], adjacency_ptr[v + 1]):
            linked[adjacency_idx[j]] += 1.0
    for c in np.flatnonzero(linked):
        for j in range(vicinity_ptr[c], vicinity_ptr[c + 1]):
            around[vicinity_idx[j]] += linked[c]
    near_a, near_b = np.full(n, -np.inf), np.full(n, -np.inf)
    in_a_country, gap_a, gap_b = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    if len(partners):
        partner_mean = 0.0
        for p in partners:
            partner_mean += log_pop[p] / len(partners)
        for b in range(n):
            gap_a[b] = abs(log_pop[b] - partner_mean)
        for p in partners:  # A's partner nearest to B: a pass over the catalogue per partner, which vectorises
            x, y, z = xyz[p, 0], xyz[p, 1], xyz[p, 2]
            for b in range(n):
                near_a[b] = max(near_a[b], xyz[b, 0] * x + xyz[b, 1] * y + xyz[b, 2] * z)
        for p in partners:  # then for the partners themselves, without their own position
            near_a[p] = -np.inf
            for other in partners:
                if other != p:
                    near_a[p] = max(near_a[p], xyz[p, 0] * xyz[other, 0] + xyz[p, 1] * xyz[other, 1]
                                    + xyz[p, 2] * xyz[other, 2])
    for b in partnered:
        gap_b[b] = abs(a_log_pop - partner_log_pop[b] / degree[b])
        for j in range(adjacency_ptr[b], adjacency_ptr[b + 1]):  # B's partner nearest to A; those in A's country
            if adjacency_idx[j] != a_position:
                near_b[b] = max(near_b[b], partner_xyz[j, 0] * a_xyz[0] + partner_xyz[j, 1] * a_xyz[1]
                                + partner_xyz[j, 2] * a_xyz[2])
            if partner_country[j] == a_country:
                in_a_country[b] += 1.0
    for counts in (around, in_a_country, chains):
        for b in range(n):
            if counts[b]:
                counts[b] = math.log1p(counts[b])
    return common, adamic, chains, around, in_a_country, near_a, near_b, gap_a, gap_b


GRAPH_VALUES = ("common_partners", "adamic_adar", "partner_chains", "vicinity_links", "partners_in_country_b",
                "partner_distance_a", "partner_distance_b", "partner_size_gap_a",
                "partner_size_gap_b")  # what `_graph_values` returns
