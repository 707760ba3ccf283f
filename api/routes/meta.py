"""What is being served: data and model versions, build date, evaluation summary."""

from fastapi import APIRouter

from api.deps import ServiceDep
from api.schemas import Meta
from matcher.lookup import vocabularies

router = APIRouter(tags=["meta"])


@router.get("/meta", response_model=Meta, summary="Data and model versions, build date, evaluation summary")
def meta(loaded: ServiceDep) -> dict:
    return {**loaded.meta, "vocabularies": vocabularies()}
