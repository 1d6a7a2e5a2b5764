"""One shape for every device's state machine: a State enum and one table that is the whole truth.

Theory of operation. Each device module (h11's `_state.py` is the model) has an `Enum` of states
and one table `TRANSITIONS: Mapping[tuple[State, kind], Rule]`. A *kind* is what happened: a class
of buttons (`"DIGIT"` for 0-9, else the button's own name: `"POWER"`, `"OK"`, …) or one of the
device's own causes (`"TIMEOUT"`: time passed; `"BATTERY"`: the last press the battery had; an
API call such as `"push"`). A `Rule` names the handler that runs and *every* state it may leave
the machine in — staying put included, when it can. A (state, kind) with no rule does nothing:
the state stays.

So the table is checked both ways: a property test per device drives random sequences and fails
as soon as a move is not in `allowed(...)`, and `mermaid(...)` draws the state diagram in
`docs/devices-*.md` from the same table (a test keeps the docs current).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from firmware_model.device import DIGITS

__all__ = ["DIGIT", "TIMEOUT", "Rule", "allowed", "kind_of", "mermaid"]

S = TypeVar("S", bound=enum.Enum)
H = TypeVar("H")

DIGIT = "DIGIT"
"""The kind of every digit button 0-9."""
TIMEOUT = "TIMEOUT"
"""The kind of a move made by time passing (auto power-off, a notice or code that ends)."""


@dataclass(frozen=True, slots=True)
class Rule(Generic[S, H]):
    """What one kind of event does in one state: `handler` runs and leaves the machine in one of
    `targets`. `handler` is None when the device's own code makes the move (its clock, its
    battery, or the API method the kind names)."""

    targets: frozenset[S]
    handler: H | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("a rule leads somewhere (list the state itself to stay)")


def kind_of(button: str) -> str:
    """The table kind of a button: `DIGIT` for 0-9, else the button's name."""
    return DIGIT if button in DIGITS else button


def allowed(table: Mapping[tuple[S, str], Rule[S, H]], state: S, kind: str) -> frozenset[S]:
    """The states an event of `kind` may leave the machine in from `state` (only `state` itself
    when the table has no rule: the event does nothing)."""
    rule = table.get((state, kind))
    return frozenset((state,)) if rule is None else rule.targets


def mermaid(
    table: Mapping[tuple[S, str], Rule[S, H]],
    initial: S,
    *,
    name: Callable[[S], str] = lambda state: state.name,
) -> str:
    """The table as a Mermaid `stateDiagram-v2`: one arrow per (from, to), labelled with the
    kinds that make that move; arrows in the order the Enum lists the states, so the text is
    stable."""
    rank = {state: position for position, state in enumerate(type(initial))}
    edges: dict[tuple[S, S], set[str]] = {}
    for (state, kind), rule in table.items():
        for to in rule.targets:
            edges.setdefault((state, to), set()).add(kind)
    lines = ["stateDiagram-v2", f"    [*] --> {name(initial)}"]
    for (source, to), kinds in sorted(edges.items(), key=lambda e: (rank[e[0][0]], rank[e[0][1]])):
        lines.append(f"    {name(source)} --> {name(to)}: {', '.join(sorted(kinds))}")
    return "\n".join(lines) + "\n"
