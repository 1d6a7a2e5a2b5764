"""The baseline of the HTTP benchmarks: a minimal JSON endpoint on the same stack (Starlette on
uvicorn, same worker count) — what a request costs before the bridge does anything."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _echo(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse({"accepted": True, "reason": "ok", "echo": len(data)})


app = Starlette(routes=[Route("/echo", _echo, methods=["POST"])])
