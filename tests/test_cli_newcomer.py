"""What a newcomer types first: `--version`, and a bare command (usage and the commands)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from emulator.cli import main as slsemu
from host_bridge.cli import main as slsbridge
from slsio.cli import package_version

Main = Callable[[Sequence[str] | None], int]
TOOLS: dict[str, Main] = {"slsemu": slsemu, "slsbridge": slsbridge}


@pytest.mark.parametrize("name", TOOLS)
def test_version(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        TOOLS[name](["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"{name} {package_version()}\n"
    assert package_version()[0].isdigit()  # the installed distribution's, e.g. 0.1.0


@pytest.mark.parametrize("name", TOOLS)
def test_bare_command_prints_the_usage_and_the_commands(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert TOOLS[name]([]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: {name}")
    assert "commands:" in out and ("tui" in out if name == "slsemu" else "init" in out)
    assert err.count("\n") == 1 and "choose a command" in err  # the one line of exit 2
