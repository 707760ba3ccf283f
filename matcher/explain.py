"""Plain-language reasons for a suggestion, from the features that pushed its score up."""

from __future__ import annotations

import re

import numpy as np

from matcher.citytext import climate_words
from matcher.features import COLUMN, FEATURES, INCOME_LEVELS, as_count
from matcher.sources.profiles import vocabulary

# Features that tell one story together.
CONCEPTS = {
    "industries": ["shared_industries", "industry_jaccard"],
    "themes": ["shared_themes", "theme_jaccard"],
    "text": ["embedding_similarity"],
    "diaspora": ["born_there_here_a", "born_there_here_b", "born_there_share_a", "born_there_share_b",
                 "lists_diaspora_a", "lists_diaspora_b"],
    "network": ["common_partners", "adamic_adar"],
    "chain": ["partner_chains"],
    "country_pair": ["country_pair_links", "country_pair_lift"],
    "partner_country": ["partners_in_country_a", "partners_in_country_b"],
    "partner_nearby": ["partner_distance_a", "partner_distance_b"],
    "size": ["log_pop_a", "log_pop_b", "pop_ratio", "partner_size_gap_a", "partner_size_gap_b",
             "country_pair_size_gap_a", "country_pair_size_gap_b"],
    "distance": ["log_distance", "same_country", "same_continent", "same_subregion", "neighbours", "lat_gap"],
    "language": ["language_overlap", "shared_official"],
    "climate": ["same_climate", "same_climate_group"],
    "ports": ["harbour_a", "harbour_b", "both_ports"],
    "status": ["capital_a", "capital_b", "admin_seat_a", "admin_seat_b", "airport_a", "airport_b"],
    "development": ["income_a", "income_b", "income_gap", "growth_a", "growth_b"],
    "activity": ["degree_a", "degree_b"],
}
SIMILAR_SIZE = np.log10(2)  # populations within a factor of two read as similar (3x did not: 345k and 1.0M)


def _people(count: float) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} million"
    if count >= 10_000:
        return f"{round(count, -3):,.0f}"
    return f"{round(count, -2):,.0f}"


# Country names read with "the" in a sentence: plurals and names built on a common noun (GeoNames writes
# "The Netherlands" but "United States", "Philippines").
_WITH_ARTICLE = re.compile(r"^(The|Bahamas|Gambia|Maldives|Philippines|Seychelles|Comoros|Vatican)\b"
                           r"|\b(Islands|Republic|United|Territory|Territories|Kingdom|States|Emirates|Antilles)\b")


def country_in_sentence(name: str) -> str:
    """'United States' -> 'the United States', 'The Netherlands' -> 'the Netherlands', 'Japan' -> 'Japan'."""
    name = name.strip()
    if not _WITH_ARTICLE.search(name):
        return name
    return "the " + name.removeprefix("The ")


def _short(population: int) -> str:
    return f"{population / 1e6:.1f}M" if population >= 1e6 else f"{population / 1e3:.0f}k"


def _labels(ids: set[str], kind: str) -> str:
    """'software and IT, biotechnology and life sciences': labels keep their own 'and', so commas join them."""
    terms = vocabulary(kind)
    labels = [terms[i].label for i in sorted(ids)][:3]
    return ", ".join(label[0].lower() + label[1:] for label in labels)


_MEMBERS = np.array([[name in features for name in FEATURES] for features in CONCEPTS.values()], float)


def concept_scores(contributions: np.ndarray) -> dict[str, float]:
    return dict(zip(CONCEPTS, (_MEMBERS @ contributions).tolist()))


def reasons(a: dict, b: dict, features: np.ndarray, contributions: np.ndarray, context: dict,
            limit: int = 4) -> list[str]:
    """Up to `limit` sentences, strongest first, for the concepts that raised the score and can be told.

    `a` and `b` are city records (name, country, population, curated fields); `context` carries country names,
    migrant stocks and the names of common partners.
    """
    scored = sorted(concept_scores(contributions).items(), key=lambda kv: -kv[1])
    out = []
    for concept, value in scored:
        if value <= 0 or len(out) >= limit:
            break
        if sentence := _sentence(concept, a, b, features, context):
            out.append(sentence)
    if len(out) < 2:  # always say something concrete, even when the push came from many small things
        for concept in ("size", "distance", "language", "climate"):
            sentence = _sentence(concept, a, b, features, context, fallback=True)
            if sentence and sentence not in out:
                out.append(sentence)
            if len(out) >= 2:
                break
    return out


NEARBY_PARTNER_KM = 150  # a partner farther away than this is not news to a planner
ACTIVE_PARTNERS = 5  # fewer partners than this are common: not worth telling
INCOME_WORDS = {level: group.lower().replace(" income", "-income").replace(" ", "-")
                for group, level in INCOME_LEVELS.items()}  # 2 -> 'upper-middle-income'


def _partner_nearby(a: dict, b: dict, ctx: dict) -> str | None:
    """The nearer of: B's partner closest to A, A's partner closest to B (context: (name, km) or None)."""
    of_b, of_a = ctx.get("b_partner_near_a"), ctx.get("a_partner_near_b")
    if of_b and (not of_a or of_b[1] <= of_a[1]) and of_b[1] <= NEARBY_PARTNER_KM:
        return f"already twinned with {of_b[0]}, {_km(of_b[1])} from {a['name']}"
    if of_a and of_a[1] <= NEARBY_PARTNER_KM:
        return f"{_km(of_a[1])} from {a['name']}'s partner {of_a[0]}"
    return None


def _km(km: float) -> str:
    return "under 5 km" if km < 5 else f"{km:,.0f} km"


def _sentence(concept: str, a: dict, b: dict, f: np.ndarray, ctx: dict, fallback: bool = False) -> str | None:
    value = lambda name: f[COLUMN[name]]  # noqa: E731 - a local reader
    count = lambda name: int(as_count(value(name)))  # noqa: E731 - a local reader
    country = lambda code: country_in_sentence(ctx["country_names"][code])  # noqa: E731 - a local reader
    if concept == "industries":
        shared = set(a.get("industries", [])) & set(b.get("industries", []))
        return f"both known for {_labels(shared, 'industries')}" if shared else None
    if concept == "themes":
        shared = set(a.get("themes", [])) & set(b.get("themes", []))
        return f"shared character: {_labels(shared, 'themes')}" if shared else None
    if concept == "text":
        return "their profiles read alike" if value("embedding_similarity") > 0.5 else None
    if concept == "diaspora":
        if a["country"] == b["country"]:
            return None
        here, there = ctx["born_b_in_a"], ctx["born_a_in_b"]
        if max(here, there) < 1_000:
            return None
        if here >= there:
            return f"about {_people(here)} people born in {country(b['country'])} live in {country(a['country'])}"
        return f"about {_people(there)} people born in {country(a['country'])} live in {country(b['country'])}"
    if concept == "network":
        common = ctx.get("common_partners") or []
        if not common:
            return None
        listed = " and ".join(common[:2])
        more = f" (and {len(common) - 2} more)" if len(common) > 2 else ""
        return f"partners of your partner{'s' if len(common) > 1 else ''} {listed}{more}"
    if concept == "chain":  # the context names a chain only where no partner is shared
        if not (chain := ctx.get("partner_chain")):
            return None
        return f"{a['name']}'s partner {chain[0]} is twinned with {chain[1]}, a partner of {b['name']}"
    if concept == "country_pair":
        links = count("country_pair_links")
        if links < 3 or a["country"] == b["country"]:
            return None
        return f"cities of {country(a['country'])} and {country(b['country'])} often twin ({links} known partnerships)"
    if concept == "partner_country":
        if a["country"] == b["country"]:
            return None
        # A's partners in B's country first; for a city seeking its first partner, B's in A's country
        for city, other, side in ((a, b, "a"), (b, a, "b")):
            if partners := count(f"partners_in_country_{side}"):
                return f"{city['name']} already has {partners} partner{'s' if partners > 1 else ''} in " \
                       f"{country(other['country'])}"
        return None
    if concept == "activity":  # B's readiness to twin; A's own is no reason to pick B
        partners = count("degree_b")
        return f"{b['name']} is active in twinning ({partners} partner cities)" if partners >= ACTIVE_PARTNERS else None
    if concept == "partner_nearby":
        return _partner_nearby(a, b, ctx)
    if concept == "development":  # told only where it is news: a shared income group across a border
        level = value("income_a")
        if a["country"] == b["country"] or np.isnan(level) or level != value("income_b"):
            return None
        return f"{country(a['country'])} and {country(b['country'])} are both {INCOME_WORDS[int(level)]} economies"
    if concept == "size":
        if not (a["population"] and b["population"]):
            return None  # a place known only from a link table: size unknown
        ratio = value("pop_ratio")
        if ratio > SIMILAR_SIZE and not fallback:
            return None
        return f"{'similar size' if ratio <= SIMILAR_SIZE else 'sizes'}: {_short(a['population'])} and " \
               f"{_short(b['population'])}"
    if concept == "distance":
        km = float(np.expm1(value("log_distance")))
        if value("neighbours"):
            return f"neighbouring countries, {km:,.0f} km apart"
        if value("same_country"):
            return f"in the same country, {km:,.0f} km apart"
        return f"{km:,.0f} km apart" if fallback or km < 1500 else None
    if concept == "language":
        shared = ctx.get("shared_languages") or []
        return f"a shared language: {', '.join(shared[:2])}" if shared else None
    if concept == "climate":
        if value("same_climate") == 1 and b.get("climate"):
            return f"the same {climate_words(b['climate'])}"
        return None
    if concept == "ports":
        return "both port cities" if value("both_ports") else None
    if concept == "status":
        if value("capital_a") and value("capital_b"):
            return "both national capitals"
        if (value("capital_a") or value("admin_seat_a")) and (value("capital_b") or value("admin_seat_b")):
            return "both seats of government"
        return None
    return None
