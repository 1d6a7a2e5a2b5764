"""The policies' configuration: `policies.toml` in the data folder, defaults from the seed
(docs/policies.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from host_bridge.config import read_settings
from host_bridge.errors import BridgeError
from host_bridge.policies import sharing as sh
from host_bridge.policies import temporary as tmp
from host_bridge.policies.devices import KNOWN_MODELS, NO_DEVICE
from host_bridge.policies.ordering import DEFAULT_ORDERING, OrderingConfig
from host_bridge.policies.withdrawal import DEFAULT_LIMITS, Limit


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The policies' configuration; defaults follow the seed (docs/policies.md)."""

    limits: Mapping[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    temporary: tmp.TemporaryConfig = tmp.DEFAULT_TEMPORARY
    ordering: OrderingConfig = DEFAULT_ORDERING
    temp_code_digits: int = 8
    needs_compliance: Callable[[sh.ShareRequest], bool] = sh.different_entities

    def __post_init__(self) -> None:
        if not 6 <= self.temp_code_digits <= 16:
            raise ValueError("a Temporary Code has 6 to 16 digits")


POLICY_FILE_NAME: Final = "policies.toml"
_USD_PER: Final = 100


def load_policy_config(home: Path) -> PolicyConfig:
    """Defaults, overridden by `home/policies.toml` if it exists (docs/policies.md).

    Amounts are whole US dollars; a withdrawal limit is `[per_day, per_window]` with the word
    "unlimited" for no cap. Unknown or malformed settings raise `BridgeError`.
    """
    path = home / POLICY_FILE_NAME
    data = read_settings(path)
    if data is None:
        return PolicyConfig()
    try:
        return _config_from(data)
    except (ValueError, TypeError) as exc:
        raise BridgeError(f"{path}: {exc}") from None


def _config_from(data: Mapping[str, Any]) -> PolicyConfig:
    unknown = set(data) - {"withdrawal_limits", "ordering", "temporary"}
    if unknown:
        raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}")
    limits = dict(DEFAULT_LIMITS)
    for model, pair in _table(data, "withdrawal_limits").items():
        if model not in KNOWN_MODELS | {NO_DEVICE}:
            raise ValueError(f"withdrawal_limits: unknown device model {model!r}")
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"withdrawal_limits.{model} must be [per_day, per_window]")
        limits[model] = Limit(*(None if v == "unlimited" else _cents(v, model) for v in pair))
    ordering = _table(data, "ordering")
    _only(
        ordering,
        "ordering",
        {"mobile_client_balance", "additional_device_equity", "hold", "auto_activation_days"},
    )
    base = DEFAULT_ORDERING
    order_config = OrderingConfig(
        mobile_client_balance_cents=_cents(
            ordering.get("mobile_client_balance", base.mobile_client_balance_cents // _USD_PER),
            "mobile_client_balance",
        ),
        additional_device_equity_cents=_cents(
            ordering.get(
                "additional_device_equity", base.additional_device_equity_cents // _USD_PER
            ),
            "additional_device_equity",
        ),
        hold_cents=_cents(ordering.get("hold", base.hold_cents // _USD_PER), "hold"),
        auto_activation=dt.timedelta(
            days=_count(
                ordering.get("auto_activation_days", base.auto_activation.days),
                "auto_activation_days",
            )
        ),
    )
    temporary = _table(data, "temporary")
    _only(
        temporary,
        "temporary",
        {"full_access_days", "portal_only_days", "online_scc_days", "code_digits"},
    )
    defaults = tmp.DEFAULT_TEMPORARY
    temp_config = tmp.TemporaryConfig(
        full_access=dt.timedelta(
            days=_count(
                temporary.get("full_access_days", defaults.full_access.days), "full_access_days"
            )
        ),
        portal_only=dt.timedelta(
            days=_count(
                temporary.get("portal_only_days", defaults.portal_only.days), "portal_only_days"
            )
        ),
        online_scc_validity=dt.timedelta(
            days=_count(
                temporary.get("online_scc_days", defaults.online_scc_validity.days),
                "online_scc_days",
            )
        ),
    )
    return PolicyConfig(
        limits=limits,
        temporary=temp_config,
        ordering=order_config,
        temp_code_digits=_count(temporary.get("code_digits", 8), "code_digits"),
    )


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"{name} must be a table")
    return table


def _only(table: Mapping[str, Any], name: str, known: set[str]) -> None:
    unknown = set(table) - known
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(f'{name}.{k}' for k in sorted(unknown))}")


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValueError(f"{name} must be a whole number from 0 to 10000")
    return value


def _cents(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise ValueError(f'{name}: an amount is a whole number of US dollars or "unlimited"')
    return value * _USD_PER
