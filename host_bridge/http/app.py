"""The Starlette app: the endpoint tables of v1.py and validate.py, plus /healthz, /metrics and
/openapi.json. `create_app` builds it for one worker; `factory` is what uvicorn imports in each
worker process (configuration from the environment: `SLSEMU_HOME`, `SLSEMU_STORE`,
`SLSEMU_HTTP_CONFIG`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from host_bridge.http import v1, v1_push, validate
from host_bridge.http.config import HttpConfig
from host_bridge.http.endpoints import Endpoint, wrap
from host_bridge.http.openapi import document
from host_bridge.http.problems import Problem
from host_bridge.http.runtime import Runtime, Worker


async def _healthz(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker) -> str:
        with worker.bridge.db.read():  # the store answers a transaction
            return "ok"

    return JSONResponse({"status": await runtime.run(work)})


async def _metrics(request: Request, runtime: Runtime) -> Response:
    return PlainTextResponse(runtime.metrics.text(), media_type="text/plain; version=0.0.4")


async def _openapi(request: Request, runtime: Runtime) -> Response:
    return JSONResponse(document(ENDPOINTS))


ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    *v1.ENDPOINTS,
    *v1_push.ENDPOINTS,
    *validate.ENDPOINTS,
    Endpoint("/healthz", "GET", _healthz, "Liveness: the store answers", ok_schema={
        "type": "object", "required": ["status"]}),
    Endpoint("/metrics", "GET", _metrics, "Prometheus text: requests, decisions, latency",
             media_type="text/plain", ok_schema={"type": "string"}),
    Endpoint("/openapi.json", "GET", _openapi, "This document", ok_schema={"type": "object"}),
)


def create_app(home: Path | None = None, config: HttpConfig | None = None) -> Starlette:
    runtime = Runtime(home, config or HttpConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            runtime.close()

    routes = [
        Route(ep.path, wrap(ep.path, ep.handler, runtime), methods=[ep.method])
        for ep in ENDPOINTS
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return Problem(404, "Not found", "no such endpoint").response(request.url.path)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return Problem(405, "Method not allowed", "see /openapi.json").response(request.url.path)

    app = Starlette(
        routes=routes, lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_allowed},
    )
    app.state.runtime = runtime
    return app


def factory() -> Starlette:
    """The app of one uvicorn worker process."""
    return create_app(None, HttpConfig.from_env())
