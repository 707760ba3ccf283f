"""Resolve a place as people write it (name, country string, rough coordinates) to a GeoNames id."""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
import pandas as pd
from sklearn.neighbors import BallTree

from matcher.geo import EARTH_RADIUS_KM, haversine_km, valid_coordinates
from matcher.sources.countries import country_code, region_hint
from matcher.text import fold, fold_ascii, name_keys

NEAR_KM = 30.0            # a name match this close to the given coordinates is taken
PARENT_KM = 50.0          # a district's namesake farther than this, where its town is within it, is not the district
NEARBY_FUZZY_KM = 12.0    # how far to look for a similarly spelled place around the coordinates
DOMINANCE = 5.0           # a namesake this many times larger than the next is taken when coordinates don't help

REJECT_REASONS = ("unknown country", "no such place", "ambiguous", "not a city", "self-pair")
LOCAL_ID_BASE = 2_000_000_000  # ids of places the gazetteer lacks (villages, municipalities): far above GeoNames'

# Last words that name an administrative area rather than a town.
_AREA_WORDS = {"county", "prefecture", "province", "region", "oblast", "governorate", "voivodeship",
               "department", "departement", "canton", "state", "raion", "rayon", "krai", "kray", "okrug",
               "emirate", "island", "islands", "shire", "parish", "republic"}
# Last words that can be dropped from a town's name ('Quezon City' is in the gazetteer, 'Dębica gmina' is not).
_TOWN_WORDS = {"city", "town", "municipality", "borough", "township", "district", "gmina", "village",
               "rural", "urban", "commune", "ward", "ku", "gu", "shi", "si", "qu", "xian"}
_DASH = re.compile(r"\s+[–—-]\s+")
_ROMAN_OR_NUMBER = re.compile(r"\s+([ivxlc]+|\d+)\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Resolution:
    geonameid: int | None
    reason: str | None = None  # one of REJECT_REASONS when geonameid is None
    method: str = ""           # how it was found: near, unique, largest, hint, parent, nearby, other-country,
                               # new-place (a place the gazetteer lacks, named `name`)
    name: str | None = None


def local_place_id(country: str, name: str) -> int:
    """Stable id for a place missing from the gazetteer, the same wherever it is named (link table or profile)."""
    return LOCAL_ID_BASE + zlib.crc32(f"{country}:{fold(name)}".encode()) % 100_000_000


def strip_town_word(key: str) -> str:
    """'yongin si' -> 'yongin', 'quezon city' -> 'quezon'; other keys unchanged."""
    words = key.split()
    return " ".join(words[:-1]) if len(words) > 1 and words[-1] in _TOWN_WORDS else key


def _similarity(query: str, target: str) -> float:
    """Spelling similarity of two folded names; one name inside the other ('bad kotzting'/'kotzting') counts high."""
    q, t = set(query.split()), set(target.split())
    extra = (q - t) | (t - q)
    if q & t and (q <= t or t <= q) and len(extra) == 1 and len(next(iter(extra))) <= 4:
        return 0.9  # a short prefix or suffix word: 'Bad Kötzting' / 'Kötzting', 'Le Mont-Dore' / 'Mont-Dore'
    return SequenceMatcher(None, query, target).ratio()


@dataclass(frozen=True)
class _Query:
    names: tuple[str, ...]     # spellings to try, best first
    hint: str | None           # a region or parent town that narrows the choice
    parent: str | None         # the town a district belongs to, tried last
    area: bool                 # the name reads like an administrative area

    @property
    def core(self) -> str:
        """The plainest spelling: no parenthesis, no region after a comma."""
        return next((n for n in self.names if "(" not in n and "," not in n), self.names[-1])


def parse_name(raw: str) -> _Query:
    """Split 'Berlin – Mitte', 'Samuel (Soure)', 'Suzhou, Jiangsu', 'Osaka Prefecture' into what to try."""
    raw = " ".join(str(raw).split())
    names, hint, parent = [raw], None, None
    if parts := _DASH.split(raw, maxsplit=1):
        if len(parts) == 2:
            parent = _ROMAN_OR_NUMBER.sub("", parts[0]).strip()
            names = [parts[1], raw]
            hint = parent
    if match := re.fullmatch(r"(.+?)\s*\((.+)\)", raw):
        base, inner = match.group(1).strip(), match.group(2).strip()
        names = [raw, base]
        hint = parent = inner
    elif "," in raw:
        base, _, rest = raw.partition(",")
        names, hint = [raw, base.strip()], rest.strip()
    words = fold(names[0]).split()
    area = len(words) > 1 and (words[-1] in _AREA_WORDS or words[0] in _AREA_WORDS)
    for name in list(names):
        words = fold(name).split()
        if len(words) > 1 and words[-1] in _TOWN_WORDS:
            names.append(" ".join(words[:-1]))
        if "-" in name and parent:  # 'Charlottenburg-Wilmersdorf': either half is the district's core
            names.extend(part for part in name.split("-") if len(part) > 3)
    return _Query(tuple(dict.fromkeys(names)), hint, parent if parent != raw else None, area)


class Resolver:
    """Name index over the gazetteer with coordinate- and size-aware choice among namesakes."""

    def __init__(self, places: pd.DataFrame, admin1_names: dict[tuple[str, str], str] | None = None,
                 allow_new_places: bool = True):
        # A name the gazetteer lacks, with a country and coordinates, becomes a new local place
        # (a village under 500 people, a municipality): see local_place_id.
        self.allow_new_places = allow_new_places
        self.alternates = places["alternate_names"].to_numpy()
        self.ids = places["geonameid"].to_numpy()
        self.countries = places["country"].to_numpy()
        self.lat = places["latitude"].to_numpy(float)
        self.lon = places["longitude"].to_numpy(float)
        self.population = places["population"].to_numpy()
        self.names = places["name"].to_numpy()
        admin1_names = admin1_names or {}
        self.admin1 = np.array([fold(admin1_names.get((c, a), "")) for c, a in
                                zip(places["country"], places["admin1_code"])], dtype=object)
        self.position = {gid: i for i, gid in enumerate(self.ids)}
        index: dict[str, list[int]] = defaultdict(list)
        for i, (name, ascii_name, alternates) in enumerate(zip(
                places["name"], places["asciiname"], places["alternate_names"])):
            keys = name_keys(name) | {fold(ascii_name)} | {fold(alt) for alt in alternates}
            for key in keys | {strip_town_word(key) for key in keys}:
                if key:
                    index[key].append(i)
        self.index = {key: np.array(rows) for key, rows in index.items()}
        self.tree = BallTree(np.radians(np.c_[self.lat, self.lon]), metric="haversine")

    # -- public -------------------------------------------------------------------------------------
    def resolve(self, name: str, country: str | None = None, lat: float | None = None,
                lon: float | None = None) -> Resolution:
        """Resolve one place; `country` is a free-form country string or ISO2 code."""
        iso2 = country_code(country) if country else None
        query = parse_name(name)
        hint = query.hint or (region_hint(country) if country else None)
        coords = (float(lat), float(lon)) if valid_coordinates(lat, lon) else None
        if iso2 is None and country and coords is None:
            return Resolution(None, "unknown country")
        if query.area:  # 'Osaka Prefecture', 'Maui County': only a place of exactly that name will do
            exact = self._by_name(query.names[:1], iso2, coords, hint)
            return exact if exact.geonameid is not None else Resolution(None, "not a city")
        found = self._by_name(query.names, iso2, coords, hint)
        if found.geonameid is None and found.reason != "ambiguous" and coords:
            found = self._nearby(query.names, iso2, coords) or found
        if query.parent and ((found.geonameid is None and found.reason != "ambiguous") or self._far(found, coords)):
            parent = self._by_name(parse_name(query.parent).names, iso2, coords, None)
            if parent.geonameid is not None and (found.geonameid is None or not self._far(parent, coords)):
                found = Resolution(parent.geonameid, method="parent")
        if found.geonameid is None:
            if iso2 is None and country:
                return Resolution(None, "unknown country")
            if found.reason == "no such place" and iso2 and coords and self.allow_new_places:
                if strip_town_word(fold(query.core)) != fold(query.core):
                    return Resolution(None, "not a city")  # an unknown 'X District' or 'Y Municipality'
                return Resolution(local_place_id(iso2, query.core), method="new-place", name=query.core)
        return found

    def candidates(self, name: str, country: str | None = None) -> list[int]:
        """Every place a name may mean, largest first (for listing namesakes to a person)."""
        iso2 = country_code(country) if country else None
        rows = self._rows(parse_name(name).names[:2], iso2)
        return [int(self.ids[i]) for i in rows[np.argsort(-self.population[rows])]]

    # -- steps --------------------------------------------------------------------------------------
    def _rows(self, names, iso2: str | None) -> np.ndarray:
        for name in names:
            rows = np.unique(np.concatenate([self.index.get(key, np.empty(0, int)) for key in name_keys(name)]))
            rows = rows.astype(int)
            if iso2 is not None:
                rows = rows[self.countries[rows] == iso2]
            if len(rows):
                return rows
        return np.empty(0, int)

    def _by_name(self, names, iso2, coords, hint) -> Resolution:
        rows = self._rows(names, iso2)
        if not len(rows) and coords:  # the country string may be wrong (overseas territories, typos)
            rows = self._rows(names, None)
            rows = rows[self._distance(rows, coords) <= NEAR_KM]
            if len(rows):
                return Resolution(int(self.ids[rows[np.argmax(self.population[rows])]]), method="other-country")
        if not len(rows):
            return Resolution(None, "no such place")
        return self._choose(rows, coords, hint)

    def _choose(self, rows: np.ndarray, coords, hint) -> Resolution:
        if coords:
            distance = self._distance(rows, coords)
            near = distance <= NEAR_KM
            if near.any():
                close = rows[near & (distance <= distance[near].min() + 10)]
                return Resolution(int(self.ids[close[np.argmax(self.population[close])]]), method="near")
        method = "unique"
        if hint and len(rows) > 1:
            hinted = rows[[bool(self.admin1[i]) and fold(hint) in self.admin1[i] for i in rows]]
            if len(hinted):
                rows, method = hinted, "hint"
        if len(rows) == 1:
            return Resolution(int(self.ids[rows[0]]), method=method)
        order = rows[np.argsort(-self.population[rows])]
        if self.population[order[0]] >= DOMINANCE * max(self.population[order[1]], 1):
            return Resolution(int(self.ids[order[0]]), method="largest")
        return Resolution(None, "ambiguous")

    def _nearby(self, names, iso2, coords) -> Resolution | None:
        """A place around the coordinates spelled almost the same ('Sankt Pölten' vs 'St. Polten')."""
        found = self.tree.query_radius(np.radians([coords]), r=NEARBY_FUZZY_KM / EARTH_RADIUS_KM)[0]
        if iso2 is not None:
            found = found[self.countries[found] == iso2]
        best, best_score = None, 0.0
        queries = {fold_ascii(name) for name in names}
        for i in found:
            targets = {fold_ascii(self.names[i])} | {fold(alt) for alt in self.alternates[i][:30]}
            score = max(_similarity(q, t) for q in queries for t in targets if t)
            if score > best_score:
                best, best_score = i, score
        if best is not None and best_score >= 0.85:
            return Resolution(int(self.ids[best]), method="nearby")
        return None

    def _far(self, found: Resolution, coords) -> bool:
        """Whether a place found lies more than PARENT_KM from the given coordinates: 'Perovo (Moscow)' matched only
        a Perovo 3,500 km away, 'Tokyo – Shinagawa' a Shinagawa in Ehime; their towns lie at the coordinates."""
        if found.geonameid is None or coords is None:
            return False
        return bool(self._distance(np.array([self.position[found.geonameid]]), coords)[0] > PARENT_KM)

    def _distance(self, rows: np.ndarray, coords) -> np.ndarray:
        return haversine_km(coords[0], coords[1], self.lat[rows], self.lon[rows])
