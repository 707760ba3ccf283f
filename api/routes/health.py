"""Liveness and readiness, for load balancers and orchestrators."""

from fastapi import APIRouter, Request

from api.errors import ApiError, documented
from api.schemas import Health

router = APIRouter(tags=["health"])  # async: answered on the event loop, even while every thread computes


@router.get("/healthz", response_model=Health, summary="The process answers")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, responses=documented(503),
            summary="The catalogue and the model are loaded (503 until then)")
async def readyz(request: Request) -> dict:
    state = request.app.state
    if state.service is None:
        raise ApiError(503, f"not ready: {state.load_error}" if state.load_error else
                       "not ready: loading the catalogue and the model")
    return {"status": "ready"}
