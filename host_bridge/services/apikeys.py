"""API keys of the HTTP API: created with a scope, shown once, stored as a SHA-256 digest,
revocable.

A key reads `sls_<id>_<secret>`: the id finds the row, the secret (32 random bytes) is compared
by digest in constant time. A random 256-bit secret needs no slow hash (nothing to guess); an
unknown id costs the same digest and comparison as a known one.

A key's id, name, scope and digest never change once created, so each bridge keeps the records
it has read (`identify`); whether a key is revoked is never cached — `is_live` reads it in the
caller's transaction, so a revocation is seen by the next decision in every process
(docs/http-api.md, "One transaction per request").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Final

from host_bridge.domain import ApiKeyRecord, ApiScope
from host_bridge.errors import BridgeError
from host_bridge.inputs import check_name
from host_bridge.repos import apikeys
from host_bridge.services.context import Context, unit_of_work

PREFIX: Final = "sls_"
_ID_BYTES: Final = 6
_SECRET_BYTES: Final = 32
_KEY_RE: Final = re.compile(r"sls_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_DUMMY_DIGEST: Final = bytes(32)
KNOWN_KEYS: Final = 1024
"""Key records a bridge keeps (their unchanging parts); more, and it starts afresh."""


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just created: `key` is shown once and never stored."""

    record: ApiKeyRecord
    key: str = field(repr=False)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


class ApiKeyService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._known: dict[str, ApiKeyRecord] = {}

    @unit_of_work
    def create(self, name: str, scope: ApiScope) -> NewApiKey:
        """A new key named `name` with `scope` (`BridgeError` if the name is taken)."""
        check_name(name, "API key name")
        key_id = self.ctx.entropy(_ID_BYTES).hex()
        secret = base64.urlsafe_b64encode(self.ctx.entropy(_SECRET_BYTES)).decode().rstrip("=")
        record = ApiKeyRecord(
            id=key_id, name=name, scope=scope, digest=_digest(secret), created=self.ctx.clock(),
            revoked=None,
        )
        with self.ctx.db.transaction() as tx:
            apikeys.insert_key(tx, record)
            self.ctx.audit("api_key.create", "ok", caller=f"key:{name}", scope=scope.value)
        return NewApiKey(record, f"{PREFIX}{key_id}_{secret}")

    @unit_of_work
    def revoke(self, name: str) -> None:
        """Revoke key `name` (`BridgeError` if there is no such live key)."""
        with self.ctx.db.transaction() as tx:
            if not apikeys.revoke(tx, name, self.ctx.clock()):
                raise BridgeError(f"no live API key named {name!r}")
            self.ctx.audit("api_key.revoke", "ok", caller=f"key:{name}")

    def keys(self) -> list[ApiKeyRecord]:
        with self.ctx.db.read() as tx:
            return apikeys.all_keys(tx)

    def authenticate(self, key: str) -> ApiKeyRecord | None:
        """The live key record `key` names, or None (malformed, unknown, wrong or revoked)."""
        record = self.identify(key)
        return record if record is not None and self.is_live(record) else None

    def identify(self, key: str) -> ApiKeyRecord | None:
        """The record `key` names if its secret matches, or None (malformed, unknown, wrong).
        Revocation is NOT checked here: `is_live` does, in the decision's transaction."""
        match = _KEY_RE.fullmatch(key)
        if match is None:
            return None
        key_id, secret = match.groups()
        record = self._known.get(key_id)
        if record is None:
            with self.ctx.db.read() as tx:
                record = apikeys.by_id(tx, key_id)
        stored = _DUMMY_DIGEST if record is None else record.digest
        if record is None or not hmac.compare_digest(_digest(secret), stored):
            return None
        if key_id not in self._known:
            if len(self._known) >= KNOWN_KEYS:
                self._known.clear()
            self._known[key_id] = record
        return record

    def is_live(self, record: ApiKeyRecord) -> bool:
        """Whether `record`'s key is still in the store, unrevoked (read in the open
        transaction, if any: a revocation committed before it began is seen)."""
        with self.ctx.db.read() as tx:
            revoked = apikeys.revoked(tx, record.id)
        return revoked is False
