"""Link tables of known partnerships (city1,country1,lat1,lng1,city2,country2,lat2,lng2) and their import."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.errors import InputError
from matcher.resolve import Resolution, Resolver, parse_name
from matcher.sources.countries import country_code
from matcher.text import fold

COLUMNS = ["city1", "country1", "lat1", "lng1", "city2", "country2", "lat2", "lng2"]
_LIMITS = {"lat1": 90, "lat2": 90, "lng1": 180, "lng2": 180}


def read_link_table(path: Path) -> pd.DataFrame:
    """Read and check a link table; any malformation raises InputError naming file, line and problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: not UTF-8 text (byte {raw[exc.start]:#04x})") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError(f"{path}: empty file, expected a header {','.join(COLUMNS)}")
    header = [cell.strip() for cell in rows[0]]
    if missing := [column for column in COLUMNS if column not in header]:
        raise InputError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path}, line {line}: {len(row)} fields, the header has {len(header)}")
        record = dict(zip(header, (cell.strip() for cell in row)))
        for column, limit in _LIMITS.items():
            try:
                value = float(record[column])
            except ValueError:
                raise InputError(f"{path}, line {line}: {column} is not a number: {record[column]!r}") from None
            if not -limit <= value <= limit:
                raise InputError(f"{path}, line {line}: {column} {value} is out of range [-{limit}, {limit}]")
            record[column] = value
        for column in ("city1", "city2"):
            if not record[column]:
                raise InputError(f"{path}, line {line}: {column} is empty")
        record["line"] = line
        records.append(record)
    return pd.DataFrame.from_records(records, columns=COLUMNS + ["line"])


@dataclass
class LinkImport:
    """Undirected pairs with their sources, and the report of how every row fared."""
    pairs: pd.DataFrame                       # a < b, sources (list of names), rows (count)
    tables: list[dict] = field(default_factory=list)
    rejections: pd.DataFrame | None = None    # source, line, side, name, country, reason
    new_places: pd.DataFrame | None = None    # places the gazetteer lacks: geonameid, name, country, lat, lon
    precise: set[tuple[int, int]] = field(default_factory=set)  # (a, b): some row names b with its region or town

    def report(self) -> dict:
        rows = sum(t["rows"] for t in self.tables)
        resolved = sum(t["resolved_rows"] for t in self.tables)
        return {"rows": rows, "resolved_rows": resolved, "pairs": int(len(self.pairs)),
                "resolved_share": round(resolved / rows, 4) if rows else None, "tables": self.tables}


def import_links(tables: dict[str, pd.DataFrame], resolver: Resolver) -> LinkImport:
    """Resolve both ends of every row of every table; merge duplicates and reversed pairs."""
    cache: dict[tuple, Resolution] = {}

    def resolve(name, country, lat, lon) -> Resolution:
        key = (name, country, round(lat, 3), round(lon, 3))
        if key not in cache:
            cache[key] = resolver.resolve(name, country, lat, lon)
        return cache[key]

    pairs: dict[tuple[int, int], dict] = {}
    rejections, summaries, new_places, precise = [], [], {}, set()
    for source, table in tables.items():
        reasons: Counter = Counter()
        resolved_rows = 0
        for row in table.itertuples(index=False):
            ends = [resolve(row.city1, row.country1, row.lat1, row.lng1),
                    resolve(row.city2, row.country2, row.lat2, row.lng2)]
            failed = [(side, end) for side, end in enumerate(ends, start=1) if end.geonameid is None]
            if not failed and ends[0].geonameid == ends[1].geonameid:
                failed = [(0, Resolution(None, "self-pair"))]
            if failed:
                side, end = failed[0]
                reasons[end.reason] += 1
                name, country = (getattr(row, f"city{side}"), getattr(row, f"country{side}")) if side else \
                    (f"{row.city1} / {row.city2}", row.country1)
                rejections.append({"source": source, "line": row.line, "side": side, "name": name,
                                   "country": country, "reason": end.reason})
                continue
            resolved_rows += 1
            for side, end in enumerate(ends, start=1):
                if end.method == "new-place" and end.geonameid not in new_places:
                    new_places[end.geonameid] = {
                        "geonameid": end.geonameid, "name": end.name, "country": country_code(
                            getattr(row, f"country{side}")), "latitude": getattr(row, f"lat{side}"),
                        "longitude": getattr(row, f"lng{side}")}
            for end, other, name in ((ends[0], ends[1], row.city1), (ends[1], ends[0], row.city2)):
                if _qualified(name):
                    precise.add((other.geonameid, end.geonameid))
            a, b = sorted(end.geonameid for end in ends)
            pair = pairs.setdefault((a, b), {"a": a, "b": b, "sources": [], "rows": 0})
            pair["rows"] += 1
            if source not in pair["sources"]:
                pair["sources"].append(source)
        summaries.append({"source": source, "rows": len(table), "resolved_rows": resolved_rows,
                          "rejected": dict(reasons.most_common())})
    frame = pd.DataFrame(list(pairs.values()), columns=["a", "b", "sources", "rows"])
    return LinkImport(frame, summaries, pd.DataFrame(rejections, columns=[
        "source", "line", "side", "name", "country", "reason"]), pd.DataFrame(list(new_places.values()), columns=[
        "geonameid", "name", "country", "latitude", "longitude"]), precise)


def _qualified(name: str) -> bool:
    """Whether a name carries its region, river or town: 'Kusatsu, Gunma', 'Heringen (Werra)', 'Heringen/Helme',
    'Wiesbaden – Biebrich'."""
    return "/" in name or parse_name(name).hint is not None


def namesake_doubles(pairs: pd.DataFrame, precise: set[tuple[int, int]], places: pd.DataFrame) -> np.ndarray:
    """Which pairs repeat a partnership of one of their cities under a namesake of the partner: Bietigheim-Bissingen's
    page lists a bare 'Kusatsu' that the table places in Shiga, while Kusatsu (Gunma)'s page lists Bietigheim-Bissingen.
    A city's partner named bare (no region or town) is dropped where a namesake in the same country is named precisely
    as its partner (`precise`: (city, partner) named with a qualifier, or by id in a curated profile). Partners all
    named bare, or all precisely (Salisbury's two: 'Salisbury, Maryland' and 'Salisbury, North Carolina'), stay.
    `places`: name and country by id."""
    known = places.reindex(np.r_[pairs["a"], pairs["b"]])
    names = [(fold(name), country) if isinstance(name, str) else None
             for name, country in zip(known["name"], known["country"])]
    n = len(pairs)
    partners: dict[tuple, list[tuple[int, bool]]] = {}  # (city, partner's name and country) -> (row, precise)
    for row, (a, b) in enumerate(zip(pairs["a"], pairs["b"])):
        for city, partner, name in ((a, b, names[n + row]), (b, a, names[row])):
            if name is not None:
                partners.setdefault((city, name), []).append((row, (city, partner) in precise))
    doubles = np.zeros(n, bool)
    for rows in partners.values():
        if any(is_precise for _, is_precise in rows):
            for row, is_precise in rows:
                doubles[row] |= not is_precise
    return doubles
