"""Chosen candidates side by side: the facts that matter, the score and the reasons."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PARIS, PORTLAND, SAPPORO, ServiceDep, resolve_city
from api.errors import ApiError, documented
from api.schemas import Comparisons

router = APIRouter(tags=["compare"])
MAX_CANDIDATES = 10


@router.get("/compare", response_model=Comparisons, responses=documented(404, 422),
            summary=f"Up to {MAX_CANDIDATES} candidates side by side for a city")
def compare(
    loaded: ServiceDep,
    city: Annotated[str, Query(max_length=200, description="GeoNames id of the city.", examples=[PORTLAND])],
    candidates: Annotated[str, Query(max_length=300, description="GeoNames ids, comma-separated.",
                                     examples=[f"{SAPPORO},{PARIS}"])],
) -> dict:
    gid = resolve_city(city, loaded)
    ids = list(dict.fromkeys(resolve_city(part, loaded) for part in candidates.split(",") if part.strip()))
    if not 1 <= len(ids) <= MAX_CANDIDATES:
        raise ApiError(422, f"give 1 to {MAX_CANDIDATES} candidates (GeoNames ids, comma-separated); got {len(ids)}")
    if gid in ids:
        raise ApiError(422, f"the city {gid} is among its own candidates")
    comparisons = loaded.engine.recommender.compare(gid, ids)
    return {"city": loaded.cities([gid])[0], "candidates": loaded.results(comparisons)}
