"""The text that describes a city to the sentence-embedding model."""

from __future__ import annotations

from collections.abc import Mapping

from matcher.sources.profiles import vocabulary

NAMED_MIN_POPULATION = 100_000  # smaller places are described without their name: the model knows few of them

_CLIMATE = {"A": "tropical", "B": "arid", "C": "temperate", "D": "continental", "E": "polar"}
_CLIMATE_DETAIL = {"f": "humid", "m": "monsoon", "w": "dry-winter", "s": "dry-summer", "W": "desert",
                   "S": "steppe", "T": "tundra", "F": "ice-cap"}


def climate_words(code: str | None) -> str:
    if not isinstance(code, str) or not code:
        return ""
    detail = _CLIMATE_DETAIL.get(code[1], "") if len(code) > 1 else ""
    return " ".join(word for word in (detail, _CLIMATE.get(code[0], "")) if word) + " climate"


def size_words(population: int) -> str:
    if population >= 5_000_000:
        return "a metropolis"
    if population >= 1_000_000:
        return "a major city"
    if population >= 250_000:
        return "a large city"
    if population >= 50_000:
        return "a city"
    return "a town" if population >= 5_000 else "a small town"


def generated_text(city: Mapping, country_name: str) -> str:
    """A description from structured fields, for cities without a curated profile."""
    named = city["population"] >= NAMED_MIN_POPULATION
    where = ", ".join(part for part in (city.get("admin1"), country_name) if isinstance(part, str) and part)
    parts = [f"{city['name'] if named else 'This place'} is {size_words(city['population'])} in {where}"
             f" ({city.get('subregion') or 'the world'})."]
    if city.get("is_capital"):
        parts.append("It is the national capital.")
    elif city.get("is_admin_seat"):
        parts.append("It is a seat of regional government.")
    if city.get("harbour_size", 0) >= 3:
        parts.append("It has a major seaport.")
    elif city.get("harbour_size", 0) > 0:
        parts.append("It has a harbour.")
    if city.get("airport") == "major":
        parts.append("It has a major international airport.")
    if climate := climate_words(city.get("climate")):
        parts.append(f"It has a {climate}.")
    return " ".join(parts)


def curated_text(profile: dict) -> str:
    industries, themes = vocabulary("industries"), vocabulary("themes")
    known_for = ", ".join(industries[i].label.lower() for i in profile["industries"])
    character = ", ".join(themes[t].label.lower() for t in profile["themes"])
    return f"{profile['name']}. {profile['description']} Known for {known_for}. Character: {character}."
