"""IB Key push in the own API: send a push, read its status, and the app's answer.

    POST /v1/push {serial}                          → 201 the push (status pending, challenge)
    GET  /v1/push/{push_id}                         → the push (pending/approved/denied/…)
    POST /v1/push/{push_id}/answer {approve, response?} → the push and the verdict

All three call `PushService` (`host_bridge.services.push`), as the CLI and privacyIDEA's door do.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host_bridge.domain import ApiScope
from host_bridge.http.door import Door
from host_bridge.http.endpoints import Endpoint
from host_bridge.http.fields import Body, Field, Kind
from host_bridge.http.problems import Problem
from host_bridge.http.runtime import Runtime, Worker
from host_bridge.http.v1 import NAME, checked_name, serve

SEND = Body("PushRequest", (Field("serial", pattern=NAME),))
ANSWER = Body("PushAnswer", (
    Field("approve", Kind.BOOLEAN, description="true: the app approved; false: denied"),
    Field("response", required=False, max_length=128,
          description="with approve: the OCRA response to the push's challenge"),
))


async def _push_send(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        serial = checked_name(data["serial"], "serial")
        door.limit(key=door.caller, device=serial)
        sent = worker.bridge.push.send(serial, caller=door.caller)
        return {**sent.push.to_json(), "challenge": sent.challenge.text}

    return JSONResponse(await serve(request, runtime, ApiScope.VERIFY, SEND, work),
                        status_code=201)


async def _push_status(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, _data: dict[str, Any]) -> dict[str, Any]:
        push_id = checked_name(request.path_params["push_id"], "push_id")
        door.limit(key=door.caller)
        return worker.bridge.push.status(push_id).to_json()

    return JSONResponse(await serve(request, runtime, ApiScope.VERIFY, None, work))


async def _push_answer(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        push_id = checked_name(request.path_params["push_id"], "push_id")
        if data["approve"] and "response" not in data:
            raise Problem(422, "Bad field", "an approval carries response")
        door.limit(key=door.caller)
        push = worker.bridge.push
        if not data["approve"]:
            denied = push.deny(push_id, caller=door.caller)
            return {**denied.to_json(), "accepted": False, "reason": "denied"}
        answer = push.approve(push_id, data["response"], caller=door.caller)
        runtime.metrics.decision("push", "accepted" if answer.verdict.accepted else "refused")
        return {**answer.push.to_json(), **answer.verdict.to_json()}

    return JSONResponse(await serve(request, runtime, ApiScope.VERIFY, ANSWER, work))


_PUSH = {
    "type": "object", "required": ["push_id", "serial", "status", "expires"],
    "properties": {"status": {"enum": ["pending", "approved", "denied", "expired", "failed"]}},
}
ENDPOINTS: Final = (
    Endpoint("/v1/push", "POST", _push_send, "Send an IB Key push (the app signs its challenge)",
             SEND, ApiScope.VERIFY, ok_status="201", ok_schema=_PUSH),
    Endpoint("/v1/push/{push_id}", "GET", _push_status, "A push's status", None,
             ApiScope.VERIFY, parameters=("push_id",), ok_schema=_PUSH),
    Endpoint("/v1/push/{push_id}/answer", "POST", _push_answer,
             "The app's answer: approve with the response, or deny", ANSWER, ApiScope.VERIFY,
             parameters=("push_id",), ok_schema=_PUSH),
)
