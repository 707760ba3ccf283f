"""UN DESA bilateral migrant stock: people born in one country living in another, by year."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pycountry

from matcher.errors import InputError

COLUMNS = ["origin_iso3", "destination_iso3", "year", "stock"]
# Codes outside ISO 3166: the Channel Islands are two territories in the gazetteer.
_SPECIAL = {"CHI": ["JE", "GG"], "XKX": ["XK"], "KOS": ["XK"]}


def _iso2(code: str) -> list[str]:
    if code in _SPECIAL:
        return _SPECIAL[code]
    country = pycountry.countries.get(alpha_3=code)
    return [country.alpha_2] if country else []


def read_migration(path: Path) -> pd.DataFrame:
    """Rows (origin, destination, year, stock) with ISO2 codes; InputError for a malformed file."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"origin_iso3": str, "destination_iso3": str}, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if missing := [c for c in COLUMNS if c not in table.columns]:
        raise InputError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
    for column in ("year", "stock"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = (values.isna() | (values < 0)).to_numpy()
        if bad.any():
            first = int(bad.nonzero()[0][0])
            raise InputError(f"{path}, line {first + 2}: {column} is not a non-negative number: "
                             f"{table[column].iloc[first]!r}")
        table[column] = values.astype("int64")
    rows = []
    for origin3, destination3, year, stock in table[COLUMNS].itertuples(index=False):
        for origin in _iso2(str(origin3)):
            for destination in _iso2(str(destination3)):
                rows.append((origin, destination, year, stock))
    frame = pd.DataFrame(rows, columns=["origin", "destination", "year", "stock"])
    return frame.groupby(["origin", "destination", "year"], as_index=False)["stock"].sum()
