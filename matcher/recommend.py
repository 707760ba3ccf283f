"""Suggestions for a city: filter the catalogue, shortlist, score both sides, diversify, explain."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from babel import Locale

from matcher import explain
from matcher.features import FEATURES, CitySide, Graph, Query, pair_features
from matcher.rank import PartnerRanker
from matcher.sources.profiles import vocabulary
from matcher.table import CityTable

INTENT_WEIGHT = 1.0  # how much a free-text intent moves the score, in standard deviations of intent similarity


@dataclass
class Filters:
    countries: list[str] = field(default_factory=list)
    exclude_countries: list[str] = field(default_factory=list)
    continents: list[str] = field(default_factory=list)
    min_population: int | None = None
    max_population: int | None = None
    industries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    intent: str | None = None
    diversity: float = 0.0  # 0: no limit per country; 1: at most one suggestion per country


@dataclass
class Suggestion:
    geonameid: int
    score: float
    reasons: list[str]
    contributions: dict[str, float]


class Recommender:
    def __init__(self, table: CityTable, graph: Graph, ranker: PartnerRanker, embed_text=None,
                 min_language_share: float = 0.05):
        self.table, self.graph, self.ranker = table, graph, ranker
        self.embed_text = embed_text  # str -> unit vector, for intents
        self.pool = table.cities["in_default_pool"].to_numpy(bool)
        self.population = table.cities["population"].to_numpy()
        self.country_codes = np.array(table.countries.codes)
        self.min_language_share = min_language_share
        self.language_position = {lang: i for i, lang in enumerate(table.countries.languages)}

    # -- entry points -------------------------------------------------------------------------------
    def for_city(self, geonameid: int, k: int = 10, filters: Filters | None = None) -> list[Suggestion]:
        position = self.table.position[geonameid]
        return self.recommend(self.table.query(position, self.graph), k, filters or Filters())

    def known_partners(self, geonameid: int) -> list[int]:
        return sorted(int(self.table.ids[p]) for p in self.graph.neighbours(self.table.position[geonameid]))

    # -- the pipeline -------------------------------------------------------------------------------
    def candidate_mask(self, query: Query, filters: Filters) -> np.ndarray:
        side, cities = self.table.side, self.table.cities
        mask = self.pool.copy()
        mask[query.partners] = False
        if query.position is not None:
            mask[query.position] = False
        country = self.country_codes[side.country]
        if filters.countries:
            mask &= np.isin(country, filters.countries)
        if filters.exclude_countries:
            mask &= ~np.isin(country, filters.exclude_countries)
        if filters.continents:
            mask &= cities["continent"].isin(filters.continents).to_numpy()
        if filters.min_population is not None:
            mask &= self.population >= filters.min_population
        if filters.max_population is not None:
            mask &= self.population <= filters.max_population
        for kind, wanted in (("industries", filters.industries), ("themes", filters.themes)):
            if wanted:
                vocab = sorted(vocabulary(kind))
                columns = [vocab.index(term) for term in wanted]
                mask &= getattr(side, kind)[:, columns].all(axis=1)
        if filters.languages:
            columns = [self.language_position[lang] for lang in filters.languages if lang in self.language_position]
            speaks = self.table.countries.language_share[:, columns] >= self.min_language_share
            mask &= speaks.any(axis=1)[side.country] if columns else False
        return mask

    def recommend(self, query: Query, k: int, filters: Filters) -> list[Suggestion]:
        positions = np.flatnonzero(self.candidate_mask(query, filters))
        if not len(positions):
            return []
        candidates = self.table.side.take(positions)
        features = pair_features(query, candidates, positions, self.graph, self.table.countries)
        cheap = self.ranker.prefilter_scores(features)
        intent = self._intent_similarity(filters.intent, candidates)
        if intent is not None:
            cheap = _standardise(cheap) + INTENT_WEIGHT * _standardise(intent)
        shortlist = np.argsort(-cheap)[: self.ranker.shortlist]
        scores = self.ranker.score(features[shortlist])
        if intent is not None:
            scores = scores + INTENT_WEIGHT * scores.std() * _standardise(intent[shortlist])
        order = shortlist[np.argsort(-scores)]
        chosen = _diversify(order, self.table.side.country[positions], k, filters.diversity)
        final = dict(zip(shortlist, scores))
        contributions = self.ranker.contributions(features[chosen]) if chosen else np.zeros((0, len(FEATURES)))
        return [self._suggestion(query, positions[i], final[i], features[i], contributions[n])
                for n, i in enumerate(chosen)]

    # -- helpers ------------------------------------------------------------------------------------
    def _intent_similarity(self, intent: str | None, candidates: CitySide) -> np.ndarray | None:
        if not intent or not intent.strip() or self.embed_text is None:
            return None
        return candidates.embedding @ self.embed_text(intent.strip()[:1000])

    def _suggestion(self, query: Query, position: int, score: float, features: np.ndarray,
                    contributions: np.ndarray) -> Suggestion:
        a, b = self.city_record_at(query.position), self.city_record_at(position)
        ca, cb = query.side.country[0], self.table.side.country[position]
        countries = self.table.countries
        common = np.intersect1d(self.graph.neighbours(position), query.partners)
        context = {
            "country_names": countries.names,
            "born_b_in_a": float(countries.born_in_living_in[cb, ca]),
            "born_a_in_b": float(countries.born_in_living_in[ca, cb]),
            "common_partners": [self.table.cities["name"].iat[p] for p in common],
            "shared_languages": self.shared_languages(ca, cb),
        }
        return Suggestion(int(self.table.ids[position]), round(float(score), 4),
                          explain.reasons(a, b, features, contributions, context),
                          {name: round(float(v), 4) for name, v in zip(FEATURES, contributions)})

    def city_record_at(self, position: int) -> dict:
        gid = int(self.table.ids[position])
        row = self.table.cities.iloc[position]
        record = {"geonameid": gid, "name": row["name"], "country": row["country"],
                  "population": int(row["population"]), "climate": row["climate"]}
        return {**record, **{key: value for key, value in self.table.profiles.get(gid, {}).items()
                             if key in ("industries", "themes", "diaspora")}}

    def shared_languages(self, ca: int, cb: int) -> list[str]:
        shares = self.table.countries.language_share
        both = np.minimum(shares[ca], shares[cb])
        langs = self.table.countries.languages
        english = Locale("en")
        return [english.languages.get(langs[i], langs[i]) for i in np.argsort(-both)[:3] if both[i] >= 0.1]


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def _diversify(order: np.ndarray, country: np.ndarray, k: int, diversity: float) -> list[int]:
    """Top k, with at most ceil(k * (1 - diversity)) suggestions from any one country."""
    cap = max(1, math.ceil(k * (1 - diversity))) if diversity > 0 else k
    chosen, per_country = [], {}
    for i in order:
        c = country[i]
        if per_country.get(c, 0) < cap:
            chosen.append(int(i))
            per_country[c] = per_country.get(c, 0) + 1
            if len(chosen) == k:
                break
    return chosen
