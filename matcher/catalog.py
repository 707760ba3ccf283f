"""The catalogue: every city a partnership can involve, with its place and country context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import BallTree

from matcher.geo import EARTH_RADIUS_KM
from matcher.sources import context as ctx
from matcher.sources.climate import climate_zones
from matcher.sources.gazetteer import CATALOGUE_MIN_POPULATION
from matcher.sources.profiles import Profile
from matcher.text import fold

_ADMIN_SEATS = {"PPLA", "PPLA2", "PPLA3", "PPLA4", "PPLG"}
DUMP_MIN_POPULATION = 15_000  # GeoNames' cities15000 dump lists every place this size or larger


def _local_places(link_places: pd.DataFrame, profiles: list[Profile]) -> pd.DataFrame:
    """Places the gazetteer lacks: from curated profiles (with population) and link tables."""
    rows = [{"geonameid": p.id, "name": p.name, "country": p.country, "latitude": p.latitude,
             "longitude": p.longitude, "population": p.population, "source": "profile"}
            for p in profiles if p.latitude is not None]
    links = link_places.assign(population=0, source="links")
    frame = pd.concat([pd.DataFrame(rows), links], ignore_index=True) if rows else links
    frame = frame.drop_duplicates("geonameid")  # a curated profile wins over a link-table guess
    frame["asciiname"] = frame["name"].map(fold)
    frame["admin1_code"] = ""
    frame["timezone"] = None
    frame["alternate_names"] = [[] for _ in range(len(frame))]
    return frame.set_index("geonameid", drop=False)


def assemble(places: pd.DataFrame, countries: pd.DataFrame, admin1: dict[tuple[str, str], str],
             context: Path | None, linked_ids: set[int], link_places: pd.DataFrame,
             profiles: list[Profile], min_population: int = CATALOGUE_MIN_POPULATION) -> pd.DataFrame:
    """Places of `min_population` people or more plus every place a partnership or a profile names, with context
    joined in."""
    named = linked_ids | {p.id for p in profiles} | {q.geonameid for p in profiles for q in p.partners}
    keep = (places["population"] >= min_population) | places.index.isin(list(named))
    cities = places[keep].copy()
    cities["source"] = "gazetteer"
    local = _local_places(link_places, profiles)
    local = local[~local.index.isin(cities.index)]
    cities = pd.concat([cities, local[cities.columns.intersection(local.columns)]])
    cities["population"] = cities["population"].fillna(0).astype("int64")
    cities["admin1"] = [admin1.get((c, a)) for c, a in zip(cities["country"], cities["admin1_code"])]
    for column in ("continent", "subregion", "income_group"):
        cities[column] = cities["country"].map(countries[column])
    cities = _place_kinds(cities, ctx.feature_codes(context), countries)
    cities["climate"] = climate_zones(cities["latitude"], cities["longitude"])
    cities = cities.join(ctx.ports(context, cities))
    cities["harbour_size"] = cities["harbour_size"].fillna(0).astype(int)
    for column in ("port_container", "port_oil", "port_lng", "port_bulk"):
        cities[column] = cities[column].astype("boolean").fillna(False).astype(bool)
    cities = cities.join(ctx.airports(context, cities))
    cities = cities.join(ctx.population_series(context, cities))
    cities = cities.join(ctx.world_cities(context))
    for column in ("world_city", "megacity"):
        cities[column] = cities[column].astype("boolean").fillna(False).astype(bool)
    curated = {p.id for p in profiles}
    cities["has_profile"] = cities.index.isin(list(curated))
    cities["partner_count"] = 0
    return cities.sort_index()


def _place_kinds(cities: pd.DataFrame, codes: pd.DataFrame, countries: pd.DataFrame) -> pd.DataFrame:
    """Capital, admin seat, district-of-a-larger-city flags (GeoNames feature codes where known)."""
    cities = cities.join(codes)
    capital_names = countries["capital"].dropna().map(fold)
    by_name = cities["country"].map(capital_names).eq(cities["name"].map(fold))
    # Without feature codes, a capital is the largest place named like the country's capital.
    fallback = by_name & (cities.groupby(["country", by_name])["population"].transform("max") == cities["population"])
    cities["is_capital"] = np.where(cities["feature_code"].notna(), cities["feature_code"].eq("PPLC"), fallback)
    cities["is_admin_seat"] = cities["feature_code"].isin(_ADMIN_SEATS)
    cities["is_district"] = cities["feature_code"].eq("PPLX") | _unlisted_districts(cities)
    return cities


def district_radius_km(population: np.ndarray) -> np.ndarray:
    """How far from a city's point its districts may lie: 5 km for 100,000 people, growing with the square root of
    the population (an area), at most 25 km."""
    return np.clip(5.0 * np.sqrt(population / 100_000), 5.0, 25.0)


def _unlisted_districts(cities: pd.DataFrame) -> pd.Series:
    """Gazetteer places of `DUMP_MIN_POPULATION` or more that GeoNames' dump no longer lists (so without a feature
    code), within `district_radius_km` of a larger place it does list in its country and admin-1 region (where both
    are known). Of the 589 the reference build finds, 554 have no partner; nearly all are city districts (Pest, Paris
    05 Panthéon, Kyiv's Borshchahivka, Tallinn's Mustamäe), which would otherwise be offered as cities. The region
    keeps separate cities beside a metropolis (Lanús and Avellaneda beside Buenos Aires, Muntinlupa beside Taguig)
    and the country those across a border (Changbai facing Hyesan); it also releases two real districts whose county
    code differs from their city's (Szeged's Újszeged, Budapest's Naphegy)."""
    listed = cities["feature_code"].notna().to_numpy()
    population = cities["population"].to_numpy()
    unlisted = (cities["source"].eq("gazetteer") & ~listed & (population >= DUMP_MIN_POPULATION)).to_numpy()
    out = pd.Series(False, index=cities.index)
    if not listed.any() or not unlisted.any():  # no dump: nothing to tell districts by
        return out
    points = np.radians(cities[["latitude", "longitude"]].to_numpy(float))
    hosts, places = np.flatnonzero(listed), np.flatnonzero(unlisted)
    near, km = BallTree(points[hosts], metric="haversine").query_radius(
        points[places], r=district_radius_km(population[hosts]).max() / EARTH_RADIUS_KM, return_distance=True)
    place, host = np.repeat(places, [len(rows) for rows in near]), hosts[np.concatenate(near)]
    within = (np.concatenate(km) * EARTH_RADIUS_KM <= district_radius_km(population[host])) \
        & (population[host] > population[place])
    country, admin1 = cities["country"].to_numpy(), cities["admin1_code"].to_numpy()
    region_known = (admin1[host] != "") & (admin1[place] != "")
    same_region = (country[host] == country[place]) & (~region_known | (admin1[host] == admin1[place]))
    out.iloc[np.unique(place[within & same_region])] = True
    return out
