"""The image codec of IB Key (model `ibkey`): its config, durable phase, users and PIN state.

`firmware_model.ibkey` runs the app; this module alone knows how the app is written into an image
and read back, with the field kinds of `firmware_model.image_fields` and their one message style
(`inconsistent ibkey image: <field> must be …`). The on-disk format is unchanged from when this
lived in the app class (docs/images.md, docs/devices-other.md).

    config  pin_retries, recovery_retries, token_retries, push_seconds, biometric (all five)
    state   phase, users [{username, key, counter}], pending [{username, key, token, failures}],
            pin (SaltedHash), ocra_pin_hash (hex SHA-1), pin_failures, recovery_failures,
            recovery_token (SaltedHash + failures, or null) — all eight
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Final

from firmware_model.device import Entropy, ImageSpec
from firmware_model.errors import ImageError
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.image_fields import (
    Choice,
    FieldError,
    Flag,
    HexBytes,
    Optional,
    Text,
    Whole,
    check_fields,
    inconsistent,
)
from firmware_model.models import pin_rule_of
from firmware_model.ocra import OcraCalculator
from firmware_model.secret_hash import SaltedHash

IBKEY_SUITE: Final = "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1"
PIN_RULE: Final = pin_rule_of("ibkey")
MAX_USERS: Final = 16
MAX_PENDING: Final = 16
PIN_HASH_BYTES: Final = 20  # SHA-1
PIN_LABEL: Final = "ibkey-pin"
TOKEN_LABEL: Final = "ibkey-token"  # noqa: S105 - a hash label, not a password
# Matched with `fullmatch` (a `$` anchor would let a trailing newline through).
USERNAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,31}")
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9]{4,32}")
COUNTER_LIMIT: Final = 1 << 64

_MODEL: Final = "ibkey"
_COUNTER: Final = Whole(0, COUNTER_LIMIT - 1)
_USERNAME: Final = Text(USERNAME_RE, "1-32 letters, digits or . _ @ -")
_KEY: Final = HexBytes(1, 128)
_OCRA_PIN_HASH: Final = Optional(HexBytes(PIN_HASH_BYTES, PIN_HASH_BYTES))
_STATE_FIELDS: Final = frozenset(
    {
        "phase",
        "users",
        "pending",
        "pin",
        "ocra_pin_hash",
        "pin_failures",
        "recovery_failures",
        "recovery_token",
    }
)


class Phase(enum.Enum):
    """The app's durable phase."""

    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    NEEDS_RECOVERY = "needs_recovery"


@dataclass(frozen=True, slots=True)
class IbKeyConfig:
    """Settings fixed when the app is made (`image.config`, all five always written)."""

    pin_retries: int = 5
    recovery_retries: int = 3
    token_retries: int = 3
    push_seconds: int = 120
    biometric: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, JsonValue]) -> IbKeyConfig:
        """Read settings, missing ones take defaults; `FieldError` for a bad one."""
        default = cls()
        read = {f.name: values.get(f.name, getattr(default, f.name)) for f in fields(cls)}
        for name in ("pin_retries", "recovery_retries", "token_retries"):
            Whole(1, 99).check(read[name], name)
        Whole(1, 86_400).check(read["push_seconds"], "push_seconds")
        Flag().check(read["biometric"], "biometric")
        return cls(**read)

    def to_mapping(self) -> dict[str, JsonValue]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NAMES: Final = frozenset(f.name for f in fields(IbKeyConfig))
_NEW_IMAGE_OPTIONS: Final = NAMES | {"username", "activation_token", "counter"}


@dataclass(slots=True)
class User:
    """An active user: its own key and counter (the value the next response uses)."""

    username: str
    key: bytes = field(repr=False)  # a repr lands in tracebacks: never the key
    counter: int
    calculator: OcraCalculator

    @classmethod
    def make(cls, username: str, key: bytes, counter: int) -> User:
        return cls(username, key, counter, OcraCalculator(IBKEY_SUITE, key))


@dataclass(slots=True)
class Pending:
    """A user offered but not yet activated: the key and the salted hash of its SMS token."""

    username: str
    key: bytes = field(repr=False)
    token: SaltedHash
    failures: int


@dataclass(slots=True)
class IbKeyState:
    """The durable state of one app."""

    phase: Phase = Phase.AWAITING_ACTIVATION
    users: list[User] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    pin: SaltedHash | None = None
    pin_sha1: bytes | None = field(default=None, repr=False)
    pin_failures: int = 0
    recovery_failures: int = 0
    recovery_token: SaltedHash | None = None
    recovery_token_failures: int = 0


def check_pin_rules(pin: str) -> str:
    """`pin` if it is 4-6 letters, digits or ASCII specials; otherwise `ValueError`."""
    return PIN_RULE.check(pin, "IB Key")


def check_username(username: str) -> str:
    """`username` if it is a plausible login name (1-32 of letters, digits and . _ @ -)."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise ValueError("a username is 1 to 32 letters, digits or . _ @ -")
    return username


def token_hash(token: str, entropy: Entropy) -> SaltedHash:
    """What the host hands the app for an SMS token (activation, added user, recovery).

    Tokens are 4-32 letters or digits; the host chooses the format (e.g. 8 digits).
    """
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise ValueError("an SMS token is 4 to 32 letters or digits")
    return SaltedHash.make(TOKEN_LABEL, token, entropy)


def pin_sha1(pin: str) -> bytes:
    """SHA-1 of the PIN, the `P` input of the IB Key suite."""
    return hashlib.sha1(pin.encode("utf-8")).digest()  # noqa: S324 - the suite fixes SHA-1


def new_image(spec: ImageSpec, entropy: Entropy) -> DeviceImage:
    """A new app. `ValueError` for a bad spec (see `IbKey` for the options)."""
    if spec.model != _MODEL:
        raise ValueError(f"spec is for model {spec.model!r}, not {_MODEL!r}")
    options = spec.options
    check_fields(options, "ibkey option", allowed=_NEW_IMAGE_OPTIONS)
    if spec.suite not in (None, IBKEY_SUITE):
        raise ValueError(f"IB Key uses the suite {IBKEY_SUITE}")
    if spec.pin_mode is not None:
        raise ValueError("IB Key has no PIN mode (its PIN is checked and feeds the response)")
    if not 1 <= len(spec.key) <= 128:
        raise ValueError("key must be 1 to 128 bytes")
    config = IbKeyConfig.from_mapping({k: v for k, v in options.items() if k in NAMES})
    username = options.get("username", "user")
    if not isinstance(username, str):
        raise FieldError("option username must be text")
    check_username(username)
    counter = _COUNTER.check(options.get("counter", 0), "option counter")
    token = options.get("activation_token")
    if token is not None:
        if spec.pin is not None:
            raise ValueError("an IB Key awaiting activation has no PIN yet (it is set then)")
        if counter != 0:
            raise ValueError("option counter needs an already active app (no token)")
        if not isinstance(token, str):
            raise FieldError("option activation_token must be text")
        pending = Pending(username, spec.key, token_hash(token, entropy), 0)
        state = IbKeyState(Phase.AWAITING_ACTIVATION, pending=[pending])
    else:
        if spec.pin is None:
            raise ValueError("IB Key needs an activation_token option or a PIN")
        pin = check_pin_rules(spec.pin)
        state = IbKeyState(
            Phase.ACTIVE,
            users=[User.make(username, spec.key, counter)],
            pin=SaltedHash.make(PIN_LABEL, pin, entropy),
            pin_sha1=pin_sha1(pin),
        )
    return DeviceImage(
        _MODEL, spec.serial, spec.key, IBKEY_SUITE, config.to_mapping(), write_state(state)
    )


def read_config(image: DeviceImage) -> IbKeyConfig:
    """The settings of an app image. `ImageError` for another model or suite or a bad setting."""
    if image.model != _MODEL:
        raise ImageError(f"image is of model {image.model!r}, not {_MODEL!r}")
    if image.suite != IBKEY_SUITE:
        raise ImageError(f"an ibkey image uses the suite {IBKEY_SUITE}")
    try:
        check_fields(image.config, "config", allowed=NAMES, required=NAMES)
        return IbKeyConfig.from_mapping(image.config)
    except ValueError as error:
        raise inconsistent(_MODEL, error) from None


def read_state(config: IbKeyConfig, image: DeviceImage) -> IbKeyState:
    """The durable state of an app image. `ImageError` for a bad field or an impossible whole."""
    try:
        state = _read_state(config, image.state)
        _check_whole(config, image.key, state)
    except ValueError as error:
        raise inconsistent(_MODEL, error) from None
    return state


def _read_state(config: IbKeyConfig, values: Mapping[str, JsonValue]) -> IbKeyState:
    check_fields(values, "state", allowed=_STATE_FIELDS, required=_STATE_FIELDS)
    users, pending = values["users"], values["pending"]
    if not isinstance(users, list) or not isinstance(pending, list):
        raise FieldError("users and pending must be lists")
    if len(users) > MAX_USERS or len(pending) > MAX_PENDING:
        raise FieldError(f"users and pending hold at most {MAX_USERS} each")
    state = IbKeyState(
        phase=Choice(Phase).check(values["phase"], "phase"),
        users=[_read_user(entry) for entry in users],
        pending=[_read_pending(config, entry) for entry in pending],
        pin_sha1=_OCRA_PIN_HASH.check(values["ocra_pin_hash"], "ocra_pin_hash"),
        pin_failures=Whole(0, config.pin_retries).check(values["pin_failures"], "pin_failures"),
        recovery_failures=Whole(0, config.recovery_retries).check(
            values["recovery_failures"], "recovery_failures"
        ),
    )
    if values["pin"] is not None:
        state.pin = _salted(PIN_LABEL, values["pin"], "pin")
    token = values["recovery_token"]
    if token is not None:
        if not isinstance(token, Mapping):
            raise FieldError("recovery_token is malformed")
        state.recovery_token = _salted(TOKEN_LABEL, token, "recovery_token")
        state.recovery_token_failures = Whole(0, config.token_retries - 1).check(
            token.get("failures"), "recovery_token failures"
        )
    return state


def _salted(label: str, value: JsonValue, name: str) -> SaltedHash:
    try:
        return SaltedHash.from_json(label, value)
    except ImageError:
        raise FieldError(f"{name} is malformed") from None


def _read_user(entry: JsonValue) -> User:
    if not isinstance(entry, Mapping):
        raise FieldError("a user entry must be an object")
    names = ("username", "key", "counter")
    check_fields(entry, "user", allowed=names, required=names)
    return User.make(
        _USERNAME.check(entry["username"], "user username"),
        _KEY.check(entry["key"], "user key"),
        _COUNTER.check(entry["counter"], "user counter"),
    )


def _read_pending(config: IbKeyConfig, entry: JsonValue) -> Pending:
    names = ("username", "key", "token", "failures")
    if not isinstance(entry, Mapping):
        raise FieldError("a pending entry must be an object")
    check_fields(entry, "pending", allowed=names, required=names)
    return Pending(
        _USERNAME.check(entry["username"], "pending username"),
        _KEY.check(entry["key"], "pending key"),
        _salted(TOKEN_LABEL, entry["token"], "pending token"),
        Whole(0, config.token_retries - 1).check(entry["failures"], "pending failures"),
    )


def _check_whole(config: IbKeyConfig, image_key: bytes, state: IbKeyState) -> None:
    """What no single field shows: duplicates, the image key, what each phase may hold."""
    names = [user.username for user in state.users] + [p.username for p in state.pending]
    if len(set(names)) != len(names):
        raise FieldError("a user is named twice")
    first_key = state.users[0].key if state.users else None
    if first_key is None and state.pending:
        first_key = state.pending[0].key
    # The image key is the first user's; an activation whose token went void keeps none.
    if first_key is not None and not hmac.compare_digest(first_key, image_key):
        raise FieldError("the image key is not the first user's key")
    if state.phase is Phase.AWAITING_ACTIVATION:
        if state.users or state.pin is not None or state.pin_sha1 is not None:
            raise FieldError("an app awaiting activation has no users or PIN yet")
        if state.recovery_token is not None or state.pin_failures or state.recovery_failures:
            raise FieldError("an app awaiting activation has no recovery state")
    elif not state.users or state.pin is None or state.pin_sha1 is None:
        raise FieldError("an active app needs at least one user and a PIN")
    pin_locked = state.pin_failures >= config.pin_retries
    if state.recovery_token is not None and not (state.phase is Phase.NEEDS_RECOVERY or pin_locked):
        raise FieldError("a recovery token belongs to a locked or reinstalled app")


def write_state(state: IbKeyState) -> dict[str, JsonValue]:
    """The image `state` of an app."""
    recovery: JsonValue = None
    if state.recovery_token is not None:
        recovery = {**state.recovery_token.to_json(), "failures": state.recovery_token_failures}
    return {
        "phase": state.phase.value,
        "users": [
            {"username": u.username, "key": u.key.hex(), "counter": u.counter} for u in state.users
        ],
        "pending": [
            {
                "username": p.username,
                "key": p.key.hex(),
                "token": p.token.to_json(),
                "failures": p.failures,
            }
            for p in state.pending
        ],
        "pin": None if state.pin is None else state.pin.to_json(),
        "ocra_pin_hash": None if state.pin_sha1 is None else state.pin_sha1.hex(),
        "pin_failures": state.pin_failures,
        "recovery_failures": state.recovery_failures,
        "recovery_token": recovery,
    }
