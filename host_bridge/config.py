"""The bridge's configuration: `bridge.toml` in the data folder, defaults from the seed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from host_bridge.errors import BridgeError
from host_bridge.passwords import ScryptParams
from slsio.toml import TomlError, read_toml

CONFIG_FILE_NAME: Final = "bridge.toml"


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """Tunable rules. Defaults follow the seed; a `bridge.toml` in the data folder overrides them.

    `challenge_ttl` seconds a challenge stays answerable; `lockout_after` consecutive wrong
    answers lock a device; `counter_window` is the IB Key look-ahead; `time_window` the legacy
    DSC window in 30-s steps either side of now + drift; `sms_resend_seconds` the minimum time
    between two new SMS codes (KB3196: 2 minutes); `sms_digits` the SMS code length;
    `activation_ttl` how long an IB Key activation token sent by SMS stays valid;
    `push_seconds` how long an IB Key push waits for the app's answer (the app's own default);
    `serialization_retries` how often a unit of work runs again after a PostgreSQL
    serialization failure or deadlock; `store` the store URL (`SLSEMU_STORE` wins over it).
    """

    challenge_ttl: float = 120.0
    lockout_after: int = 5
    counter_window: int = 10
    time_window: int = 1
    sms_resend_seconds: float = 120.0
    sms_digits: int = 6
    activation_ttl: float = 86_400.0
    push_seconds: float = 120.0
    scrypt_n: int = 1 << 14
    busy_timeout_ms: int = 30_000
    serialization_retries: int = 30
    store: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.challenge_ttl <= 86_400:
            raise ValueError("challenge_ttl must be 1 to 86400 seconds")
        if not 1 <= self.lockout_after <= 1000:
            raise ValueError("lockout_after must be 1 to 1000")
        if not 0 <= self.counter_window <= 1000:
            raise ValueError("counter_window must be 0 to 1000")
        if not 0 <= self.time_window <= 100:
            raise ValueError("time_window must be 0 to 100 steps")
        if not 0 <= self.sms_resend_seconds <= 86_400:
            raise ValueError("sms_resend_seconds must be 0 to 86400")
        if not 4 <= self.sms_digits <= 10:
            raise ValueError("sms_digits must be 4 to 10")
        if not 60 <= self.activation_ttl <= 30 * 86_400:
            raise ValueError("activation_ttl must be 60 s to 30 days")
        if not 1 <= self.push_seconds <= 86_400:
            raise ValueError("push_seconds must be 1 to 86400 seconds")
        ScryptParams(n=self.scrypt_n)
        if not 0 <= self.busy_timeout_ms <= 600_000:
            raise ValueError("busy_timeout_ms must be 0 to 600000")
        if not 0 <= self.serialization_retries <= 1000:
            raise ValueError("serialization_retries must be 0 to 1000")
        if self.store is not None and not self.store.strip():
            raise ValueError("store must be a URL (sqlite:///PATH or postgresql://…)")

    @property
    def scrypt(self) -> ScryptParams:
        return ScryptParams(n=self.scrypt_n)

    @classmethod
    def load(cls, home: Path) -> BridgeConfig:
        """Defaults, overridden by `home/bridge.toml` if it exists. Bad files: `BridgeError`."""
        path = home / CONFIG_FILE_NAME
        values = read_settings(path)
        if values is None:
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise BridgeError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if name == "store":
                if not isinstance(value, str):
                    raise BridgeError(f"{path}: store must be a URL string")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BridgeError(f"{path}: {name} must be a number")
            if known[name] == "int" and not isinstance(value, int):  # lockout_after = 2.5
                raise BridgeError(f"{path}: {name} must be a whole number")
        try:
            return cls(**values)
        except (ValueError, TypeError) as exc:
            raise BridgeError(f"{path}: {exc}") from None


def read_settings(path: Path) -> dict[str, Any] | None:
    """The settings file `path` (None if there is none); `BridgeError` if it is malformed."""
    try:
        return read_toml(path)
    except FileNotFoundError:
        return None
    except TomlError as exc:
        raise BridgeError(str(exc)) from None
