"""The door every /v1/ request passes: its API key (known, unrevoked, in scope) and its
rate-limit counts — on the login's hot path in the decision's own store transaction.

Theory of operation (docs/http-api.md, "One transaction per request"). `Door.enter` finds the
key's record (`ApiKeyService.identify`: a per-bridge cache of what never changes about a key —
id, name, scope, digest — so a known key costs a SHA-256 and no read); a missing, malformed,
unknown or wrong key is 401 there. `Door.guard(work, joined=…)` then runs the request's work:

* joined (the endpoint says so, and the store is SQLite): `check` — the key still unrevoked, its
  scope, the rate-limit counts the work declared with `limit` — runs first inside the work's
  first write transaction (`Database.leading`), so a login's two requests cost two store
  transactions, not six (each formerly had a key read and a count transaction of its own).
  A revocation committed before that transaction began is seen (SQLite's writer is one at a
  time); a refusal rolls the decision back, then `check` runs again on its own so the counts of
  a refused (429) or failed request still commit and its refusal wins over the work's answer.
* otherwise: the key's liveness and scope are read before the work and every `limit` counts at
  once in a transaction of its own, as before. On PostgreSQL a per-key bucket is one row that
  every request of the key writes: inside SERIALIZABLE decisions it would serialise them all
  behind each other's durable commit and turn concurrency into retries, so there it stays apart.

Every 401 writes an audit row (its own durable transaction, after any rollback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from starlette.requests import Request

from host_bridge.db.engine import Dialect, Tx
from host_bridge.domain import ApiKeyRecord, ApiScope
from host_bridge.http.problems import Problem
from host_bridge.http.runtime import Runtime, Worker

T = TypeVar("T")
_BEARER: Final = "bearer "


class _Revoked(Exception):
    """The key was revoked (or vanished) since this process first saw it."""


class Door:
    """One /v1/ request's key and counts (one worker thread, one request)."""

    def __init__(
        self, request: Request, runtime: Runtime, worker: Worker, scope: ApiScope,
        key: ApiKeyRecord,
    ) -> None:
        self.request, self.runtime, self.worker, self.scope = request, runtime, worker, scope
        self.key = key
        self.caller = f"key:{key.name}"  # the audit trail's name for the calling key
        self._buckets: dict[str, str] = {}
        self._pending = False  # `check` is yet to run in the decision's transaction

    @classmethod
    def enter(cls, request: Request, runtime: Runtime, worker: Worker, scope: ApiScope) -> Door:
        """The door of a request whose key is known and right (401, audited, otherwise)."""
        header = request.headers.get("authorization", "")
        key: ApiKeyRecord | None = None
        if header[: len(_BEARER)].lower() == _BEARER:
            key = worker.bridge.api_keys.identify(header[len(_BEARER):].strip())
        if key is None:
            raise _unauthorized(request, runtime, worker, header)
        return cls(request, runtime, worker, scope, key)

    def limit(self, **buckets: str | None) -> None:
        """Count this request in each named bucket (address, user, device, key): with the
        decision if it is still to come in a joined guard, else now (429 if over)."""
        named = {name: value for name, value in buckets.items() if value is not None}
        if self._pending:
            self._buckets.update(named)
        else:
            self.runtime.limit(self.worker, **named)

    def guard(self, work: Callable[[], T], *, joined: bool) -> T:
        """`work()` behind this door (see the module doc)."""
        db = self.worker.bridge.db
        try:
            if joined and db.dialect is Dialect.SQLITE:
                self._pending = True
                try:
                    with db.leading(self._check):
                        return work()
                finally:
                    self._pending = False
            with db.read():
                refusal = self._key_refusal()
            if refusal is not None:
                raise refusal
            return work()
        except _Revoked:
            raise _unauthorized(self.request, self.runtime, self.worker, "revoked") from None
        except Problem as problem:
            if problem.status == 403:
                self.runtime.metrics.count("forbidden")
            raise

    def _check(self, tx: Tx) -> Exception | None:
        """The checks that commit with the decision: key live, scope, the counts; the
        refusal, if any (`Database.leading` raises it)."""
        self._pending = False  # a `limit` after this point counts at once
        return self._key_refusal() or self.runtime.over_limit(self.worker, self._buckets)

    def _key_refusal(self) -> Exception | None:
        """401 (revoked) or 403 (scope), read in the open transaction."""
        if not self.worker.bridge.api_keys.is_live(self.key):
            return _Revoked()
        if not self.key.scope.allows(self.scope):
            return Problem(403, "Forbidden",
                           f"this API key's scope does not include {self.scope.value}")
        return None


def _unauthorized(request: Request, runtime: Runtime, worker: Worker, header: str) -> Problem:
    """The 401 answer, after its audit row (every refused key is on the audit trail)."""
    runtime.metrics.count("unauthorized")
    worker.bridge.ctx.audit(
        # The endpoint's name, not the path: a path may hold any text a caller typed.
        "http.auth", "refused", endpoint=getattr(
            request.scope.get("endpoint"), "__name__", "?").strip("_"),
        reason="no API key" if not header else "invalid or revoked API key",
    )
    return Problem(401, "Unauthorized", "a valid API key is required (Authorization: Bearer)",
                   {"WWW-Authenticate": 'Bearer realm="slsbridge"'})
