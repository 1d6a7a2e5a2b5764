"""Holding a device to its transition table (`firmware_model.fsm`): shared by the property tests."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from firmware_model.fsm import TIMEOUT, Rule, allowed

Table = Mapping[tuple[Any, str], Rule[Any, Any]]


def reachable(table: Table, before: enum.Enum, kinds: Iterable[str]) -> set[enum.Enum]:
    """The states the table allows after events of `kinds` in turn from `before` (time passing
    may also do nothing: no timer was due)."""
    states = {before}
    for kind in kinds:
        later: set[enum.Enum] = set()
        for state in states:
            later |= allowed(table, state, kind)
            if kind == TIMEOUT:
                later.add(state)
        states = later
    return states


def assert_move(table: Table, before: enum.Enum, kinds: Iterable[str], after: enum.Enum) -> None:
    """Fail unless the table allows `before` → `after` by `kinds`."""
    kinds = tuple(kinds)
    assert after in reachable(table, before, kinds), (
        f"{before.name} --{' then '.join(kinds)}--> {after.name} is not in the table"
    )


def after_wait(waited: float, *kinds: str) -> tuple[str, ...]:
    """`kinds`, after a `TIMEOUT` if time passed first (at the same `now` no timer falls due:
    each was due strictly later than the call that set it)."""
    return (TIMEOUT, *kinds) if waited else kinds
