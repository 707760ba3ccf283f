"""Cities: search, full profile, known partners, and partner suggestions for a city of the catalogue."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import ServiceDep, city_id, filter_query
from api.errors import ApiError, documented
from api.schemas import CityDetails, CitySearch, FilterFields, Partners, Recommendations
from matcher.lookup import city_details, partners
from matcher.sources.countries import country_code

router = APIRouter(prefix="/cities", tags=["cities"])
CityId = Annotated[int, Depends(city_id)]


@router.get("", response_model=CitySearch, responses=documented(422),
            summary="Search by name, alternate name or prefix, accent-insensitively")
def search(
    loaded: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="'Portland', 'Portland, Maine', 'Mün'.")],
    country: Annotated[str | None, Query(max_length=100, description="ISO2 code or country name.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict:
    code = None
    if country and country.strip():
        if not (code := country_code(country)):
            raise ApiError(422, f"unknown country {country[:100]!r}: use an ISO2 code such as 'US' or a name")
    found = loaded.index.search(q, country=code, limit=limit)
    close = [] if found else loaded.index.suggest(q)
    return {"query": {"q": q, "country": code, "limit": limit},
            "results": loaded.cities(found), "suggestions": loaded.cities(close)}


@router.get("/{geonameid}", response_model=CityDetails, responses=documented(404, 422),
            summary="Full profile: structured fields, curated fields, known partners")
def city(loaded: ServiceDep, gid: CityId) -> dict:
    engine = loaded.engine
    return city_details(loaded.records, engine.table.cities, engine.build.pairs, engine.table.profiles, gid)


@router.get("/{geonameid}/partners", response_model=Partners, responses=documented(404, 422),
            summary="Known partners, each with the sources that list the partnership")
def city_partners(loaded: ServiceDep, gid: CityId) -> dict:
    return {"city": loaded.cities([gid])[0], "partners": partners(loaded.records, loaded.engine.build.pairs, gid)}


@router.get("/{geonameid}/recommendations", response_model=Recommendations, responses=documented(404, 422),
            summary="Suggested partners, best first, with reasons; known partners are never suggested")
def city_recommendations(
    loaded: ServiceDep, gid: CityId, fields: Annotated[FilterFields, Depends(filter_query)],
    k: Annotated[int, Query(ge=1, le=100, description="How many suggestions.")] = 10,
) -> Response:
    return loaded.city_recommendations(gid, k, fields)
