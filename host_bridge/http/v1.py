"""The own JSON API under /v1/: what the CLI does for a login and a withdrawal, behind API keys.

Each handler passes the door (door.py: the key, 401 + an audit row without a valid one; its
scope, 403; the rate limits, 429 — on the login's two requests in the decision's own
transaction), calls the same `Bridge`/`Policies` method the CLI calls and answers its
JSON. Audit rows of decisions name the key (`caller = key:NAME`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host_bridge.domain import WRONG_LOGIN, ApiScope
from host_bridge.errors import Locked
from host_bridge.http.door import Door
from host_bridge.http.endpoints import Endpoint
from host_bridge.http.fields import Body, Field, Kind
from host_bridge.http.problems import Problem, read_body
from host_bridge.http.runtime import Runtime, Worker
from host_bridge.inputs import NAME_CHARS
from host_bridge.policies.optout import NO_SECOND_FACTOR

T = TypeVar("T")
NAME: Final = "^[A-Za-z0-9._@-]{1,64}$"
_BEARER: Final = "bearer "

PASSWORD = Body("PasswordStep", (
    Field("user", pattern=NAME), Field("password", max_length=1024),
))
CHALLENGE = Body("ChallengeRequest", (
    Field("serial", pattern=NAME),
    Field("voice", Kind.BOOLEAN, required=False, description="SMS devices: voice callback"),
))
VERIFY = Body("VerifyRequest", (
    Field("serial", pattern=NAME), Field("challenge_id", max_length=64),
    Field("response", max_length=128),
))
WITHDRAW = Body("WithdrawalRequest", (
    Field("user", pattern=NAME), Field("device", pattern=NAME),
    Field("amount_cents", Kind.INTEGER, minimum=1, maximum=10**15),
    Field("date", required=False, max_length=10, pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
))


Work = Callable[[Worker, Door, dict[str, Any]], T]


async def serve(
    request: Request, runtime: Runtime, scope: ApiScope, body: Body | None, work: Work[T],
    *, joined: bool = False,
) -> T:
    """`work(worker, door, body)` behind the door (door.py: key, scope, rate limits; `joined`:
    checked and counted in the decision's own transaction), in ONE hop to a worker thread: the
    body is read first (bounded), but its problems are answered only after the key passed, so
    a caller without a key learns nothing but 401."""
    raw: object = None
    deferred: Problem | None = None
    if body is not None:
        try:
            raw = await read_body(request)
        except Problem as problem:
            deferred = problem

    def run(worker: Worker) -> T:
        door = Door.enter(request, runtime, worker, scope)

        def guarded() -> T:
            if deferred is not None:
                raise deferred
            return work(worker, door, {} if body is None else body.parse(raw))

        return door.guard(guarded, joined=joined)

    return await runtime.run(run)


def checked_name(value: str, what: str) -> str:
    if not 1 <= len(value) <= 64 or not set(value) <= NAME_CHARS:
        raise Problem(422, "Bad field", f"{what} must be 1-64 letters, digits or '._-@'")
    return value


async def _password(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        user = checked_name(data["user"], "user")
        door.limit(key=door.caller, user=user)
        bridge = worker.bridge
        try:
            ok = bridge.check_password(user, data["password"], caller=door.caller)
        except Locked:  # a spent password budget looks like any refusal from outside
            ok = False
        if ok and bridge.password_is_enough(user, caller=door.caller):
            runtime.metrics.decision("password", "accepted")
            return {"accepted": True, "reason": NO_SECOND_FACTOR, "devices": [],
                    "second_factor": False}
        devices = bridge.devices(user) if ok else []
        # Unknown user, wrong password, no usable device: one answer (no user enumeration).
        accepted = ok and bool(devices)
        runtime.metrics.decision("password", "accepted" if accepted else "refused")
        if not accepted:
            return {"accepted": False, "reason": WRONG_LOGIN, "devices": [],
                    "second_factor": True}
        return {"accepted": True, "reason": "ok", "devices": [d.to_json() for d in devices],
                "second_factor": True}

    return JSONResponse(await serve(request, runtime, ApiScope.VERIFY, PASSWORD, work))


async def _devices(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, _data: dict[str, Any]) -> list[dict[str, Any]]:
        user = checked_name(request.path_params["user"], "user")
        door.limit(key=door.caller, user=user)
        return [d.to_json() for d in worker.bridge.devices(user)]

    return JSONResponse({"devices": await serve(request, runtime, ApiScope.VERIFY, None, work)})


async def _challenge(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        serial = checked_name(data["serial"], "serial")
        door.limit(key=door.caller, device=serial)
        challenge = worker.bridge.issue_challenge(serial, voice=data.get("voice", False))
        return {**challenge.to_json(), "message": challenge.message}

    issued = await serve(request, runtime, ApiScope.VERIFY, CHALLENGE, work, joined=True)
    return JSONResponse(issued, status_code=201)


async def _verify(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        serial = checked_name(data["serial"], "serial")
        door.limit(key=door.caller, device=serial)
        verdict = worker.bridge.verify(
            serial, data["challenge_id"], data["response"], caller=door.caller
        )
        runtime.metrics.decision("verify", "accepted" if verdict.accepted else "refused")
        return verdict.to_json()

    return JSONResponse(await serve(request, runtime, ApiScope.VERIFY, VERIFY, work, joined=True))


async def _withdraw(request: Request, runtime: Runtime) -> Response:
    def work(worker: Worker, door: Door, data: dict[str, Any]) -> dict[str, Any]:
        user, serial = checked_name(data["user"], "user"), checked_name(data["device"], "device")
        day: dt.date | None = None
        if "date" in data:
            try:
                day = dt.date.fromisoformat(data["date"])
            except ValueError:
                raise Problem(422, "Bad field", "date must be a real YYYY-MM-DD date") from None
        door.limit(key=door.caller, user=user, device=serial)
        decision = worker.policies.withdraw(
            user, serial, data["amount_cents"], day, caller=door.caller
        )
        runtime.metrics.decision("withdraw", "allowed" if decision.allowed else "denied")
        return {
            "allowed": decision.allowed, "reason": decision.reason, "user": user,
            "device": serial, "amount_cents": data["amount_cents"],
            "business_day": decision.business_day.isoformat(),
            "day_room_cents": decision.day_room, "window_room_cents": decision.window_room,
            "alternatives": list(decision.alternatives),
        }

    return JSONResponse(await serve(request, runtime, ApiScope.WITHDRAW, WITHDRAW, work))


_DEVICE = {"type": "object", "required": ["serial", "model", "status", "kind"]}
ENDPOINTS: Final = (
    Endpoint("/v1/login/password", "POST", _password, "Password step: the devices to select",
             PASSWORD, ApiScope.VERIFY, ok_schema={
                 "type": "object",
                 "required": ["accepted", "reason", "devices", "second_factor"],
                 "properties": {"accepted": {"type": "boolean"}, "reason": {"type": "string"},
                                "devices": {"type": "array", "items": _DEVICE},
                                "second_factor": {"type": "boolean"}}}),
    Endpoint("/v1/users/{user}/devices", "GET", _devices, "The devices a login may select",
             None, ApiScope.VERIFY, parameters=("user",), ok_schema={
                 "type": "object", "required": ["devices"],
                 "properties": {"devices": {"type": "array", "items": _DEVICE}}}),
    Endpoint("/v1/challenges", "POST", _challenge, "Issue a challenge for one device",
             CHALLENGE, ApiScope.VERIFY, ok_status="201", ok_schema={
                 "type": "object", "required": ["id", "serial", "kind", "challenge", "message"]}),
    Endpoint("/v1/verify", "POST", _verify, "Verify the response to a challenge", VERIFY,
             ApiScope.VERIFY, ok_schema={
                 "type": "object", "required": ["accepted", "reason"],
                 "properties": {"accepted": {"type": "boolean"}, "reason": {"type": "string"}}}),
    Endpoint("/v1/withdrawals", "POST", _withdraw, "Check a withdrawal and book it if allowed",
             WITHDRAW, ApiScope.WITHDRAW, ok_schema={
                 "type": "object", "required": ["allowed", "reason", "business_day"]}),
)
