"""Find cities of the catalogue by id, name, alternate name or prefix, accent-insensitively."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from difflib import get_close_matches

import pandas as pd

from matcher.sources.countries import country_code
from matcher.text import fold, name_keys

# Relevance tiers, best first.
_EXACT_NAME, _EXACT_ALTERNATE, _PREFIX_NAME, _PREFIX_ALTERNATE = range(4)


@dataclass(frozen=True)
class Query:
    name: str
    region: str | None = None
    country: str | None = None  # ISO2

    @classmethod
    def parse(cls, text: str) -> "Query":
        """'Portland', 'Portland, US', 'Portland, Oregon, United States', 'Frankfurt (Oder)'."""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if len(parts) >= 2 and (iso2 := country_code(parts[-1])):
            return cls(", ".join(parts[:-2] or parts[:1]) if len(parts) > 2 else parts[0],
                       parts[-2] if len(parts) > 2 else None, iso2)
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        return cls(text.strip())


class CityIndex:
    def __init__(self, cities: pd.DataFrame):
        self.cities = cities
        primary: dict[str, set[int]] = defaultdict(set)
        alternate: dict[str, set[int]] = defaultdict(set)
        for gid, name, alternates in zip(cities.index, cities["name"], cities["alternate_names"]):
            for key in name_keys(name):
                primary[key].add(gid)
            for alt in alternates:
                if key := fold(alt):
                    alternate[key].add(gid)
        self.primary, self.alternate = dict(primary), dict(alternate)
        self.keys = sorted(set(primary) | set(alternate))

    def search(self, text: str, country: str | None = None, limit: int = 10) -> list[int]:
        """Ids ranked by relevance (exact before prefix, name before alternate name), then by size."""
        query = Query.parse(text)
        key = fold(query.name)
        if not key:
            return []
        country = country_code(country) if country else query.country
        tiers: dict[int, int] = {}

        def add(ids, tier):
            for gid in ids:
                tiers[gid] = min(tiers.get(gid, tier), tier)

        for k in name_keys(query.name):
            add(self.primary.get(k, ()), _EXACT_NAME)
            add(self.alternate.get(k, ()), _EXACT_ALTERNATE)
        start = bisect.bisect_left(self.keys, key)
        for k in self.keys[start:start + 2000]:
            if not k.startswith(key):
                break
            add(self.primary.get(k, ()), _PREFIX_NAME)
            add(self.alternate.get(k, ()), _PREFIX_ALTERNATE)
        ids = list(tiers)
        if not ids:
            return []
        found = self.cities.loc[ids, ["country", "admin1", "population"]]
        if country:
            found = found[found["country"] == country]
        if query.region:
            region = fold(query.region)
            by_region = found[found["admin1"].fillna("").map(fold).str.contains(region, regex=False)]
            found = by_region if len(by_region) else found
        order = sorted(found.index, key=lambda gid: (tiers[gid], -found.at[gid, "population"]))
        return order[:limit]

    def exact(self, text: str) -> list[int]:
        """Places whose name or alternate name is exactly the query (with its country and region, if given)."""
        ranked = self.search(text, limit=100)
        keys = name_keys(Query.parse(text).name)
        by_name = {gid for k in keys for gid in self.primary.get(k, ())}
        by_alternate = {gid for k in keys for gid in self.alternate.get(k, ())}
        return [gid for gid in ranked if gid in by_name] or [gid for gid in ranked if gid in by_alternate]

    def suggest(self, text: str, limit: int = 5) -> list[int]:
        """Close spellings, for a query that matched nothing."""
        close = get_close_matches(fold(Query.parse(text).name), self.keys, n=limit, cutoff=0.75)
        ids = {gid for k in close for gid in self.primary.get(k, set()) | self.alternate.get(k, set())}
        return sorted(ids, key=lambda gid: -self.cities.at[gid, "population"])[:limit]
