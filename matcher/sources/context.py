"""Place and country context from the optional reference folder (../shared/data/context).

Every reader returns an empty result when its files are absent: the build then works with those fields empty.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import BallTree

from matcher.geo import EARTH_RADIUS_KM
from matcher.sources.gazetteer import us_state_names

_GEONAMES_COLUMNS = ["geonameid", "name", "asciiname", "alternatenames", "latitude", "longitude",
                     "feature_class", "feature_code", "country", "cc2", "admin1_code", "admin2_code",
                     "admin3_code", "admin4_code", "population", "elevation", "dem", "timezone", "modified"]


def admin1_names(context: Path | None) -> dict[tuple[str, str], str]:
    """(country, admin-1 code) -> region name; US states only without the context folder."""
    names = us_state_names()
    path = context / "geonames" / "regionInfo.tsv" if context else None
    if path and path.exists():
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        for code, name in zip(table["#region_code"], table["name"]):
            country, _, admin1 = code.partition(".")
            names[(country, admin1)] = name
    return names


def feature_codes(context: Path | None) -> pd.DataFrame:
    """GeoNames feature code (PPLC capital, PPLA.. admin seat, PPLX district) and elevation per place."""
    path = context / "geonames" / "cities15000.zip" if context else None
    if not path or not path.exists():
        return pd.DataFrame({"feature_code": pd.Series(dtype=object), "elevation": pd.Series(dtype=float)}
                            ).rename_axis("geonameid")
    with zipfile.ZipFile(path) as archive:
        raw = archive.read("cities15000.txt")
    table = pd.read_csv(io.BytesIO(raw), sep="\t", header=None, names=_GEONAMES_COLUMNS, dtype=str,
                        keep_default_na=False, quoting=3)
    table["geonameid"] = table["geonameid"].astype("int64")
    table["elevation"] = pd.to_numeric(table["dem"], errors="coerce")
    return table.set_index("geonameid")[["feature_code", "elevation"]]


def _nearest(tree_points: pd.DataFrame, lat, lon, radius_km: float, prefer_large: bool = False) -> np.ndarray:
    """For each (lat, lon), the index label of the nearest (or the largest) catalogue point within radius; -1 if none."""
    tree = BallTree(np.radians(tree_points[["latitude", "longitude"]].to_numpy(float)), metric="haversine")
    found, distances = tree.query_radius(np.radians(np.c_[lat, lon]), r=radius_km / EARTH_RADIUS_KM,
                                         return_distance=True)
    population = tree_points["population"].to_numpy()
    labels = tree_points.index.to_numpy()
    out = np.full(len(found), -1, dtype="int64")
    for i, (rows, dist) in enumerate(zip(found, distances)):
        if len(rows):
            out[i] = labels[rows[np.argmax(population[rows])] if prefer_large else rows[np.argmin(dist)]]
    return out


_HARBOUR_SIZES = {"Very Small": 1, "Small": 2, "Medium": 3, "Large": 4}
_FACILITIES = {"port_container": "Facilities - Container", "port_oil": "Facilities - Oil Terminal",
               "port_lng": "Facilities - LNG Terminal", "port_bulk": "Facilities - Solid Bulk"}


def ports(context: Path | None, cities: pd.DataFrame) -> pd.DataFrame:
    """Harbour size (0 none .. 4 large) and facilities of the ports within 20 km of a city (World Port Index)."""
    columns = ["harbour_size", *_FACILITIES]
    path = context / "world_port_index" / "WPI.csv" if context else None
    if not path or not path.exists():
        return pd.DataFrame(columns=columns).rename_axis("geonameid")
    wpi = pd.read_csv(path, dtype=str, keep_default_na=False)
    lat, lon = pd.to_numeric(wpi["Latitude"], errors="coerce"), pd.to_numeric(wpi["Longitude"], errors="coerce")
    ok = lat.notna() & lon.notna()
    wpi = wpi[ok].assign(geonameid=_nearest(cities, lat[ok], lon[ok], 20.0))
    wpi = wpi[wpi["geonameid"] >= 0]
    table = pd.DataFrame({"geonameid": wpi["geonameid"],
                          "harbour_size": wpi["Harbor Size"].map(_HARBOUR_SIZES).fillna(1).astype(int)})
    for column, source in _FACILITIES.items():
        table[column] = wpi[source].str.strip().str.lower().eq("yes")
    return table.groupby("geonameid").max()[columns]


def airports(context: Path | None, cities: pd.DataFrame) -> pd.Series:
    """'major' or 'mid' for the largest city within 30 km of a Natural Earth airport of that type."""
    path = context / "natural_earth" / "ne_10m_airports.json" if context else None
    if not path or not path.exists():
        return pd.Series(dtype=object, name="airport").rename_axis("geonameid")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    rows = [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0], f["properties"].get("type", ""))
            for f in features]
    table = pd.DataFrame(rows, columns=["lat", "lon", "type"])
    table = table[table["type"].str.startswith(("major", "mid"))]
    table["kind"] = np.where(table["type"].str.startswith("major"), "major", "mid")
    table["geonameid"] = _nearest(cities, table["lat"], table["lon"], 30.0, prefer_large=True)
    table = table[table["geonameid"] >= 0].sort_values("kind")  # 'major' sorts before 'mid'
    return table.drop_duplicates("geonameid").set_index("geonameid")["kind"].rename("airport")


WUP_YEARS = list(range(1950, 2040, 5))


def population_series(context: Path | None, cities: pd.DataFrame) -> pd.DataFrame:
    """UN World Urbanization Prospects population 1950-2035 (people) for the city at each agglomeration."""
    columns = [f"pop_{year}" for year in WUP_YEARS]
    path = context / "un_wup" / "wup2018_f12_agglomerations.csv" if context else None
    if not path or not path.exists():
        return pd.DataFrame(columns=columns, dtype=float).rename_axis("geonameid")
    wup = pd.read_csv(path)
    wup["geonameid"] = _nearest(cities[cities["population"] >= 50_000], wup["lat"], wup["lon"], 30.0,
                                prefer_large=True)
    wup = wup[wup["geonameid"] >= 0].drop_duplicates("geonameid")
    series = wup.set_index("geonameid")[[f"pop_{year}_k" for year in WUP_YEARS]] * 1000
    series.columns = columns
    return series.round()


def world_cities(context: Path | None) -> pd.DataFrame:
    """Natural Earth flags by GeoNames id: world city, megacity."""
    path = context / "natural_earth" / "ne_10m_populated_places_attrs.csv" if context else None
    if not path or not path.exists():
        return pd.DataFrame(columns=["world_city", "megacity"]).rename_axis("geonameid")
    table = pd.read_csv(path, usecols=["GEONAMEID", "WORLDCITY", "MEGACITY"]).dropna(subset=["GEONAMEID"])
    table = table.assign(geonameid=table["GEONAMEID"].astype("int64"), world_city=table["WORLDCITY"] > 0,
                         megacity=table["MEGACITY"] > 0)
    return table.drop_duplicates("geonameid").set_index("geonameid")[["world_city", "megacity"]]


def income_groups(context: Path | None) -> dict[str, str]:
    """World Bank income group by ISO3 code ('High income', ...)."""
    path = context / "world_bank" / "wb_class_economies.csv" if context else None
    if not path or not path.exists():
        return {}
    table = pd.read_csv(path, dtype=str).dropna(subset=["Code", "Income group"])
    return dict(zip(table["Code"], table["Income group"]))
