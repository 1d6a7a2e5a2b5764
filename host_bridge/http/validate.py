"""privacyIDEA's validate protocol: `POST /validate/check`, as its login plugins, PAM module and
RADIUS bridge call it (docs/http-api.md lists what is and is not covered).

    user + pass (the password)            → CHALLENGE, transaction_id, one multi_challenge
                                            entry per active device (M2FS); or REJECT
    transaction_id + pass (the response)  → ACCEPT or REJECT  (optional `serial` narrows it)
    GET polltransaction?transaction_id=   → value true once an IB Key push was approved;
                                            then transaction_id + empty pass → ACCEPT (once)

No API key (privacyIDEA's clients send none): only client networks in the configuration may
call, and the rate limits count per client address and per user. Answers carry privacyIDEA's
JSON shape (`result.status`, `result.value`, `result.authentication`, `detail.*`); errors are
problem+json documents that also carry privacyIDEA's `result.error`.
"""

from __future__ import annotations

import time
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host_bridge.http.endpoints import Endpoint
from host_bridge.http.fields import Body, Field
from host_bridge.http.problems import Problem, read_body
from host_bridge.http.runtime import Runtime, Worker
from host_bridge.inputs import NAME_CHARS
from host_bridge.services.transactions import Answered, Issued, Started

VERSION: Final = "slsemu privacyIDEA-compatible 3.9"
# privacyIDEA's own messages, so a client that shows them reads as against privacyIDEA.
WRONG_PIN: Final = "wrong otp pin"
WRONG_RESPONSE: Final = "Response did not match the challenge."
PUSH_MESSAGE: Final = "Please confirm the authentication on your mobile device!"
PUSH_ACCEPTED: Final = "Found matching challenge"
ERR_PARAMETER: Final = 905

CHECK = Body("ValidateCheck", (
    Field("user", required=False, max_length=64, description="the user name"),
    Field("pass", max_length=1024, min_length=0,
          description="the password, the response, or empty: log in on an approved push"),
    Field("transaction_id", required=False, max_length=64),
    Field("serial", required=False, max_length=64),
    Field("realm", required=False, max_length=64, description="accepted and ignored"),
), open=True)


def _answer(value: bool, authentication: str, detail: dict[str, Any]) -> JSONResponse:
    return JSONResponse({
        "jsonrpc": "2.0", "id": 1, "version": VERSION, "time": time.time(),
        "result": {"status": True, "value": value, "authentication": authentication},
        "detail": detail,
    })


def _params(data: object) -> dict[str, str]:
    """privacyIDEA's parameters, checked by the same field specs the document shows; unknown
    ones are ignored as privacyIDEA does."""
    if not isinstance(data, dict):
        raise _error("the body must be a JSON object or a form")
    out: dict[str, str] = {}
    for spec in CHECK.fields:
        if spec.name not in data:
            continue
        try:
            out[spec.name] = str(spec.check(data[spec.name]))
        except Problem as problem:
            raise _error(problem.detail) from None
    for name in ("user", "pass"):
        if name not in out and not (name == "user" and "transaction_id" in out):
            raise _error(f"Missing parameter: {name!r}")
    return out


def _error(message: str) -> Problem:
    text = f"ERR{ERR_PARAMETER}: {message}"
    return Problem(400, "Bad request", text, extra={
        "jsonrpc": "2.0", "id": 1, "version": VERSION,
        "result": {"status": False, "error": {"code": ERR_PARAMETER, "message": text}},
    })


def _entry(transaction_id: str, item: Issued) -> dict[str, Any]:
    """One multi_challenge entry: a push (IB Key: poll, the challenge as an attribute for the
    typed fallback) or an interactive challenge."""
    if item.push_id is not None:
        return {
            "transaction_id": transaction_id, "serial": item.device.serial, "type": "push",
            "message": PUSH_MESSAGE, "client_mode": "poll",
            "attributes": {"challenge": item.challenge.text},
        }
    return {
        "transaction_id": transaction_id, "serial": item.device.serial,
        "type": item.device.model, "message": item.challenge.message,
        "client_mode": "interactive", "attributes": None,
    }


def _challenge(started: Started) -> JSONResponse:
    entries = [_entry(started.transaction_id, item) for item in started.issued]
    messages = list(dict.fromkeys(entry["message"] for entry in entries))
    first = entries[0]
    return _answer(False, "CHALLENGE", {
        "transaction_id": started.transaction_id,
        "transaction_ids": [started.transaction_id],
        "message": ", ".join(messages), "messages": messages, "multi_challenge": entries,
        "serial": first["serial"], "type": first["type"], "client_mode": first["client_mode"],
        "preferred_client_mode": first["client_mode"], "attributes": first["attributes"],
    })


def _decided(answered: Answered, push: bool) -> JSONResponse:
    if answered.verdict.accepted:
        return _answer(True, "ACCEPT", {
            "message": PUSH_ACCEPTED if push else "matching 1 tokens", "serial": answered.serial,
        })
    detail: dict[str, Any] = {"message": WRONG_RESPONSE}
    if answered.serial is not None:
        detail["serial"] = answered.serial
    return _answer(False, "REJECT", detail)


async def _check(request: Request, runtime: Runtime) -> Response:
    address = _client(request, runtime)
    params = _params(await read_body(request, form=True))
    caller = f"client:{address}"

    def work(worker: Worker) -> JSONResponse:
        transactions = worker.bridge.transactions
        if "transaction_id" not in params:
            runtime.limit(worker, address=address, user=params["user"])
            started = transactions.start(params["user"], params["pass"], caller=caller)
            runtime.metrics.decision("validate_password", "ok" if started else "refused")
            if started is None:
                return _answer(False, "REJECT", {"message": WRONG_PIN})
            return _challenge(started)
        runtime.limit(
            worker, address=address, user=params.get("user"), device=params.get("serial")
        )
        answered = transactions.answer(
            params["transaction_id"], params["pass"], serial=params.get("serial"),
            user=params.get("user"), caller=caller,
        )
        runtime.metrics.decision(
            "validate", "accepted" if answered.verdict.accepted else "refused"
        )
        return _decided(answered, not params["pass"])

    return await runtime.run(work)


def _client(request: Request, runtime: Runtime) -> str | None:
    """The client's address, if its network may call /validate (403 otherwise)."""
    address = request.client.host if request.client else None
    if not runtime.config.allows(address):
        runtime.metrics.count("network_refused")
        raise Problem(403, "Forbidden", "this client network may not call /validate")
    return address


async def _poll(request: Request, runtime: Runtime) -> Response:
    address = _client(request, runtime)
    transaction_id = request.query_params.get("transaction_id")
    if not transaction_id:
        raise _error("Missing parameter: 'transaction_id'")
    if len(transaction_id) > 64 or not set(transaction_id) <= NAME_CHARS:
        raise _error("transaction_id must be 1-64 letters, digits or '._-@'")

    def work(worker: Worker) -> JSONResponse:
        runtime.limit(worker, address=address)
        approved = worker.bridge.transactions.poll(transaction_id)
        return _answer(approved, "ACCEPT" if approved else "CHALLENGE", {})

    return await runtime.run(work)


_RESULT = {
    "type": "object", "required": ["result"],
    "properties": {"result": {"type": "object", "required": ["status", "value"]},
                   "detail": {"type": "object"}},
}
ENDPOINTS: Final = (
    Endpoint("/validate/check", "POST", _check, "privacyIDEA: password step or response", CHECK,
             None, form=True, ok_schema=_RESULT),
    Endpoint("/validate/polltransaction", "GET", _poll,
             "privacyIDEA: whether a push of the transaction was approved", None, None,
             query=("transaction_id",), ok_schema=_RESULT),
)
