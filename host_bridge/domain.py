"""The host bridge's typed domain: every status as an Enum, every stored row as a record.

Statuses are `StrEnum`s: a member compares equal to its stored text and prints as it, so the
store, JSON output and the policies agree on one spelling. The challenge kinds are the model
registry's (`firmware_model.models.ChallengeKind`); the order and sharing states are the pure
policies' own (`policies.ordering.OrderState`, `policies.sharing.ShareState`) and the opt-out
modes are `policies.optout.OptOut`; they are re-exported here so the domain is one import.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from firmware_model.models import ChallengeKind
from host_bridge.passwords import PasswordHash
from host_bridge.policies.optout import OptOut
from host_bridge.policies.ordering import OrderState
from host_bridge.policies.sharing import ShareState

__all__ = [
    "WRONG_LOGIN", "ApiKeyRecord", "ApiScope", "AuditRecord", "ChallengeKind", "ChallengeRecord",
    "ClaimedChallenge", "DeviceRecord",
    "DeviceState", "DeviceStatus", "Guessed", "Identification", "OptOut", "OrderState", "Role",
    "RowKind", "ShareState", "TempKind", "TempStatus", "TokenKind", "UserRecord", "row_kind",
]

WRONG_LOGIN: Final = "wrong user name or password"
"""The one answer to an unknown user, a wrong password (and, where a front door says so, a user
without a usable device): every front door and service says it alike, so none tells them apart
(no user enumeration)."""


class DeviceStatus(enum.StrEnum):
    """A device's life cycle (docs/host-bridge.md)::

        pending --activate--> active --failures reach lockout_after--> locked
        locked --unlock (admin)--> active;  any --revoke--> revoked;  active --share--> replaced
    """

    PENDING = "pending"
    ACTIVE = "active"
    LOCKED = "locked"
    REVOKED = "revoked"
    REPLACED = "replaced"


class TokenKind(enum.StrEnum):
    """A challenge row that is no login challenge: an IB Key token sent by SMS, to activate the
    app or to recover it on Android ("Initialize Recovery", KB2748)."""

    ACTIVATION = "activation"
    RECOVERY = "recovery"


RowKind = ChallengeKind | TokenKind
"""What a row of the challenges table holds (its `kind` column)."""


def row_kind(text: str) -> RowKind:
    """The kind a stored row names. `ValueError` for one this build does not know."""
    try:
        return TokenKind(text)
    except ValueError:
        return ChallengeKind(text)


class TempKind(enum.StrEnum):
    TEMPORARY_CODE = "temporary_code"
    ONLINE_SCC = "online_scc"


class TempStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"


class Guessed(enum.StrEnum):
    """A secret a person types to the bridge, each with its own failure budget per user
    (`host_bridge.services.guesses`). The device's own answers are budgeted on the device row."""

    PASSWORD = "password"  # noqa: S105 (a name, not a password)
    TEMPORARY_CODE = "temporary_code"
    ACTIVATION_TOKEN = "activation_token"  # noqa: S105 (a name)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Role(enum.StrEnum):
    """How a user holds a device."""

    OWNER = "owner"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class Identification:
    """Identification data (KB2481 compares these for device sharing)."""

    date_of_birth: str | None = None
    citizenship: str | None = None
    residence: str | None = None
    id_type: str | None = None
    id_number: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user (the password hash is kept but never shown)."""

    name: str
    password: PasswordHash = field(repr=False)
    identification: Identification
    entity: str | None
    account: str
    equity_cents: int
    balance_cents: int
    opt_out: OptOut
    primary_user: bool
    created: float

    def __post_init__(self) -> None:
        if not isinstance(self.opt_out, OptOut):
            raise ValueError(f"bad opt-out state {self.opt_out!r}")

    def public(self) -> dict[str, Any]:
        """What `slsbridge user show` prints (no password data, ID number masked)."""
        ident = self.identification
        masked = None
        if ident.id_number:
            masked = "*" * max(0, len(ident.id_number) - 4) + ident.id_number[-4:]
        return {
            "name": self.name,
            "date_of_birth": ident.date_of_birth,
            "citizenship": ident.citizenship,
            "residence": ident.residence,
            "id_type": ident.id_type,
            "id_number": masked,
            "entity": self.entity,
            "account": self.account,
            "equity_cents": self.equity_cents,
            "balance_cents": self.balance_cents,
            "opt_out": self.opt_out.value,
            "primary_user": self.primary_user,
        }


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """One device. `key_enc`/`pin_enc` are sealed by the master key."""

    serial: str
    model: str
    status: DeviceStatus
    suite: str | None
    key_enc: bytes = field(repr=False)
    counter: int
    pin_mode: str | None
    pin_enc: bytes | None = field(repr=False)
    time_step: int | None
    drift: int
    last_step: int | None
    failures: int
    temporary: bool
    valid_until: float | None
    replaced_by: str | None
    created: float
    activated: float | None
    updated: float
    otp: str | None = None
    """HOTP/TOTP a token shows (`firmware_model.hotp.OtpSpec` text); None: the model's own."""

    def __post_init__(self) -> None:
        if not isinstance(self.status, DeviceStatus):
            raise ValueError(f"bad device status {self.status!r}")

    def usable(self, now: float) -> bool:
        """Active and not expired: the device may log in and confirm."""
        return self.status is DeviceStatus.ACTIVE and (
            self.valid_until is None or self.valid_until > now
        )


@dataclass(frozen=True, slots=True)
class ChallengeRecord:
    """One issued challenge. `data_enc` holds sealed expected-input data (SMS codes) if any."""

    id: str
    serial: str
    kind: RowKind
    text: str
    data_enc: bytes | None = field(repr=False)
    created: float
    expires: float
    used: bool
    used_at: float | None


class DeviceState(NamedTuple):
    """The device columns a verification reads, under its write lock.

    A plain tuple, not a `DeviceRecord`: one is built for every login, and building a validated
    18-field dataclass cost more than the SELECT itself. The schema's CHECK constraints have
    validated the row already.
    """

    serial: str
    status: str
    suite: str | None
    key_enc: bytes
    counter: int
    pin_enc: bytes | None
    time_step: int | None
    drift: int
    last_step: int | None
    failures: int
    valid_until: float | None
    otp: str | None


class ClaimedChallenge(NamedTuple):
    """A challenge as a verification claimed it: `used` tells whether it had been used before
    (if not, the claim has used it now)."""

    id: str
    serial: str
    kind: str
    text: str
    data_enc: bytes | None
    created: float
    expires: float
    used: bool


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row. `detail` never holds a secret."""

    id: int
    at: float
    event: str
    outcome: str
    user: str | None
    serial: str | None
    detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "event": self.event,
            "outcome": self.outcome,
            "user": self.user,
            "serial": self.serial,
            "detail": dict(self.detail),
        }


class PushStatus(enum.StrEnum):
    """An IB Key push on the host: waiting for the app (`pending`), approved with a right
    response (`approved`), refused by the user (`denied`), not answered in time (`expired`), or
    answered with a wrong response (`failed`: its challenge is spent, like any wrong answer)."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    FAILED = "failed"


class PollStatus(enum.StrEnum):
    """What polling a transaction tells (privacyIDEA's `detail.challenge_status` names): a push
    of it was approved and can still log in (`accept`), the user denied it (`declined`), or
    nothing is answered yet, or no such transaction is open (`pending`)."""

    ACCEPT = "accept"
    DECLINED = "declined"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PushRecord:
    """One push: `challenge_id` names the OCRA challenge the app signs; `claimed` when a login
    door granted the approval (each approval logs in once)."""

    id: str
    challenge_id: str
    serial: str
    user: str | None
    status: PushStatus
    created: float
    expires: float
    answered: float | None
    claimed: float | None

    def __post_init__(self) -> None:
        if not isinstance(self.status, PushStatus):
            raise ValueError(f"bad push status {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "push_id": self.id, "serial": self.serial, "user": self.user,
            "status": self.status.value, "created": self.created, "expires": self.expires,
            "answered": self.answered,
        }


class ApiScope(enum.StrEnum):
    """What an API key of the HTTP API may do: `verify` (login: password step, devices,
    challenges, verification, push status), `withdraw` (withdrawal check-and-book) or `admin`
    (both)."""

    VERIFY = "verify"
    WITHDRAW = "withdraw"
    ADMIN = "admin"

    def allows(self, needed: ApiScope) -> bool:
        return self is ApiScope.ADMIN or self is needed


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One API key: `digest` is SHA-256 of its secret part (the key itself is never stored)."""

    id: str
    name: str
    scope: ApiScope
    digest: bytes = field(repr=False)
    created: float
    revoked: float | None

    def __post_init__(self) -> None:
        if not isinstance(self.scope, ApiScope):
            raise ValueError(f"bad API key scope {self.scope!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "scope": self.scope.value, "created": self.created,
            "revoked": self.revoked,
        }
