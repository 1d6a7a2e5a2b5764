"""API keys of the HTTP API: created with a scope, shown once, stored as a SHA-256 digest,
revocable.

A key reads `sls_<id>_<secret>`: the id finds the row, the secret (32 random bytes) is compared
by digest in constant time. A random 256-bit secret needs no slow hash (nothing to guess); an
unknown id costs the same digest and comparison as a known one.
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
        match = _KEY_RE.fullmatch(key)
        if match is None:
            return None
        key_id, secret = match.groups()
        with self.ctx.db.read() as tx:
            record = apikeys.by_id(tx, key_id)
        stored = _DUMMY_DIGEST if record is None else record.digest
        ok = hmac.compare_digest(_digest(secret), stored)
        if record is None or not ok or record.revoked is not None:
            return None
        return record
