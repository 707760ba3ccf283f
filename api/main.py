"""The app: `create_app()` is the factory `matcher serve` runs; tests pass an already loaded service."""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Scope

from api import errors
from api.deps import Service, require_api_key, warm_embedder
from api.middleware import AccessLog, BodyLimit, ServerErrors
from api.routes import cities, compare, health, meta, recommendations
from api.settings import Settings
from matcher import __version__

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("api")


class Fallback(Mount):
    """Mounted at / and matched only by paths that no other route has: a wrong method on an API path gets the
    API's 405 and Allow header (Starlette would otherwise prefer the file server's full match to the route's
    partial one)."""

    def __init__(self, routes: list[BaseRoute], app: ASGIApp):
        super().__init__("/", app=app, name="planner")
        self.others = list(routes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if any(route.matches(scope)[0] != Match.NONE for route in self.others):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="matcher", version=__version__, lifespan=_lifespan,
                  description="Partner suggestions for city twinning, with reasons. Errors are JSON: "
                              "`message` for people, `problems` for each invalid parameter, `matches` for close "
                              "names where a name was given for an id.")
    app.state.settings, app.state.service, app.state.load_error = settings, service, None
    errors.install(app)
    app.include_router(health.router)
    # The key check only where keys are configured: the OpenAPI description then says what the deployment asks.
    keyed = bool(settings.api_keys)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)] if keyed else [],
                   responses=errors.documented(*([401] if keyed else []), 503))
    for module in (meta, cities, recommendations, compare):
        v1.include_router(module.router)
    app.include_router(v1)
    if STATIC.is_dir():  # the planner's page, for paths that no route of the API, /docs or /openapi.json has
        app.router.routes.append(Fallback(app.router.routes, StaticFiles(directory=STATIC, html=True)))
    # Outermost last: every request is logged, and error responses carry CORS headers too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServerErrors)
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type", "X-API-Key"])
    app.add_middleware(AccessLog)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Endpoints run in a thread pool (40 threads by default). The engine is numpy steps that each take and release
    # the GIL: with many requests at once the threads mostly wait on each other, so a few at a time go faster.
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.concurrency
    # Load in the background: the server answers /healthz at once and /readyz with 503 until loaded.
    if app.state.service is None:
        threading.Thread(target=load_service, args=(app,), name="load", daemon=True).start()
    yield


def load_service(app: FastAPI) -> None:
    """Open the service into `app.state` (or record why it failed), then warm the sentence model."""
    started, settings = time.perf_counter(), app.state.settings
    try:
        app.state.service = Service.open(settings)
    except Exception as exc:
        app.state.load_error = str(exc)
        log.exception(json.dumps({"event": "load_failed"}))
        return
    log.info(json.dumps({"event": "ready", "seconds": round(time.perf_counter() - started, 2)}))
    # Ready without it: only requests with an intent or a described city need the sentence model.
    warm_embedder(app.state.service.engine)
    # What is loaded lives as long as the process: the garbage collector's full passes would walk its 250k objects
    # (160 ms each) for nothing and, in forked workers, write to the pages they share.
    gc.freeze()
    log.info(json.dumps({"event": "embedder_ready", "seconds": round(time.perf_counter() - started, 2)}))
