"""What routes depend on: the loaded service, the API key check, a city named by its id, the filters."""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from pydantic import ValidationError

from api.errors import ApiError
from api.schemas import MAX_POPULATION, FilterFields, Recommendations
from api.settings import Settings
from matcher.engine import Engine
from matcher.lookup import CityRecords, build_summary, check_filters, suggestion_records
from matcher.recommend import Filters
from matcher.search import CityIndex
from matcher.store import Build


class Answers:
    """The last `size` answers by request, as JSON bytes (k=100 is about 150 kB): the engine is read-only, so an
    answer cannot change while the process lives. Two threads missing the same request both compute it."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple, compute: Callable[[], bytes]) -> bytes:
        if not self.size:
            return compute()
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        answer = compute()
        with self.lock:
            self.items[key] = answer
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return answer


@dataclass
class Service:
    """Everything a request reads, loaded once: the engine, city records, the name index, the build's summary."""
    engine: Engine
    records: CityRecords
    index: CityIndex
    meta: dict
    answers: Answers

    @classmethod
    def of(cls, engine: Engine, cache_size: int = 0) -> "Service":
        cities = engine.table.cities
        return cls(engine, CityRecords(cities), CityIndex(cities), build_summary(engine.build, engine.ranker),
                   Answers(cache_size))

    @classmethod
    def open(cls, settings: Settings) -> "Service":
        return cls.of(Engine.open(Build.open(settings.matcher_home), n_jobs=settings.threads), settings.cache_size)

    def city_recommendations(self, gid: int, k: int, fields: FilterFields) -> Response:
        """Suggestions for a city of the catalogue, from the cache of answers when the same request was made."""
        def compute() -> bytes:
            suggestions = self.engine.recommender.for_city(gid, k, self.filters(fields))
            answer = {"query": {**self.cities([gid])[0], "k": k, "filters": fields},
                      "known_partners": self.engine.recommender.known_partners(gid),
                      "results": self.results(suggestions)}
            return Recommendations.model_validate(answer).model_dump_json().encode()  # pydantic's encoder: 3x faster

        return Response(self.answers.get((gid, k, fields.model_dump_json()), compute), media_type="application/json")

    def cities(self, ids) -> list[dict]:
        return self.records.of(ids)

    def results(self, suggestions: list) -> list[dict]:
        return suggestion_records(self.records, suggestions)

    def filters(self, fields: FilterFields) -> Filters:
        """The recommender's filters; InputError (a 422) for values the catalogue does not know."""
        filters = fields.filters()
        check_filters(filters, self.engine.table.countries)
        return filters


def warm_embedder(engine: Engine) -> None:
    """Load the sentence model that embeds intents and described cities (numpy weights, under a second), which
    the first such request would otherwise wait for."""
    engine.recommender.embed_text("warm-up")


# The dependencies are `async`: cheap, they run on the event loop. A plain `def` would be sent to the thread pool,
# one hop each, and wait there behind the requests being computed (`Settings.concurrency` at a time).


async def service(request: Request) -> Service:
    loaded = request.app.state.service
    if loaded is None:
        raise ApiError(503, "the catalogue and model are still loading: try again in a few seconds")
    return loaded


ServiceDep = Annotated[Service, Depends(service)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="Needed only where the deployment configured API keys.")


async def require_api_key(request: Request, key: Annotated[str | None, Security(_api_key)]) -> None:
    keys = request.app.state.settings.api_keys
    given = (key or "").encode()
    if keys and not any(secrets.compare_digest(given, k.get_secret_value().encode()) for k in keys):
        raise ApiError(401, "an API key is needed: send it in the X-API-Key header")


_ID = re.compile(r"[0-9]{1,18}")
PORTLAND, SAPPORO, PARIS = "5746545", "2128295", "2988507"  # examples in the OpenAPI description


def resolve_city(text: str, loaded: Service) -> int:
    """A GeoNames id in the catalogue; anything else is a 404, with close matches when a name was given."""
    text = text.strip()
    if _ID.fullmatch(text):
        if int(text) not in loaded.engine.table.position:
            raise ApiError(404, f"no city with GeoNames id {text} in the catalogue: search /v1/cities?q=NAME")
        return int(text)
    close = loaded.index.search(text, limit=5) or loaded.index.suggest(text)
    raise ApiError(404, f"{text[:100]!r} is not a GeoNames id: use the geonameid of one of the matches, "
                        "or search /v1/cities?q=NAME", matches=loaded.cities(close))


async def city_id(loaded: ServiceDep,
                  geonameid: Annotated[str, Path(description="A GeoNames id (a name gets a 404 with close matches).",
                                                 max_length=200, examples=[PORTLAND])]) -> int:
    return resolve_city(geonameid, loaded)


def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part.strip()]


def _listed(description: str):
    return Query(max_length=2000, description=f"{description}, comma-separated.")


async def filter_query(
    countries: Annotated[str, _listed("Only these countries: ISO2 codes")] = "",
    exclude_countries: Annotated[str, _listed("Not these countries: ISO2 codes")] = "",
    continents: Annotated[str, _listed("Only these continents: AF, AN, AS, EU, NA, OC, SA")] = "",
    min_population: Annotated[int | None, Query(ge=0, le=MAX_POPULATION)] = None,
    max_population: Annotated[int | None, Query(ge=0, le=MAX_POPULATION)] = None,
    industries: Annotated[str, _listed("Industry ids a suggestion must all have")] = "",
    themes: Annotated[str, _listed("Theme ids a suggestion must all have")] = "",
    languages: Annotated[str, _listed("ISO 639 codes, one of which is spoken there")] = "",
    intent: Annotated[str | None, Query(max_length=1000, description="What the city looks for, in words.")] = None,
    diversity: Annotated[float, Query(ge=0.0, le=1.0, description="0: no limit per country; 1: one each.")] = 0.0,
) -> FilterFields:
    try:
        return FilterFields(countries=_split(countries), exclude_countries=_split(exclude_countries),
                            continents=_split(continents), min_population=min_population,
                            max_population=max_population, industries=_split(industries), themes=_split(themes),
                            languages=_split(languages), intent=intent, diversity=diversity)
    except ValidationError as exc:  # too many items in a list: a 422 like any other invalid parameter
        raise RequestValidationError(exc.errors(include_url=False)) from None
