"""Find cities of the catalogue by id, name, alternate name or prefix, accent-insensitively."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from difflib import get_close_matches

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from anyascii import anyascii

from matcher.sources.countries import country_code
from matcher.text import fold, fold_many, name_keys

# Relevance tiers, best first; a name's tier + 1 is its alternate names' tier.
_EXACT, _PREFIX = 0, 2
_AFTER_EVERY_PREFIXED = "\U0010ffff"  # key + this sorts after every key that starts with key
_BUCKETS = 64  # characters are counted in buckets (code point mod 64) to bound spelling similarity cheaply
_CLOSE = 0.75  # difflib ratio of a close spelling


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
    """Every folded name, transliterated name and alternate name in one sorted list of keys; the cities of key i
    are rows[starts[i]:starts[i + 1]] (with whether the key is an alternate name of each). An exact or prefix
    lookup is a bisection and a slice, and ranking is numpy: built in about a second for 40,000 cities, where
    per-name dictionaries took 4-14 s."""

    def __init__(self, cities: pd.DataFrame):
        self.ids = cities.index.to_numpy(np.int64)
        self.population = cities["population"].to_numpy(np.int64)
        self.country = cities["country"].to_numpy(object)
        admin1_codes, admin1 = pd.factorize(cities["admin1"].fillna(""))
        self.admin1_code, self.admin1 = admin1_codes, fold_many(admin1.tolist())
        keys, rows, alternate = _keys(cities)
        self.keys, codes = _sorted_codes(keys)
        # One posting per (key, city, name or alternate name), ordered by key.
        postings = np.sort((codes * len(cities) + rows) * 2 + alternate)
        postings = postings[np.diff(postings, prepend=-1) != 0]
        self.alternate = (postings % 2).astype(np.int8)
        self.rows = postings // 2 % len(cities)
        self.starts = np.searchsorted(postings // 2 // len(cities), np.arange(len(self.keys) + 1))
        self.lengths, self.letters = _letter_counts(self.keys)

    def search(self, text: str, country: str | None = None, limit: int = 10) -> list[int]:
        """Ids ranked by relevance (exact before prefix, name before alternate name), then by size."""
        query = Query.parse(text)
        key = fold(query.name)
        if not key:
            return []
        country = country_code(country) if country else query.country
        rows, tiers = self._matches(query.name, key)
        if country:
            rows, tiers = _where(self.country[rows] == country, rows, tiers)
        if query.region and len(rows):
            region = fold(query.region)
            in_region = np.array([region in admin1 for admin1 in self.admin1])[self.admin1_code[rows]]
            if in_region.any():
                rows, tiers = _where(in_region, rows, tiers)
        order = np.lexsort((rows, -self.population[rows], tiers))[:limit]
        return self.ids[rows[order]].tolist()

    def exact(self, text: str) -> list[int]:
        """Places whose name or alternate name is exactly the query (with its country and region, if given)."""
        ranked = self.search(text, limit=100)
        rows, alternate = self._postings([self._exact(k) for k in name_keys(Query.parse(text).name)])
        by_name, by_alternate = set(self.ids[rows[alternate == 0]]), set(self.ids[rows[alternate == 1]])
        return [gid for gid in ranked if gid in by_name] or [gid for gid in ranked if gid in by_alternate]

    def suggest(self, text: str, limit: int = 5) -> list[int]:
        """Close spellings, for a query that matched nothing."""
        key = fold(Query.parse(text).name)
        if not key:
            return []
        close = get_close_matches(key, self._maybe_close(key), n=limit, cutoff=_CLOSE)
        rows = np.unique(self._postings([self._exact(k) for k in close])[0])
        return self.ids[rows[np.lexsort((rows, -self.population[rows]))][:limit]].tolist()

    def _matches(self, name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Cities whose keys equal or start with the query's, each with its best tier."""
        spans = [(self._exact(k), _EXACT) for k in name_keys(name)] + [(self._prefixed(key), _PREFIX)]
        rows, tiers = [], []
        for (start, end), tier in spans:
            rows.append(self.rows[start:end])
            tiers.append(self.alternate[start:end] + tier)
        rows, tiers = np.concatenate(rows), np.concatenate(tiers)
        order = np.lexsort((tiers, rows))
        rows, tiers = rows[order], tiers[order]
        first = np.ones(len(rows), bool)
        first[1:] = rows[1:] != rows[:-1]
        return rows[first], tiers[first]

    def _exact(self, key: str) -> tuple[int, int]:
        i = bisect.bisect_left(self.keys, key)
        found = i < len(self.keys) and self.keys[i] == key
        return (self.starts[i], self.starts[i + 1]) if found else (0, 0)

    def _prefixed(self, key: str) -> tuple[int, int]:
        low = bisect.bisect_left(self.keys, key)
        return self.starts[low], self.starts[bisect.bisect_left(self.keys, key + _AFTER_EVERY_PREFIXED, low)]

    def _postings(self, spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        if not spans:
            return np.zeros(0, np.int64), np.zeros(0, np.int8)
        return (np.concatenate([self.rows[a:b] for a, b in spans]),
                np.concatenate([self.alternate[a:b] for a, b in spans]))

    def _maybe_close(self, key: str) -> list[str]:
        """Keys that may be close spellings of key: difflib's ratio 2M/T cannot reach the cutoff when the
        characters the two share (counted in buckets: an upper bound of M) are too few. The same answers as
        get_close_matches over every key, in a few ms rather than a second."""
        query = np.bincount(_buckets(key), minlength=_BUCKETS).astype(np.uint8)
        shared = np.minimum(self.letters, query).sum(axis=1, dtype=np.int32)
        possible = 2 * shared >= _CLOSE * (self.lengths + len(key)) - 1e-9
        possible |= self.lengths > 255  # their counts saturate: never excluded
        return [self.keys[i] for i in np.flatnonzero(possible)]


def _where(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(array[mask] for array in arrays)


def _keys(cities: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every non-empty key (folded name, transliterated name, folded alternate names), the row of its city and
    whether it is an alternate name."""
    names = cities["name"].tolist()
    alternates = cities["alternate_names"]
    keys = (fold_many(names) + fold_many([anyascii(name) for name in names])
            + fold_many([alt for values in alternates for alt in values]))
    every = np.arange(len(names))
    rows = np.concatenate([every, every, np.repeat(every, alternates.map(len).to_numpy(np.int64))])
    alternate = (np.arange(len(rows)) >= 2 * len(names)).astype(np.int64)
    named = np.array([bool(key) for key in keys])  # a name of punctuation alone folds to nothing
    return [key for key in keys if key], rows[named], alternate[named]


def _sorted_codes(keys: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct keys, sorted as Python sorts them (UTF-8 byte order is code point order), and the position
    of each given key among them."""
    encoded = pc.dictionary_encode(pa.array(keys, pa.string()))
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return encoded.dictionary.take(order).to_pylist(), rank[encoded.indices.to_numpy()].astype(np.int64)


def _buckets(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32) % _BUCKETS


def _letter_counts(keys: list[str], chunk: int = 16_384) -> tuple[np.ndarray, np.ndarray]:
    """Length of each key and how many of its characters fall into each bucket (saturating at 255); counted
    a chunk of keys at a time, which keeps bincount's array small."""
    lengths = np.fromiter(map(len, keys), np.int64, len(keys))
    counts = np.empty((len(keys), _BUCKETS), np.uint8)
    for start in range(0, len(keys), chunk):
        part = lengths[start:start + chunk]
        cells = np.repeat(np.arange(len(part)), part) * _BUCKETS + _buckets("".join(keys[start:start + chunk]))
        counted = np.bincount(cells, minlength=len(part) * _BUCKETS).reshape(len(part), _BUCKETS)
        counts[start:start + chunk] = np.minimum(counted, 255)
    return lengths, counts
