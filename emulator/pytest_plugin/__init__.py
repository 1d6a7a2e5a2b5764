"""The slsemu pytest plugin (registered as the `pytest11` entry point `slsemu`).

* `.sls` keypress scripts become test items (`--sls`, or `sls = true` in the ini file): one item
  per file, transport and `[[cases]]` entry; see `items`.
* `--sls-transport inprocess|serial|tui|all` (repeatable; ini `sls_transports`) picks where they
  run; `--sls-port DEV` runs the serial items against the device on DEV instead of a served one.
* Fixtures: `sls_device`, `sls_bridge`, `sls_serial_pair`, `sls_tui` (see `fixtures`).
* Markers: `sls`, `sls_<transport>`, `sls_<model>` on every item, for `-m` selection.

Importing this module must stay cheap (it loads in every pytest run of an environment that has
slsemu installed): Textual, the serial server and the host bridge load only when used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_model.models import MODEL_NAMES

from .fixtures import sls_bridge, sls_device, sls_serial_pair, sls_tui
from .front_matter import TRANSPORTS
from .items import SlsFile, SlsItem
from .options import OPTIONS, SlsOptions, sls_options

__all__ = ["SlsFile", "SlsItem", "sls_bridge", "sls_device", "sls_serial_pair", "sls_tui"]

SUFFIX = ".sls"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slsemu", "slsemu keypress scripts")
    group.addoption(
        "--sls", action="store_true", default=None, help="collect *.sls keypress scripts as tests"
    )
    group.addoption(
        "--sls-transport",
        action="append",
        choices=(*TRANSPORTS, "all"),
        metavar="NAME",
        help="run .sls items in-process (default), over a served serial line or through the TUI; "
        "repeatable, or 'all'",
    )
    group.addoption("--sls-port", metavar="DEV", help="run serial .sls items against this device")
    group.addoption("--sls-baud", type=int, metavar="N", help="speed of --sls-port")
    group.addoption(
        "--sls-keep-going",
        action="store_true",
        help="report every failed expectation of an .sls item, not only the first",
    )
    parser.addini("sls", "collect *.sls keypress scripts as tests", type="bool", default=False)
    parser.addini(
        "sls_transports", "transports for .sls items (default: inprocess)", type="args",
        default=["inprocess"],
    )


def pytest_configure(config: pytest.Config) -> None:
    markers = {"sls": "an .sls keypress script item"}
    markers |= {f"sls_{name}": f".sls item run on the {name} transport" for name in TRANSPORTS}
    markers |= {f"sls_{model}": f".sls item for a {model} device" for model in MODEL_NAMES}
    for name, text in markers.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.stash[OPTIONS] = _options(config)


def _options(config: pytest.Config) -> SlsOptions:
    flag = config.getoption("sls")
    enabled = bool(flag) if flag is not None else bool(config.getini("sls"))
    port: str | None = config.getoption("sls_port")
    chosen: list[str] | None = config.getoption("sls_transport")
    if chosen is None:
        chosen = ["serial"] if port is not None else list(config.getini("sls_transports"))
    if "all" in chosen:
        chosen = list(TRANSPORTS)
    unknown = sorted(set(chosen) - set(TRANSPORTS))
    if unknown:
        raise pytest.UsageError(f"sls_transports: unknown transport {unknown[0]!r}")
    if port is not None and "serial" not in chosen:
        raise pytest.UsageError("--sls-port runs the serial items: add --sls-transport serial")
    transports = tuple(name for name in TRANSPORTS if name in chosen)
    baud = config.getoption("sls_baud")
    return SlsOptions(enabled, transports, port, baud, bool(config.getoption("sls_keep_going")))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SlsFile | None:
    if file_path.suffix == SUFFIX and sls_options(parent.config).enabled:
        file: SlsFile = SlsFile.from_parent(parent, path=file_path)
        return file
    return None
