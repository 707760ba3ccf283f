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

from matcher.geo import haversine_km, log_cosine_km, unit_vectors

INCOME_LEVELS = {"Low income": 0, "Lower middle income": 1, "Upper middle income": 2, "High income": 3}
PAIRED = ["log_pop", "capital", "admin_seat", "harbour", "airport", "income", "growth", "degree",
          "born_there_here", "born_there_share", "lists_diaspora", "partners_in_country", "partner_distance",
          "partner_size_gap", "country_pair_size_gap", "profile"]
SYMMETRIC = ["pop_ratio", "log_distance", "same_country", "same_continent", "same_subregion", "neighbours",
             "lat_gap", "same_climate", "same_climate_group", "both_ports", "language_overlap", "shared_official",
             "income_gap", "shared_industries", "industry_jaccard", "shared_themes", "theme_jaccard",
             "embedding_similarity", "common_partners", "adamic_adar", "partner_chains", "country_pair_links",
             "country_pair_lift", "region_pair_links", "vicinity_links"]
VICINITY_KM = 40.0
FEATURES = [f"{name}_{side}" for name in PAIRED for side in ("a", "b")] + SYMMETRIC
COLUMN = {name: i for i, name in enumerate(FEATURES)}  # each feature's column in a feature matrix
SWAP = np.array([FEATURES.index(f"{name}_{'b' if side == 'a' else 'a'}") for name in PAIRED
                 for side in ("a", "b")] + [FEATURES.index(name) for name in SYMMETRIC])


def as_count(value):
    """A count the features hold as log1p (partners, partners in a country), back as a whole number."""
    return np.rint(np.expm1(value))


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
    language_overlap: np.ndarray = field(init=False)  # country x country: sum of the smaller language shares
    shared_official: np.ndarray = field(init=False)   # country x country, bool

    def __post_init__(self):
        self.language_overlap = np.stack([np.minimum(row, self.language_share).sum(axis=1)
                                          for row in self.language_share])
        self.shared_official = (self.official.astype(np.float32) @ self.official.T.astype(np.float32)) > 0

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
    log_pop: np.ndarray
    degree: np.ndarray = field(init=False)
    weights: np.ndarray = field(init=False)           # Adamic-Adar weight of each city as a common partner
    inverse_degree: np.ndarray = field(init=False)    # a step's weight in a partner chain (0: no partners)
    partner_inverse_degree: np.ndarray = field(init=False)  # the sum of it over each city's partners
    country_links: np.ndarray = field(init=False)
    country_degree: np.ndarray = field(init=False)
    xyz: np.ndarray = field(init=False)               # unit vectors of every position, for nearest partners
    partner_log_pop: np.ndarray = field(init=False)   # sum of the log populations of each city's partners
    country_pair_log_pop: np.ndarray = field(init=False)  # [ca, cb]: summed log populations of ca - cb links' cb ends
    country_end_log_pop: np.ndarray = field(init=False)   # summed log populations of a country's link ends

    def __post_init__(self):
        self.xyz = unit_vectors(self.lat, self.lon)
        self.partner_log_pop = self.adjacency @ self.log_pop
        self.degree = np.asarray(self.adjacency.sum(axis=1)).ravel()
        self.weights = np.where(self.degree > 1, 1 / np.log(np.maximum(self.degree, 2)), 0.0)
        self.inverse_degree = np.where(self.degree > 0, 1 / np.maximum(self.degree, 1), 0.0)
        self.partner_inverse_degree = self.adjacency @ self.inverse_degree
        onehot = sparse.csr_matrix((np.ones(len(self.country)), (np.arange(len(self.country)), self.country)),
                                   shape=(len(self.country), self.n_countries))
        self.country_links = (onehot.T @ self.adjacency @ onehot).toarray()
        self.country_degree = self.country_links.sum(axis=1)
        self.country_pair_log_pop = (onehot.T @ self.adjacency @ onehot.multiply(self.log_pop[:, None])).toarray()
        self.country_end_log_pop = self.country_pair_log_pop.sum(axis=0)
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
        return cls(adjacency, places.country, n_countries, region, vicinity, places.lat, places.lon, places.log_pop)

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


def dense_row(matrix: sparse.csr_matrix, row: int) -> np.ndarray:
    """One row as a dense array, read straight from the CSR arrays (scipy's row indexing costs 50 us)."""
    out = np.zeros(matrix.shape[1])
    entries = slice(matrix.indptr[row], matrix.indptr[row + 1])
    out[matrix.indices[entries]] = matrix.data[entries]
    return out


def row_entries(matrix: sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets into the CSR arrays of the entries of `rows`, row after row, and each row's entry count: gathered
    straight from the CSR arrays (scipy's row indexing costs ten times more)."""
    if len(rows) == matrix.shape[0] and np.array_equal(rows, np.arange(len(rows))):  # all: the arrays as they are
        return np.arange(matrix.nnz), np.diff(matrix.indptr)
    starts, lengths = matrix.indptr[rows], matrix.indptr[rows + 1] - matrix.indptr[rows]
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum()), lengths


def spread(matrix: sparse.csr_matrix, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """matrix.T @ x for an x that is non-zero only on `rows`: cheap when they are few."""
    offsets, lengths = row_entries(matrix, rows)
    return np.bincount(matrix.indices[offsets], weights=np.repeat(weights, lengths), minlength=matrix.shape[1])


def partner_distances(query: Query, positions: np.ndarray, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + km) from each candidate B to A's nearest partner, and from A to B's nearest partner (NaN: none).

    B itself is never counted among A's partners, nor A among B's: the pair's own edge does not leak. Dot products
    of unit vectors make this a small matrix product.
    """
    partners = query.partners
    to_a_partner = np.full(len(positions), -np.inf)
    if len(partners):
        cosines = graph.xyz[positions] @ graph.xyz[partners].T
        is_partner = np.zeros(len(graph.degree), bool)
        is_partner[partners] = True
        own = np.flatnonzero(is_partner[positions])
        cosines[own] = np.where(positions[own, None] == partners, -np.inf, cosines[own])
        to_a_partner = cosines.max(axis=1)
    # B's partners, row after row; their cosines to A, A itself left out; the largest of each row.
    offsets, lengths = row_entries(graph.adjacency, positions)
    partners_of_b = graph.adjacency.indices[offsets]
    cosines = graph.xyz[partners_of_b] @ unit_vectors(query.side.lat[0], query.side.lon[0])
    if query.position is not None:
        cosines[partners_of_b == query.position] = -np.inf
    nearest = np.full(len(positions), -np.inf)
    has_partners = lengths > 0  # rows without partners have empty segments: reducing at the others' starts is exact
    if has_partners.any():
        nearest[has_partners] = np.maximum.reduceat(cosines, (np.cumsum(lengths) - lengths)[has_partners])
    return log_cosine_km(to_a_partner), log_cosine_km(nearest)


def partners_in_country(graph: Graph, positions: np.ndarray, country: int) -> np.ndarray:
    """How many partners each city at `positions` has in `country`, read from its row of the graph."""
    offsets, lengths = row_entries(graph.adjacency, positions)
    in_country = graph.country[graph.adjacency.indices[offsets]] == country
    return np.bincount(np.repeat(np.arange(len(positions)), lengths), weights=in_country, minlength=len(positions))


def partner_chains(query: Query, positions: np.ndarray, graph: Graph, excluded: np.ndarray) -> np.ndarray:
    """Chains of three partnerships from A to each candidate B (A's partner X is twinned with Y, one of B's), the
    steps from X and from Y each weighted by one over that city's number of partners: what the network says beyond
    common partners.

    No chain uses the pair's own edge: the first step never goes to B, nor the last from A. `excluded` marks the
    candidates that are A's partners, whose chains through themselves are subtracted."""
    inverse = graph.inverse_degree
    reached = spread(graph.adjacency, query.partners, inverse[query.partners])  # Y, two steps from A
    if query.position is not None:
        reached[query.position] = 0.0
    ys = np.flatnonzero(reached)
    chains = spread(graph.adjacency, ys, reached[ys] * inverse[ys])[positions]
    through_b = inverse[positions] * (graph.partner_inverse_degree[positions] - 1 / max(len(query.partners), 1))
    chains = chains - excluded * through_b
    return np.where(chains > 1e-12, chains, 0.0)  # what is left of a chain through B is rounding


def partner_size_gaps(query: Query, positions: np.ndarray, graph: Graph, excluded: np.ndarray | float = 0.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """How far B's size is from the mean size of A's partners, and A's from that of B's (log10 units; NaN: no
    partners). Twinning tends to pair towns with towns and metropolises with metropolises. `excluded` marks
    candidates that are A's partners: the pair is taken out of both means."""
    log_pop_a, log_pop_b = query.side.log_pop[0], graph.log_pop[positions]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_a = (graph.log_pop[query.partners].sum() - excluded * log_pop_b) / (len(query.partners) - excluded)
        mean_b = (graph.partner_log_pop[positions] - excluded * log_pop_a) / (graph.degree[positions] - excluded)
    return np.abs(log_pop_b - mean_a), np.abs(log_pop_a - mean_b)


PAIR_SIZE_PRIOR = 3.0  # links' worth of the country's own mean size in a country pair's mean


def usual_pair_sizes(graph: Graph, ca: int, cb: np.ndarray, log_pop_a: float = 0.0, log_pop_b: np.ndarray | float = 0.0,
                     excluded: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The usual size of A's country's cities in its links with B's country, and of B's country's cities in the
    same links (mean log10 population, smoothed towards each country's mean over all its links; NaN: a country
    without links). Where `excluded`, the pair's own edge is taken out, which needs the sizes of its two ends."""
    same = cb == ca
    # The edge's ends in each country: their summed log sizes, and their number
    own_a, own_b = log_pop_a + same * log_pop_b, log_pop_b + same * log_pop_a
    lost = excluded * (1 + same)
    links = graph.country_links[ca, cb] - lost
    ends_b = graph.country_pair_log_pop[ca, cb] - excluded * own_b
    ends_a = graph.country_pair_log_pop[cb, ca] - excluded * own_a
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_a = (graph.country_end_log_pop[ca] - excluded * own_a) / (graph.country_degree[ca] - lost)
        prior_b = (graph.country_end_log_pop[cb] - excluded * own_b) / (graph.country_degree[cb] - lost)
        return ((ends_a + PAIR_SIZE_PRIOR * prior_a) / (links + PAIR_SIZE_PRIOR),
                (ends_b + PAIR_SIZE_PRIOR * prior_b) / (links + PAIR_SIZE_PRIOR))


def pair_features(query: Query, side: CitySide, positions: np.ndarray, graph: Graph, countries: Countries,
                  is_edge: np.ndarray | None = None, similarity: np.ndarray | None = None) -> np.ndarray:
    """Feature matrix (len(positions) x len(FEATURES)) for A -> each catalogue city at `positions`.

    `side` describes the whole catalogue; `is_edge` marks candidates that are A's partners in `graph`: their own
    edge is taken out of the counts (no leakage). `similarity` may supply the embedding similarity (an
    approximation, when shortlisting the whole catalogue); by default it is computed exactly.
    """
    a = query.side
    n = len(positions)
    excluded = np.zeros(n) if is_edge is None else is_edge.astype(float)
    ca, cb = int(a.country[0]), side.country[positions]
    columns: dict[str, np.ndarray] = {}

    def pair(name, value_a, value_b):
        columns[f"{name}_a"] = np.broadcast_to(np.asarray(value_a, float), (n,))
        columns[f"{name}_b"] = np.asarray(value_b, float)

    def of_b(name: str) -> np.ndarray:
        return getattr(side, name)[positions]

    # Graph: A's partners as weights over the catalogue, spread to the cities they are partnered with.
    partners = query.partners
    degree_a = len(partners) - excluded
    degree_b = graph.degree[positions] - excluded
    common = spread(graph.adjacency, partners, np.ones(len(partners)))[positions]
    adamic = spread(graph.adjacency, partners, graph.weights[partners])[positions]
    chains = partner_chains(query, positions, graph, excluded)
    partners_a_in_cb = np.bincount(graph.country[partners], minlength=countries.population.size)[cb] - excluded
    partners_b_in_ca = partners_in_country(graph, positions, ca) - excluded
    near_partner_of_a, near_partner_of_b = partner_distances(query, positions, graph)
    size_gap_a, size_gap_b = partner_size_gaps(query, positions, graph, excluded)

    # Links between the two admin-1 regions and between the two neighbourhoods. A same-region or nearby pair's
    # own edge is counted twice by these sums (once from each end).
    region_links = np.full(n, np.nan)
    region_b = graph.region[positions]
    known = region_b >= 0
    if query.region >= 0:
        row = dense_row(graph.region_links, query.region)
        own = excluded * (1 + (region_b == query.region))
        region_links[known] = np.log1p(np.maximum(row[region_b] - own, 0))[known]
    linked = spread(graph.adjacency, query.vicinity, np.ones(len(query.vicinity)))  # partners around A, per city
    touched = np.flatnonzero(linked)
    around_a = np.zeros(graph.adjacency.shape[0], bool)
    around_a[query.vicinity] = True
    vicinity_links = (spread(graph.vicinity, touched, linked[touched])[positions]
                      - excluded * (1 + around_a[positions]))

    born_b_in_a = countries.born_in_living_in[cb, ca]
    born_a_in_b = countries.born_in_living_in[ca, cb]
    with np.errstate(divide="ignore", invalid="ignore"):
        share_b_in_a = born_b_in_a / countries.population[ca]
        share_a_in_b = born_a_in_b / countries.population[cb]
    same_country = cb == ca
    profile_b = of_b("profile")
    pair("log_pop", a.log_pop[0], of_b("log_pop"))
    pair("capital", a.capital[0], of_b("capital"))
    pair("admin_seat", a.admin_seat[0], of_b("admin_seat"))
    pair("harbour", a.harbour[0], of_b("harbour"))
    pair("airport", a.airport[0], of_b("airport"))
    pair("income", a.income[0], of_b("income"))
    pair("growth", a.growth[0], of_b("growth"))
    pair("degree", np.log1p(degree_a), np.log1p(degree_b))
    pair("born_there_here", np.where(same_country, np.nan, np.log1p(born_b_in_a)),
         np.where(same_country, np.nan, np.log1p(born_a_in_b)))
    pair("born_there_share", np.where(same_country, np.nan, share_b_in_a),
         np.where(same_country, np.nan, share_a_in_b))
    pair("lists_diaspora", np.where(a.profile[0], a.diaspora[0][cb], np.nan),
         np.where(profile_b, side.diaspora[positions, ca], np.nan))
    pair("partners_in_country", np.log1p(partners_a_in_cb), np.log1p(partners_b_in_ca))
    pair("partner_distance", near_partner_of_a, near_partner_of_b)
    pair("partner_size_gap", size_gap_a, size_gap_b)
    usual_a, usual_b = usual_pair_sizes(graph, ca, cb, a.log_pop[0], of_b("log_pop"), excluded)
    pair("country_pair_size_gap", np.abs(a.log_pop[0] - usual_a), np.abs(of_b("log_pop") - usual_b))
    pair("profile", a.profile[0], profile_b)

    # Curated terms are compared only where both cities have a profile; elsewhere the columns stay unknown.
    both_profiles = np.flatnonzero(profile_b) if a.profile[0] else np.zeros(0, int)
    jac_ind, jac_th = np.full(n, np.nan), np.full(n, np.nan)
    shared_ind, shared_th = np.full(n, np.nan), np.full(n, np.nan)
    rows = positions[both_profiles]
    shared_ind[both_profiles], jac_ind[both_profiles] = shared_terms(a.industries[0], side.industries[rows])
    shared_th[both_profiles], jac_th[both_profiles] = shared_terms(a.themes[0], side.themes[rows])
    own = excluded * (1 + same_country)  # the pair's edge, counted once from each end
    links = graph.country_links[ca, cb] - own
    expected = ((graph.country_degree[ca] - own + 1) * (graph.country_degree[cb] - own + 1)
                / np.maximum(graph.country_degree.sum() - 2 * excluded, 1))
    lat_b, lon_b, log_pop_b = of_b("lat"), of_b("lon"), of_b("log_pop")
    climate_b, known_climate = of_b("climate"), a.climate[0] >= 0
    if similarity is None:
        similarity = side.embedding[positions] @ a.embedding[0]
    columns.update({
        "pop_ratio": np.abs(log_pop_b - a.log_pop[0]),
        "log_distance": np.log1p(haversine_km(a.lat[0], a.lon[0], lat_b, lon_b)),
        "same_country": same_country,
        "same_continent": of_b("continent") == a.continent[0],
        "same_subregion": of_b("subregion") == a.subregion[0],
        "neighbours": countries.neighbours[ca, cb],
        "lat_gap": np.abs(lat_b - a.lat[0]),
        "same_climate": np.where(known_climate & (climate_b >= 0), climate_b == a.climate[0], np.nan),
        "same_climate_group": np.where(known_climate & (climate_b >= 0),
                                       of_b("climate_group") == a.climate_group[0], np.nan),
        "both_ports": (a.harbour[0] > 0) & (of_b("harbour") > 0),
        "language_overlap": countries.language_overlap[ca, cb],
        "shared_official": countries.shared_official[ca, cb],
        "income_gap": np.abs(of_b("income") - a.income[0]),
        "shared_industries": shared_ind,
        "industry_jaccard": jac_ind,
        "shared_themes": shared_th,
        "theme_jaccard": jac_th,
        "embedding_similarity": similarity,
        "common_partners": common,
        "adamic_adar": adamic,
        "partner_chains": np.log1p(chains),
        "country_pair_links": np.log1p(np.maximum(links, 0)),
        "country_pair_lift": np.log((np.maximum(links, 0) + 0.5) / (expected + 0.5)),
        "region_pair_links": region_links,
        "vicinity_links": np.log1p(np.maximum(vicinity_links, 0)),
    })
    # Filled column by column, then transposed: writing contiguous rows is what makes this fast.
    matrix = np.empty((len(FEATURES), n), np.float32)
    for i, name in enumerate(FEATURES):
        matrix[i] = columns[name]
    return matrix.T


def shared_terms(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Terms of one row `a` shared with each row of `b`, and their Jaccard index (unknown when neither has any)."""
    shared = (b & a).sum(axis=1).astype(float)
    union = (b | a).sum(axis=1).astype(float)
    return shared, np.divide(shared, union, out=np.full_like(shared, np.nan), where=union > 0)
