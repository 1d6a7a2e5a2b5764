"""The OpenAPI 3.1 document, generated from the endpoint table and the body specs (the same
objects that route and validate requests). docs/openapi.json is this, written by
`python -m host_bridge.http.openapi`; a test keeps the checked-in copy current."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, Final

from host_bridge.http.endpoints import Endpoint
from host_bridge.http.problems import PROBLEM_TYPE

_PROBLEM: Final = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "instance": {"type": "string"}},
}
_REF: Final = {"$ref": "#/components/schemas/Problem"}
_ERRORS: Final = {
    "400": "Malformed body", "401": "No valid API key", "403": "Scope or network refused",
    "404": "Unknown user or device", "409": "Device not usable now", "413": "Body too large",
    "415": "Unsupported media type", "422": "Invalid fields",
    "429": "Rate limit (see Retry-After)",
}


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    endpoints = tuple(endpoints)
    paths: dict[str, Any] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": ep.handler.__name__.strip("_"),
            "responses": {
                ep.ok_status: {
                    "description": "OK",
                    "content": {ep.media_type: {"schema": ep.ok_schema}},
                },
                **{code: {"description": text, "content": {PROBLEM_TYPE: {"schema": _REF}}}
                   for code, text in _ERRORS.items()},
            },
        }
        if ep.scope is not None:
            op["security"] = [{"apiKey": []}]
            op["description"] = f"Needs an API key with scope {ep.scope.value} (or admin)."
        if ep.parameters or ep.query:
            op["parameters"] = [
                {"name": name, "in": place, "required": True,
                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"}}
                for place, names in (("path", ep.parameters), ("query", ep.query))
                for name in names
            ]
        if ep.body is not None:
            schema = {"$ref": f"#/components/schemas/{ep.body.name}"}
            content = {"application/json": {"schema": schema}}
            if ep.form:
                content["application/x-www-form-urlencoded"] = {"schema": schema}
            op["requestBody"] = {"required": True, "content": content}
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    schemas: dict[str, Any] = {"Problem": _PROBLEM}
    for ep in endpoints:
        if ep.body is not None:
            schemas[ep.body.name] = ep.body.schema()
    return {
        "openapi": "3.1.0",
        "info": {"title": "slsbridge HTTP API", "version": "1",
                 "description": "The host bridge as a service: own API under /v1/ and "
                                "privacyIDEA's /validate/check. See docs/http-api.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def main() -> None:
    from host_bridge.http.app import ENDPOINTS

    sys.stdout.write(json.dumps(document(ENDPOINTS), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
