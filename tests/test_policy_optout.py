"""Opt-out, partial opt-out and opt-in (KB2545, KB1198)."""

from __future__ import annotations

import pytest

from host_bridge.policies.devices import NO_DEVICE
from host_bridge.policies.optout import (
    ModeChange,
    OptOut,
    decide_mode_change,
    login_requires_device,
    may_trade,
    parse_mode,
    withdrawal_model,
)


def test_only_the_primary_user_changes_the_settings_and_is_pointed_to() -> None:
    decision = decide_mode_change(ModeChange("trader2", False, "owner", OptOut.NONE, OptOut.FULL))
    assert not decision.allowed
    assert decision.mode is OptOut.NONE
    assert not decision.changed
    assert "owner" in decision.reason  # KB2545: the notice points to the user with the right


@pytest.mark.parametrize("current", list(OptOut))
@pytest.mark.parametrize("requested", list(OptOut))
def test_primary_user_moves_between_any_modes(current: OptOut, requested: OptOut) -> None:
    decision = decide_mode_change(ModeChange("owner", True, "owner", current, requested))
    assert decision.allowed
    assert decision.mode is requested
    assert decision.changed == (current is not requested)


def test_opting_out_restricts_pink_sheet_and_otcbb() -> None:
    for mode in (OptOut.FULL, OptOut.PARTIAL):
        assert not may_trade(mode, "pink")
        assert not may_trade(mode, "OTCBB")
        assert may_trade(mode, "nyse")
    assert may_trade(OptOut.NONE, "pink")
    assert may_trade(OptOut.NONE, "otcbb")


def test_full_opt_out_caps_withdrawals_at_the_no_device_row() -> None:
    assert withdrawal_model(OptOut.FULL, "dscplus") == NO_DEVICE
    assert withdrawal_model(OptOut.PARTIAL, "dscplus") == "dscplus"
    assert withdrawal_model(OptOut.NONE, "scc") == "scc"


def test_partial_opt_out_is_secure_login_not_required_for_trading() -> None:
    assert not login_requires_device(OptOut.PARTIAL, trading_platform=True)
    assert login_requires_device(OptOut.PARTIAL, trading_platform=False)
    assert not login_requires_device(OptOut.FULL, trading_platform=False)
    assert login_requires_device(OptOut.NONE, trading_platform=True)


def test_parse_mode() -> None:
    assert parse_mode("Full") is OptOut.FULL
    assert parse_mode("trading") is OptOut.PARTIAL
    assert parse_mode("partial") is OptOut.PARTIAL
    assert parse_mode("none") is OptOut.NONE
    with pytest.raises(ValueError):
        parse_mode("half")


def test_mode_change_misuse() -> None:
    with pytest.raises(ValueError):
        ModeChange("someone", True, "owner", OptOut.NONE, OptOut.FULL)
    with pytest.raises(ValueError):
        ModeChange("", False, "owner", OptOut.NONE, OptOut.FULL)
