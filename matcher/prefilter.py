"""The prefilter's score for every city of the catalogue, without building their feature matrix.

The prefilter is additive over features (a weight on each standardised feature and one on its square), so its score
splits into parts that cost far less than the matrix: features of the candidate alone are summed once per catalogue,
features of the two countries once per country, and only the truly pairwise ones per candidate. The result equals
`ranker.prefilter_scores(pair_features(...))` (tested); it is the largest saving in a request.
"""

from __future__ import annotations

import numpy as np

from matcher.features import FEATURES, Graph, Query, partner_distances, partner_size_gaps, shared_terms, spread
from matcher.geo import haversine_km
from matcher.rank import PartnerRanker
from matcher.table import CityTable

_COLUMN = {name: i for i, name in enumerate(FEATURES)}


class CatalogueScorer:
    def __init__(self, table: CityTable, graph: Graph, ranker: PartnerRanker):
        self.table, self.graph, self.ranker = table, graph, ranker
        self.linear, self.square = np.split(ranker.prefilter_weights_, 2)
        side = table.side
        self.candidate_part = sum(self.term(f"{name}_b", values) for name, values in self._own(side, graph).items())

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

    def scores(self, query: Query, positions: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        """Prefilter score of A -> each catalogue city at `positions` (none of them A's partners)."""
        a, side, graph = query.side, self.table.side, self.graph
        own_a = self._own(a, graph, 0, len(query.partners))
        constant = sum(float(self.term(f"{name}_a", value)) for name, value in own_a.items())
        by_country = self._country_part(query)
        ca, cb = int(a.country[0]), side.country[positions]
        climate_b, known_climate = side.climate[positions], a.climate[0] >= 0
        region_b = graph.region[positions]
        region_links = np.full(len(positions), np.nan)
        if query.region >= 0:
            row = graph.region_links[query.region].toarray().ravel()
            known = region_b >= 0
            region_links[known] = np.log1p(np.maximum(row[region_b[known]], 0))
        near_partner_of_a, near_partner_of_b = partner_distances(query, positions, graph)
        size_gap_a, size_gap_b = partner_size_gaps(query, positions, graph)
        pairwise = {
            "pop_ratio": np.abs(side.log_pop[positions] - a.log_pop[0]),
            "log_distance": np.log1p(haversine_km(a.lat[0], a.lon[0], side.lat[positions], side.lon[positions])),
            "same_continent": side.continent[positions] == a.continent[0],
            "same_subregion": side.subregion[positions] == a.subregion[0],
            "lat_gap": np.abs(side.lat[positions] - a.lat[0]),
            "same_climate": np.where(known_climate & (climate_b >= 0), climate_b == a.climate[0], np.nan),
            "same_climate_group": np.where(known_climate & (climate_b >= 0),
                                           side.climate_group[positions] == a.climate_group[0], np.nan),
            "both_ports": (a.harbour[0] > 0) & (side.harbour[positions] > 0),
            "income_gap": np.abs(side.income[positions] - a.income[0]),
            "embedding_similarity": similarity,
            "partners_in_country_b": np.log1p(graph.partners_in_country[positions, ca]),
            "lists_diaspora_b": np.where(side.profile[positions], side.diaspora[positions, ca], np.nan),
            "region_pair_links": region_links,
            "partner_distance_a": near_partner_of_a,
            "partner_distance_b": near_partner_of_b,
            "partner_size_gap_a": size_gap_a,
            "partner_size_gap_b": size_gap_b,
        }
        score = constant + self.candidate_part[positions] + by_country[cb]
        for name, values in pairwise.items():
            score += self.term(name, values)
        return score + self._network_part(query, positions) + self._curated_part(query, positions)

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
            "neighbours": countries.neighbours[ca],
            "language_overlap": countries.language_overlap[ca],
            "shared_official": countries.shared_official[ca],
            "country_pair_links": np.log1p(np.maximum(links, 0)),
            "country_pair_lift": np.log((np.maximum(links, 0) + 0.5) / (expected + 0.5)),
        }
        return sum(self.term(name, v) for name, v in values.items())

    def _network_part(self, query: Query, positions: np.ndarray) -> np.ndarray:
        """Common partners, Adamic-Adar and links between the neighbourhoods: zero for most candidates."""
        graph = self.graph
        common = spread(graph.adjacency, query.partners, np.ones(len(query.partners)))
        adamic = spread(graph.adjacency, query.partners, graph.weights[query.partners])
        linked = spread(graph.adjacency, query.vicinity, np.ones(len(query.vicinity)))
        touched = np.flatnonzero(linked)
        vicinity = np.log1p(np.maximum(spread(graph.vicinity, touched, linked[touched]), 0))
        out = np.zeros(len(positions))
        for name, values in (("common_partners", common), ("adamic_adar", adamic), ("vicinity_links", vicinity)):
            at = np.flatnonzero(values[positions])
            base = float(self.term(name, 0.0))
            out += base
            out[at] += self.term(name, values[positions[at]]) - base
        return out

    def _curated_part(self, query: Query, positions: np.ndarray) -> np.ndarray:
        """Shared industries and themes: known only where both cities have a curated profile."""
        a, side = query.side, self.table.side
        out = np.zeros(len(positions))
        if not a.profile[0]:
            return out
        rows = np.flatnonzero(side.profile[positions])
        for kind in ("industries", "themes"):
            shared, jaccard = shared_terms(getattr(a, kind)[0], getattr(side, kind)[positions[rows]])
            short = "industry" if kind == "industries" else "theme"
            out[rows] += self.term(f"shared_{kind}", shared) + self.term(f"{short}_jaccard", jaccard)
        return out
