"""An endpoint as data (path, method, body, scope, summary) plus the wrapper every handler runs
in: time it for /metrics, turn `Problem` and the bridge's errors into problem+json answers.
app.py routes them and openapi.py documents them from the same table."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host_bridge.domain import ApiScope
from host_bridge.errors import BridgeError, NotFound, NotUsable, Refused
from host_bridge.http.fields import Body
from host_bridge.http.problems import Problem
from host_bridge.http.runtime import RateLimited, Runtime
from host_bridge.services.sms import TooSoon

Handler = Callable[[Request, Runtime], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    method: str
    handler: Handler
    summary: str
    body: Body | None = None
    scope: ApiScope | None = None  # None: no API key (the validate protocol, health, metrics)
    form: bool = False  # also takes application/x-www-form-urlencoded
    ok_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    parameters: tuple[str, ...] = ()
    query: tuple[str, ...] = ()  # required query parameters
    ok_status: str = "200"
    media_type: str = "application/json"


def problem_of(error: BridgeError | Refused) -> Problem:
    """The bridge's documented errors as HTTP answers (their messages hold no secret)."""
    detail = str(error)[:300]
    if isinstance(error, TooSoon):
        return Problem(429, "Too soon", detail, {"Retry-After": str(error.wait_seconds)})
    if isinstance(error, NotUsable | Refused):
        return Problem(409, "Not usable", detail)
    if isinstance(error, NotFound):
        return Problem(404, "Not found", detail)
    return Problem(422, "Bad input", detail)


Endpointed = Callable[[Request], Awaitable[Response]]


def wrap(route: str, handler: Handler, runtime: Runtime) -> Endpointed:
    """`handler` as a Starlette endpoint: timed, counted, errors as problem+json."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(request, runtime)
        except Problem as problem:
            if isinstance(problem, RateLimited):
                runtime.metrics.count("rate_limited")
            response = problem.response(request.url.path)
        except (BridgeError, Refused) as error:
            response = problem_of(error).response(request.url.path)
        runtime.metrics.request(
            request.method, route, response.status_code, time.perf_counter() - started
        )
        return response

    return endpoint
