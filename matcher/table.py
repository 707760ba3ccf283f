"""The catalogue as arrays for scoring: every city's side of the pair features, and the known-partner graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.neighbors import BallTree

from matcher.citytext import curated_text, generated_text
from matcher.embed import EmbeddingCache
from matcher.errors import InputError
from matcher.features import INCOME_LEVELS, VICINITY_KM, CitySide, Countries, Graph, Query, row_indices
from matcher.geo import EARTH_RADIUS_KM, haversine_km
from matcher.sources.climate import climate_zones
from matcher.sources.profiles import vocabulary


def _codes(values: pd.Series) -> np.ndarray:
    return pd.Categorical(values.fillna("")).codes.astype(np.int32)


def _multi_hot(lists: list[list[str]], vocab: list[str]) -> np.ndarray:
    position = {term: i for i, term in enumerate(vocab)}
    matrix = np.zeros((len(lists), len(vocab)), bool)
    for row, terms in enumerate(lists):
        for term in terms:
            if term in position:
                matrix[row, position[term]] = True
    return matrix


TEXT_FIELDS = ["name", "population", "admin1", "subregion", "is_capital", "is_admin_seat", "harbour_size", "airport",
               "climate", "country"]


def city_texts(cities: pd.DataFrame, countries: pd.DataFrame, profiles: dict[int, dict]) -> list[str]:
    names = countries["country_name"].to_dict()
    # Plain dicts of just the fields texts read: a pandas row costs ~0.15 ms, 15 s on 100k cities.
    rows = cities[TEXT_FIELDS].to_dict("records")
    return [curated_text(profiles[gid]) if gid in profiles else generated_text(row, names.get(row["country"], ""))
            for gid, row in zip(cities.index, rows)]


REGION_KM = 30.0  # a described city takes the admin-1 region of the nearest catalogue city this close


@dataclass
class CityProfile:
    """A city described by the caller: one missing from the catalogue, or one with edited fields."""
    name: str
    country: str                                            # ISO2
    latitude: float
    longitude: float
    population: int
    industries: list[str] = field(default_factory=list)     # vocabulary ids
    themes: list[str] = field(default_factory=list)
    diaspora: list[str] = field(default_factory=list)       # ISO2 of the countries its communities come from
    description: str = ""
    partners: list[int] = field(default_factory=list)       # GeoNames ids of its partners in the catalogue

    def text(self) -> str:
        return curated_text({"name": self.name, "description": self.description, "industries": self.industries,
                             "themes": self.themes})


SKETCH_DIMENSIONS = 64  # embedding sketch for shortlisting: a 6x cheaper pass over the whole catalogue


def _sketch_basis(embedding: np.ndarray) -> np.ndarray:
    """The leading right singular vectors (uncentred: the shared direction of all texts stays in).

    Taken as the leading eigenvectors of the 384 x 384 Gram matrix: an SVD of the 20,000-row sample took 2 s on
    one core and 25-50 s on a loaded machine (OpenBLAS threads spinning); this takes 0.1-0.7 s."""
    sample = embedding[:: max(1, len(embedding) // 20_000)].astype(np.float64)
    vectors = np.linalg.eigh(sample.T @ sample)[1]  # ascending eigenvalues
    return vectors[:, ::-1][:, :SKETCH_DIMENSIONS].astype(np.float32)


@dataclass
class CityTable:
    ids: np.ndarray
    position: dict[int, int]
    side: CitySide
    countries: Countries
    cities: pd.DataFrame
    profiles: dict[int, dict]
    region: np.ndarray
    vicinity: sparse.csr_matrix
    sketch_basis: np.ndarray   # embedding dimensions x SKETCH_DIMENSIONS
    sketch: np.ndarray         # every city's embedding projected on the basis

    @classmethod
    def build(cls, cities: pd.DataFrame, countries: pd.DataFrame, migration: pd.DataFrame,
              profiles: list[dict], embeddings: EmbeddingCache) -> "CityTable":
        by_id = {p["geonameid"]: p for p in profiles}
        table = Countries.from_tables(countries, migration)
        ids = cities.index.to_numpy()
        industries, themes = sorted(vocabulary("industries")), sorted(vocabulary("themes"))
        curated = [by_id.get(gid) for gid in ids]
        growth = np.log(cities["pop_2020"] / cities["pop_1990"]) if "pop_2020" in cities else \
            pd.Series(np.nan, index=cities.index)
        climates = sorted(cities["climate"].dropna().unique())
        climate_pos = {c: i for i, c in enumerate(climates)}
        side = CitySide(
            lat=cities["latitude"].to_numpy(float),
            lon=cities["longitude"].to_numpy(float),
            log_pop=np.log10(np.maximum(cities["population"].to_numpy(float), 100)),
            country=cities["country"].map(table.position).fillna(-1).to_numpy(int),
            continent=_codes(cities["continent"]),
            subregion=_codes(cities["subregion"]),
            climate=cities["climate"].map(climate_pos).fillna(-1).to_numpy(int),
            climate_group=cities["climate"].fillna("?").str[0].map(ord).to_numpy(int),
            capital=cities["is_capital"].to_numpy(bool),
            admin_seat=cities["is_admin_seat"].to_numpy(bool),
            harbour=cities["harbour_size"].to_numpy(float),
            airport=cities["airport"].map({"major": 2, "mid": 1}).fillna(0).to_numpy(float),
            income=cities["income_group"].map(INCOME_LEVELS).to_numpy(float),
            growth=growth.to_numpy(float),
            profile=np.array([p is not None for p in curated]),
            industries=_multi_hot([p["industries"] if p else [] for p in curated], industries),
            themes=_multi_hot([p["themes"] if p else [] for p in curated], themes),
            diaspora=_multi_hot([[d["country"] for d in p["diaspora"]] if p else [] for p in curated], table.codes),
            embedding=embeddings.embed(city_texts(cities, countries, by_id)),
        )
        keys = (cities["country"] + "." + cities["admin1_code"]).where(cities["admin1_code"] != "")
        region = pd.Categorical(keys).codes.astype(np.int64)
        tree = BallTree(np.radians(np.c_[side.lat, side.lon]), metric="haversine")
        near = tree.query_radius(np.radians(np.c_[side.lat, side.lon]), r=VICINITY_KM / EARTH_RADIUS_KM)
        rows = np.repeat(np.arange(len(near)), [len(x) for x in near])
        vicinity = sparse.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(near))), shape=(len(ids),) * 2)
        basis = _sketch_basis(side.embedding)
        return cls(ids, {gid: i for i, gid in enumerate(ids)}, side, table, cities, by_id, region, vicinity,
                   basis, side.embedding @ basis)

    def graph(self, a_ids, b_ids) -> Graph:
        a = np.array([self.position[i] for i in a_ids], dtype=int)
        b = np.array([self.position[i] for i in b_ids], dtype=int)
        return self.graph_of_positions(a, b)

    def graph_of_positions(self, a: np.ndarray, b: np.ndarray) -> Graph:
        return Graph.from_pairs(a, b, self.side, len(self.countries.codes), self.region, self.vicinity)

    def sketch_similarity(self, vector: np.ndarray) -> np.ndarray:
        """Every city's approximate embedding similarity to a unit vector, read from the sketch."""
        return self.sketch @ (vector @ self.sketch_basis)

    def query(self, position: int, graph: Graph) -> Query:
        return Query(self.side.take([position]), graph.neighbours(position), position, int(self.region[position]),
                     row_indices(self.vicinity, position))

    def profile_query(self, profile: CityProfile, graph: Graph, embedding: np.ndarray) -> Query:
        """The query for a city described by the caller (checked by `check_profile`); `embedding` is that of
        `profile.text()`."""
        countries, side = self.countries, self.side
        country = countries.position[profile.country]
        distance = haversine_km(profile.latitude, profile.longitude, side.lat, side.lon)
        same_country = np.flatnonzero(side.country == country)
        template = same_country[np.argmin(distance[same_country])] if len(same_country) else None
        climate = climate_zones([profile.latitude], [profile.longitude])[0]
        climates = sorted(self.cities["climate"].dropna().unique())
        industries, themes = sorted(vocabulary("industries")), sorted(vocabulary("themes"))
        one = CitySide(
            lat=np.array([profile.latitude]), lon=np.array([profile.longitude]),
            log_pop=np.log10([max(profile.population, 100)]), country=np.array([country]),
            continent=side.continent[[template]] if template is not None else np.array([-1]),
            subregion=side.subregion[[template]] if template is not None else np.array([-1]),
            climate=np.array([climates.index(climate) if climate in climates else -1]),
            climate_group=np.array([ord((climate or "?")[0])]),
            capital=np.array([False]), admin_seat=np.array([False]), harbour=np.array([0.0]),
            airport=np.array([0.0]),
            income=side.income[[template]] if template is not None else np.array([np.nan]),
            growth=np.array([np.nan]),
            profile=np.array([bool(profile.industries or profile.themes or profile.diaspora)]),
            industries=_multi_hot([profile.industries], industries), themes=_multi_hot([profile.themes], themes),
            diaspora=_multi_hot([profile.diaspora], countries.codes), embedding=embedding[None, :].astype(np.float32),
        )
        near = template is not None and distance[template] <= REGION_KM
        return Query(one, np.array([self.position[gid] for gid in dict.fromkeys(profile.partners)], dtype=int),
                     None, int(self.region[template]) if near else -1, np.flatnonzero(distance <= VICINITY_KM))

    def check_profile(self, profile: CityProfile) -> None:
        """Refuse what the catalogue and vocabularies do not know, naming what is valid."""
        problems = []
        if profile.country not in self.countries.position:
            problems.append(f"unknown country {profile.country!r} (use an ISO 3166 alpha-2 code such as 'DE')")
        if unknown := sorted({c for c in profile.diaspora if c not in self.countries.position}):
            problems.append(f"unknown diaspora countries {unknown} (use ISO 3166 alpha-2 codes)")
        for kind, wanted in (("industries", profile.industries), ("themes", profile.themes)):
            if unknown := [term for term in wanted if term not in vocabulary(kind)]:
                problems.append(f"unknown {kind} {unknown}; valid: {', '.join(sorted(vocabulary(kind)))}")
        if unknown := [gid for gid in profile.partners if gid not in self.position]:
            problems.append(f"partners not in the catalogue: {unknown}")
        if problems:
            raise InputError("; ".join(problems))
