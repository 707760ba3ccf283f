"""Suggestions for a city described by the caller (one missing from the catalogue, or with edited fields)."""

from fastapi import APIRouter

from api.deps import ServiceDep
from api.errors import documented
from api.schemas import FilterFields, RecommendationRequest, Recommendations

router = APIRouter(tags=["recommendations"])
QUERY_FIELDS = {"name", "country", "population", "latitude", "longitude"}  # of the profile, echoed in the query


@router.post("/recommendations", response_model=Recommendations, responses=documented(413, 422),
             summary="Suggested partners for a described city, with reasons")
def recommend_for_profile(loaded: ServiceDep, body: RecommendationRequest) -> dict:
    fields = FilterFields(**body.model_dump(include=set(FilterFields.model_fields)))
    profile = body.profile
    suggestions = loaded.engine.recommender.for_profile(profile.profile(), body.k, loaded.filters(fields))
    query = {"geonameid": None, "admin1": None, "continent": None, **profile.model_dump(include=QUERY_FIELDS),
             "k": body.k, "filters": fields}
    return {"query": query, "known_partners": sorted(set(profile.partners)), "results": loaded.results(suggestions)}

