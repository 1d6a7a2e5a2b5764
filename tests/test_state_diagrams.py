"""Each device's state diagram in docs/devices-*.md is the one its transition table draws.

Refresh the docs after changing a table: `python -m tests.test_state_diagrams`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from firmware_model import dscplus, dscplus_classic, ibkey, legacy_dsc, scc
from firmware_model.fsm import Rule, mermaid

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Diagram(NamedTuple):
    name: str
    doc: str
    table: Any
    initial: Any


DIAGRAMS = (
    Diagram("dscplus", "devices-dscplus.md", dscplus.TRANSITIONS, dscplus.State.OFF),
    Diagram(
        "dscplus_classic",
        "devices-dscplus.md",
        dscplus_classic.TRANSITIONS,
        dscplus.State.OFF,
    ),
    Diagram("dsc", "devices-other.md", legacy_dsc.TRANSITIONS, legacy_dsc.DscState.OFF),
    Diagram("scc", "devices-other.md", scc.TRANSITIONS, scc.SccState.OFF),
    # IB Key: one table, drawn as the screens' moves by buttons and time, then by API calls
    # (lower-case kinds), and its durable phases.
    Diagram(
        "ibkey-buttons",
        "devices-other.md",
        {k: r for k, r in ibkey.SCREEN_TRANSITIONS.items() if not k[1].islower()},
        ibkey.Screen.CLOSED,
    ),
    Diagram(
        "ibkey-api",
        "devices-other.md",
        {k: r for k, r in ibkey.SCREEN_TRANSITIONS.items() if k[1].islower()},
        ibkey.Screen.CLOSED,
    ),
    Diagram(
        "ibkey-phases",
        "devices-other.md",
        ibkey.PHASE_TRANSITIONS,
        ibkey.Phase.AWAITING_ACTIVATION,
    ),
)


def _block(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- state diagram {name}: generated from the transition table by "
        r"tests/test_state_diagrams.py -->\n```mermaid\n)(.*?)(```\n)",
        re.DOTALL,
    )


def drawn(diagram: Diagram) -> str:
    text = (DOCS / diagram.doc).read_text(encoding="utf-8")
    found = _block(diagram.name).search(text)
    assert found is not None, f"{diagram.doc} has no state diagram block for {diagram.name}"
    return found.group(2)


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda d: d.name)
def test_the_docs_show_the_diagram_the_table_draws(diagram: Diagram) -> None:
    assert drawn(diagram) == mermaid(diagram.table, diagram.initial), (
        "run `python -m tests.test_state_diagrams` to refresh the docs"
    )


def test_every_rule_of_the_table_shows_as_an_arrow() -> None:
    text = mermaid(dscplus.TRANSITIONS, dscplus.State.OFF)
    assert "    LOCK_NUMBER --> UNLOCK: OK\n" in text
    assert "    PIN --> CHALLENGE: OK\n" in text
    fewer = {key: rule for key, rule in dscplus.TRANSITIONS.items() if key[1] != "OK"}
    assert "\n    PIN --> CHALLENGE" not in mermaid(fewer, dscplus.State.OFF)
    one: dict[tuple[Any, str], Rule[Any, Any]] = {
        (dscplus.State.OFF, "POWER"): Rule(frozenset({dscplus.State.PIN}))
    }
    assert mermaid(one, dscplus.State.OFF) == (
        "stateDiagram-v2\n    [*] --> OFF\n    OFF --> PIN: POWER\n"
    )


def main() -> None:
    for diagram in DIAGRAMS:
        path = DOCS / diagram.doc
        text = path.read_text(encoding="utf-8")
        found = _block(diagram.name).search(text)
        if found is None:
            raise SystemExit(f"{diagram.doc}: no state diagram block for {diagram.name}")
        table = mermaid(diagram.table, diagram.initial)
        path.write_text(text[: found.start(2)] + table + text[found.end(2) :], encoding="utf-8")


if __name__ == "__main__":
    main()
