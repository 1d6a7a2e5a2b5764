"""RFC 9457 `application/problem+json` answers and bounded body reading.

A `Problem` raised anywhere in an endpoint becomes its answer; the message never quotes a secret
(fields are named, their values are not echoed).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from firmware_model.bounded import loads_json

MAX_BODY: Final = 16 * 1024
PROBLEM_TYPE: Final = "application/problem+json"


class Problem(Exception):
    """An HTTP error answer: status, short title, detail (safe to show)."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None,
        *, extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}  # RFC 9457 extension members

    def response(self, instance: str = "") -> JSONResponse:
        body: dict[str, Any] = {
            **self.extra, "type": "about:blank", "title": self.title, "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        return JSONResponse(body, self.status, headers=self.headers, media_type=PROBLEM_TYPE)


async def read_body(request: Request, *, form: bool = False) -> object:
    """The request's JSON body (or, with `form`, an urlencoded form as a dict of strings), at
    most `MAX_BODY` bytes and `firmware_model.bounded`'s nesting and number bounds."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Problem(413, "Body too large", f"a body is at most {MAX_BODY} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Problem(413, "Body too large", f"a body is at most {MAX_BODY} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if form and content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(raw.decode("utf-8", errors="strict"), keep_blank_values=True,
                              strict_parsing=False, max_num_fields=32)
        except (UnicodeDecodeError, ValueError):
            raise Problem(400, "Bad form", "the form is not UTF-8 urlencoded text") from None
        return dict(pairs)
    if content_type not in ("application/json", ""):
        raise Problem(415, "Unsupported media type", "send application/json")
    try:
        return loads_json(bytes(raw))
    except ValueError:
        raise Problem(400, "Bad JSON", "the body is not a JSON document within bounds") from None
