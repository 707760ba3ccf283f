"""Pair features: everything known about a city A (the query) and a candidate B, as one numeric row.

Features come in three kinds: an attribute of A with its twin for B ("_a"/"_b", so that swapping the two columns
gives the features of B -> A), and symmetric ones. Graph features are computed from a partnership graph in which
the pair being scored is never counted: `is_edge` marks candidates that are A's partners in that graph, and their
own edge is subtracted from every count it would inflate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from matcher.geo import haversine_km
from matcher.sources.profiles import vocabulary

INCOME_LEVELS = {"Low income": 0, "Lower middle income": 1, "Upper middle income": 2, "High income": 3}
PAIRED = ["log_pop", "capital", "admin_seat", "harbour", "airport", "income", "growth", "degree",
          "born_there_here", "born_there_share", "lists_diaspora", "partners_in_country", "profile"]
SYMMETRIC = ["pop_ratio", "log_distance", "same_country", "same_continent", "same_subregion", "neighbours",
             "lat_gap", "same_climate", "same_climate_group", "both_ports", "language_overlap", "shared_official",
             "income_gap", "shared_industries", "industry_jaccard", "shared_themes", "theme_jaccard",
             "embedding_similarity", "common_partners", "adamic_adar", "country_pair_links", "country_pair_lift",
             "region_pair_links", "vicinity_links"]
VICINITY_KM = 40.0
FEATURES = [f"{name}_{side}" for name in PAIRED for side in ("a", "b")] + SYMMETRIC
SWAP = np.array([FEATURES.index(f"{name}_{'b' if side == 'a' else 'a'}") for name in PAIRED
                 for side in ("a", "b")] + [FEATURES.index(name) for name in SYMMETRIC])


def swap_sides(matrix: np.ndarray) -> np.ndarray:
    """The features of B -> A from those of A -> B."""
    return matrix[:, SWAP]


@dataclass
class Countries:
    codes: list[str]
    position: dict[str, int]
    language_share: np.ndarray      # country x language
    official: np.ndarray            # country x language, bool
    neighbours: np.ndarray          # country x country, bool
    born_in_living_in: np.ndarray   # origin x destination: people (latest year)
    population: np.ndarray
    languages: list[str]            # column labels of language_share (ISO 639 codes)
    names: dict[str, str]           # ISO2 -> English name

    @classmethod
    def from_tables(cls, countries: pd.DataFrame, migration: pd.DataFrame) -> "Countries":
        codes = sorted(countries.index)
        position = {code: i for i, code in enumerate(codes)}
        languages = sorted({lang for shares in countries["language_shares"] for lang in shares})
        lang_pos = {lang: i for i, lang in enumerate(languages)}
        share = np.zeros((len(codes), len(languages)), np.float32)
        official = np.zeros_like(share, dtype=bool)
        neighbours = np.zeros((len(codes), len(codes)), bool)
        for code, row in countries.iterrows():
            i = position[code]
            for lang, value in row["language_shares"].items():
                share[i, lang_pos[lang]] = min(value, 1.0)
            for lang in row["official_languages"]:
                if lang in lang_pos:
                    official[i, lang_pos[lang]] = True
            for other in row["neighbours"]:
                if other in position:
                    neighbours[i, position[other]] = True
        stock = np.zeros((len(codes), len(codes)), np.float64)
        if len(migration):
            latest = migration[migration["year"] == migration["year"].max()]
            known = latest["origin"].isin(position) & latest["destination"].isin(position)
            latest = latest[known]
            stock[latest["origin"].map(position), latest["destination"].map(position)] = latest["stock"]
        population = countries.reindex(codes)["country_population"].to_numpy(float)
        names = countries["country_name"].to_dict()
        return cls(codes, position, share, official, neighbours, stock, population, languages, names)


@dataclass
class CitySide:
    """Arrays describing a set of cities (the candidates, or a single query city)."""
    lat: np.ndarray
    lon: np.ndarray
    log_pop: np.ndarray
    country: np.ndarray        # index into Countries
    continent: np.ndarray      # small ints
    subregion: np.ndarray
    climate: np.ndarray        # ints, -1 unknown
    climate_group: np.ndarray
    capital: np.ndarray
    admin_seat: np.ndarray
    harbour: np.ndarray
    airport: np.ndarray
    income: np.ndarray         # float, NaN unknown
    growth: np.ndarray         # log ratio 2020/1990, NaN unknown
    profile: np.ndarray        # bool: a curated profile exists
    industries: np.ndarray     # bool matrix
    themes: np.ndarray
    diaspora: np.ndarray       # bool matrix over countries
    embedding: np.ndarray      # float32 unit vectors

    def take(self, rows) -> "CitySide":
        return CitySide(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})


@dataclass
class Graph:
    """Known partnerships among catalogue positions (training pairs only, when evaluating)."""
    adjacency: sparse.csr_matrix
    country: np.ndarray                     # country index of every catalogue position
    n_countries: int
    region: np.ndarray                      # admin-1 region index of every position, -1 unknown
    vicinity: sparse.csr_matrix             # cities within VICINITY_KM of each other (geography, not partnerships)
    lat: np.ndarray
    lon: np.ndarray
    degree: np.ndarray = field(init=False)
    weights: np.ndarray = field(init=False)           # Adamic-Adar weight of each city as a common partner
    partners_in_country: np.ndarray = field(init=False)
    country_links: np.ndarray = field(init=False)
    country_degree: np.ndarray = field(init=False)

    def __post_init__(self):
        self.degree = np.asarray(self.adjacency.sum(axis=1)).ravel()
        self.weights = np.where(self.degree > 1, 1 / np.log(np.maximum(self.degree, 2)), 0.0)
        onehot = sparse.csr_matrix((np.ones(len(self.country)), (np.arange(len(self.country)), self.country)),
                                   shape=(len(self.country), self.n_countries))
        self.partners_in_country = (self.adjacency @ onehot).toarray().astype(np.float32)
        self.country_links = (onehot.T @ self.adjacency @ onehot).toarray()
        self.country_degree = self.country_links.sum(axis=1)
        known = self.region >= 0
        regions = sparse.csr_matrix((np.ones(known.sum()), (np.flatnonzero(known), self.region[known])),
                                    shape=(len(self.region), int(self.region.max()) + 1))
        self.region_links = (regions.T @ self.adjacency @ regions).tocsr()

    @classmethod
    def from_pairs(cls, a: np.ndarray, b: np.ndarray, places: CitySide, n_countries: int, region: np.ndarray,
                   vicinity: sparse.csr_matrix) -> "Graph":
        n = len(places.country)
        data = np.ones(2 * len(a))
        adjacency = sparse.csr_matrix((data, (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        adjacency.data[:] = 1.0
        return cls(adjacency, places.country, n_countries, region, vicinity, places.lat, places.lon)

    def neighbours(self, position: int) -> np.ndarray:
        return row_indices(self.adjacency, position)


@dataclass
class Query:
    """City A: its attributes, and its known partners (positions in the catalogue)."""
    side: CitySide          # length 1
    partners: np.ndarray    # catalogue positions
    position: int | None    # in the catalogue, or None for a city described by the caller
    region: int             # admin-1 region index, -1 unknown
    vicinity: np.ndarray    # catalogue positions within VICINITY_KM


def row_indices(matrix: sparse.csr_matrix, row: int) -> np.ndarray:
    """Column positions of the non-zero entries of one row."""
    return matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]


def _log_km(km: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(km), np.log1p(km), np.nan)


def _nearest_partner(rows: sparse.csr_matrix, distance: np.ndarray) -> np.ndarray:
    """For each row (a city's partners), the distance from A to the closest of them; inf when none."""
    values = distance[rows.indices]
    out = np.full(rows.shape[0], np.inf)
    filled = np.diff(rows.indptr) > 0
    if values.size:
        out[filled] = np.minimum.reduceat(values, rows.indptr[:-1][filled])
    return out


def _jaccard(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shared = (b & a).sum(axis=1).astype(float)
    union = (b | a).sum(axis=1).astype(float)
    return shared, np.divide(shared, union, out=np.full_like(shared, np.nan), where=union > 0)


def pair_features(query: Query, candidates: CitySide, positions: np.ndarray, graph: Graph,
                  countries: Countries, is_edge: np.ndarray | None = None) -> np.ndarray:
    """Feature matrix (len(positions) x len(FEATURES)) for A -> each candidate.

    `candidates` holds the rows of the catalogue at `positions`; `is_edge` marks candidates that are A's
    partners in `graph`: their own edge is taken out of the counts (no leakage).
    """
    a, b = query.side, candidates
    n = len(positions)
    excluded = np.zeros(n) if is_edge is None else is_edge.astype(float)
    ca, cb = int(a.country[0]), b.country
    columns: dict[str, np.ndarray] = {}

    def pair(name, value_a, value_b):
        columns[f"{name}_a"] = np.broadcast_to(np.asarray(value_a, float), (n,))
        columns[f"{name}_b"] = np.asarray(value_b, float)

    # Graph: A's partners as an indicator vector over the catalogue.
    indicator = np.zeros(graph.adjacency.shape[0])
    indicator[query.partners] = 1.0
    degree_a = indicator.sum() - excluded
    degree_b = graph.degree[positions] - excluded
    common = graph.adjacency[positions] @ indicator
    adamic = graph.adjacency[positions] @ (indicator * graph.weights)
    partners_a_in_cb = np.bincount(graph.country[query.partners], minlength=countries.population.size)[cb] - excluded
    partners_b_in_ca = graph.partners_in_country[positions, ca] - excluded

    # Geography of the partnerships: B near A's partners, A near B's partners, links between the two regions
    # and between the two neighbourhoods.
    distance_to_a = haversine_km(a.lat[0], a.lon[0], graph.lat, graph.lon)
    if query.position is not None:
        distance_to_a[query.position] = np.inf
    near_a = _nearest_partner(graph.adjacency[positions], distance_to_a)
    if len(query.partners):
        spread = haversine_km(b.lat[:, None], b.lon[:, None], graph.lat[query.partners][None, :],
                              graph.lon[query.partners][None, :])
        spread[positions[:, None] == query.partners[None, :]] = np.inf  # B itself is not near B
        near_b = spread.min(axis=1)
    else:
        near_b = np.full(n, np.inf)
    region_links = np.full(n, np.nan)
    known = graph.region[positions] >= 0
    # A same-region or nearby pair's own edge is counted twice by these sums (once from each end).
    if query.region >= 0:
        row = graph.region_links[query.region].toarray().ravel()
        own = excluded * (1 + (graph.region[positions] == query.region))
        region_links[known] = np.log1p(np.maximum(row[graph.region[positions]] - own, 0))[known]
    around_a = np.zeros(graph.adjacency.shape[0])
    around_a[query.vicinity] = 1.0
    linked_from_around_a = graph.adjacency @ around_a          # partners each city has around A
    vicinity_links = graph.vicinity[positions] @ linked_from_around_a - excluded * (1 + around_a[positions])

    born_b_in_a = countries.born_in_living_in[cb, ca]
    born_a_in_b = countries.born_in_living_in[ca, cb]
    with np.errstate(divide="ignore", invalid="ignore"):
        share_b_in_a = born_b_in_a / countries.population[ca]
        share_a_in_b = born_a_in_b / countries.population[cb]
    same_country = cb == ca
    pair("log_pop", a.log_pop[0], b.log_pop)
    pair("capital", a.capital[0], b.capital)
    pair("admin_seat", a.admin_seat[0], b.admin_seat)
    pair("harbour", a.harbour[0], b.harbour)
    pair("airport", a.airport[0], b.airport)
    pair("income", a.income[0], b.income)
    pair("growth", a.growth[0], b.growth)
    pair("degree", np.log1p(degree_a), np.log1p(degree_b))
    pair("born_there_here", np.where(same_country, np.nan, np.log1p(born_b_in_a)),
         np.where(same_country, np.nan, np.log1p(born_a_in_b)))
    pair("born_there_share", np.where(same_country, np.nan, share_b_in_a),
         np.where(same_country, np.nan, share_a_in_b))
    pair("lists_diaspora", np.where(a.profile[0], a.diaspora[0][cb], np.nan),
         np.where(b.profile, b.diaspora[:, ca], np.nan))
    pair("partners_in_country", np.log1p(partners_a_in_cb), np.log1p(partners_b_in_ca))
    pair("profile", a.profile[0], b.profile)
    pair("partner_nearby", _log_km(near_b), _log_km(near_a))

    both_profiles = a.profile[0] & b.profile
    shared_ind, jac_ind = _jaccard(a.industries[0], b.industries)
    shared_th, jac_th = _jaccard(a.themes[0], b.themes)
    own = excluded * (1 + same_country)  # the pair's edge, counted once from each end
    links = graph.country_links[ca, cb] - own
    expected = ((graph.country_degree[ca] - own + 1) * (graph.country_degree[cb] - own + 1)
                / np.maximum(graph.country_degree.sum() - 2 * excluded, 1))
    share_a, share_b = countries.language_share[ca], countries.language_share[cb]
    columns.update({
        "pop_ratio": np.abs(b.log_pop - a.log_pop[0]),
        "log_distance": np.log1p(haversine_km(a.lat[0], a.lon[0], b.lat, b.lon)),
        "same_country": same_country,
        "same_continent": b.continent == a.continent[0],
        "same_subregion": b.subregion == a.subregion[0],
        "neighbours": countries.neighbours[ca, cb],
        "lat_gap": np.abs(b.lat - a.lat[0]),
        "same_climate": np.where((a.climate[0] >= 0) & (b.climate >= 0), b.climate == a.climate[0], np.nan),
        "same_climate_group": np.where((a.climate[0] >= 0) & (b.climate >= 0),
                                       b.climate_group == a.climate_group[0], np.nan),
        "both_ports": (a.harbour[0] > 0) & (b.harbour > 0),
        "language_overlap": np.minimum(share_a[None, :], share_b).sum(axis=1),
        "shared_official": (countries.official[ca][None, :] & countries.official[cb]).any(axis=1),
        "income_gap": np.abs(b.income - a.income[0]),
        "shared_industries": np.where(both_profiles, shared_ind, np.nan),
        "industry_jaccard": np.where(both_profiles, jac_ind, np.nan),
        "shared_themes": np.where(both_profiles, shared_th, np.nan),
        "theme_jaccard": np.where(both_profiles, jac_th, np.nan),
        "embedding_similarity": b.embedding @ a.embedding[0],
        "common_partners": common,
        "adamic_adar": adamic,
        "country_pair_links": np.log1p(np.maximum(links, 0)),
        "country_pair_lift": np.log((np.maximum(links, 0) + 0.5) / (expected + 0.5)),
        "region_pair_links": region_links,
        "vicinity_links": np.log1p(np.maximum(vicinity_links, 0)),
    })
    return np.column_stack([np.asarray(columns[name], dtype=np.float32) for name in FEATURES])
