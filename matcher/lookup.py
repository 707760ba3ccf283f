"""Plain records of the catalogue for people and programs (CLI, API): cities, partners, filters, the build."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from matcher.errors import InputError
from matcher.features import Countries
from matcher.recommend import Filters
from matcher.sources.profiles import vocabulary

BRIEF = ["name", "admin1", "country", "continent", "population", "latitude", "longitude"]
CONTINENTS = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}
CURATED_FIELDS = ["industries", "themes", "diaspora", "languages", "colonial_ties", "description"]


def plain(value):
    """numpy scalars as Python values and missing values (NaN, NA) as None, so that JSON can carry them."""
    if isinstance(value, (str, int)):  # the common cases first: records hold thousands of values, and each
        return value                    # suggestion's contributions 54 floats
    if isinstance(value, float):  # numpy's float64 too
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


class CityRecords:
    """Brief records of cities by id: enough to tell namesakes apart and to map them. Columns are read out of
    the frame once, so that a request for a hundred records costs no pandas indexing."""

    def __init__(self, cities: pd.DataFrame):
        self.position = {int(gid): i for i, gid in enumerate(cities.index)}
        self.columns = {name: plain(cities[name].tolist()) for name in BRIEF}

    def of(self, ids: Iterable[int]) -> list[dict]:
        """In the order given (KeyError for an id not in the catalogue)."""
        rows = [(int(gid), self.position[int(gid)]) for gid in ids]
        return [{"geonameid": gid, **{name: column[i] for name, column in self.columns.items()}} for gid, i in rows]


def partner_ids(pairs: pd.DataFrame, gid: int) -> list[int]:
    return sorted(set(pairs.loc[pairs["a"] == gid, "b"]) | set(pairs.loc[pairs["b"] == gid, "a"]))


def partners(records: CityRecords, pairs: pd.DataFrame, gid: int) -> list[dict]:
    """Known partners of a city, each with the sources that list the partnership (link tables, 'curated')."""
    mine = pairs[(pairs["a"] == gid) | (pairs["b"] == gid)]
    other = np.where(mine["a"] == gid, mine["b"], mine["a"])
    sources = dict(zip(other.tolist(), mine["sources"]))
    return [{**record, "sources": list(sources[record["geonameid"]])} for record in records.of(sorted(sources))]


def city_details(records: CityRecords, cities: pd.DataFrame, pairs: pd.DataFrame, profiles: dict[int, dict],
                 gid: int) -> dict:
    """Everything known of a city: catalogue fields, its curated profile (or None) and its known partners."""
    row = cities.loc[gid]
    curated = profiles.get(gid)
    return {
        **records.of([gid])[0],
        **plain({"subregion": row["subregion"], "timezone": row["timezone"], "climate": row["climate"],
                 "capital": row["is_capital"], "admin_seat": row["is_admin_seat"], "district": row["is_district"],
                 "harbour_size": row["harbour_size"], "airport": row["airport"],
                 "income_group": row["income_group"], "alternate_names": list(row["alternate_names"])}),
        "curated": {key: curated.get(key, []) for key in CURATED_FIELDS} if curated else None,
        "known_partners": partner_ids(pairs, gid),
    }


def check_filters(filters: Filters, countries: Countries) -> None:
    """Refuse filter values the catalogue does not know (they would silently match nothing), naming valid ones."""
    problems = []
    for name in ("countries", "exclude_countries"):
        if unknown := [c for c in getattr(filters, name) if c not in countries.position]:
            problems.append(f"unknown {name} {unknown} (use ISO 3166 alpha-2 codes such as 'DE')")
    if unknown := [c for c in filters.continents if c not in CONTINENTS]:
        problems.append(f"unknown continents {unknown}; valid: {', '.join(sorted(CONTINENTS))}")
    for kind in ("industries", "themes"):
        if unknown := [term for term in getattr(filters, kind) if term not in vocabulary(kind)]:
            problems.append(f"unknown {kind} {unknown}; valid: {', '.join(sorted(vocabulary(kind)))}")
    if unknown := [lang for lang in filters.languages if lang not in countries.languages]:
        problems.append(f"unknown languages {unknown} (use ISO 639 codes such as 'de')")
    if None not in (filters.min_population, filters.max_population) and \
            filters.min_population > filters.max_population:
        problems.append("min_population is larger than max_population")
    if problems:
        raise InputError("; ".join(problems))


def build_summary(build, ranker) -> dict:
    """Versions of the data and the model, the build date and the evaluation summary (when one was run)."""
    manifest = build.manifest
    evaluation = build.path / "evaluation.json"
    inputs = manifest["inputs"]
    return {
        "matcher_version": manifest["matcher_version"],
        "built_at": manifest["built_at"],
        "data": {"build_format": manifest["format"], "counts": manifest["counts"],
                 "links": [_input(f) for f in inputs["links"]], "migration": [_input(f) for f in inputs["migration"]],
                 "context": inputs["context"] is not None},
        "model": {**manifest.get("model", {}), "params": ranker._params(),
                  "feature_importance": ranker.feature_importance()},
        "evaluation": json.loads(evaluation.read_text()) if evaluation.exists() else None,
    }


def _input(fingerprint: dict) -> dict:
    """A data file by name and content hash: the server's own paths stay private."""
    return {"name": fingerprint["path"].rsplit("/", 1)[-1], "sha256": fingerprint["sha256"],
            "bytes": fingerprint["bytes"]}


def vocabularies() -> dict[str, dict[str, str]]:
    """Industry and theme ids with their labels, for pickers and for reading profiles."""
    return {kind: {term.id: term.label for term in vocabulary(kind).values()} for kind in ("industries", "themes")}


def suggestion_records(records: CityRecords, suggestions: list) -> list[dict]:
    """Each suggestion (or comparison) of the recommender with the brief record of its city."""
    return [{**record, **plain(vars(s))} for record, s in zip(records.of(s.geonameid for s in suggestions),
                                                             suggestions)]
