"""Every `slsemu` command that reports data also prints one JSON object with `--json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.cli import main
from firmware_model.ocra import ocra
from firmware_model.scc import scc_grid
from tests.secret_env import env_secret

KEY_HEX = "3132333435363738393031323334353637383930"
KEY = bytes.fromhex(KEY_HEX)


def json_out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "one JSON object on one line"
    document: dict[str, object] = json.loads(out)
    return document


def test_ocra_json(capsys: pytest.CaptureFixture[str]) -> None:
    suite = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"
    document = json_out(
        capsys, ["ocra", "--suite", suite, *env_secret("--key", KEY_HEX), "--question", "123456",
                 *env_secret("--pin", "1234"), "--json"],
    )
    assert document == {"suite": suite, "response": ocra(suite, KEY, question="123456", pin="1234")}


def test_hotp_and_totp_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert json_out(capsys, ["hotp", *env_secret("--key", KEY_HEX), "--counter", "1",
                             "--json"]) == {
        "counter": 1, "code": "287082"}  # RFC 4226 appendix D
    assert json_out(capsys, ["totp", *env_secret("--key", KEY_HEX), "--time", "59", "--json"]) == {
        "time": 59, "code": "287082"}  # 6 digits unless told, like hotp  # RFC 6238 appendix B


def test_image_new_and_scc_show_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scc.img"
    made = json_out(
        capsys, ["image", "new", "--model", "scc", *env_secret("--key", KEY_HEX), "--serial", "SC1",
                 "--out", str(path), "--json"],
    )
    assert made == {"serial": "SC1", "model": "scc", "path": str(path)}
    card = json_out(capsys, ["scc", "show", str(path), "--json"])
    assert card["serial"] == "SC1" and card["online"] is False
    cells = card["cells"]
    assert isinstance(cells, dict) and len(cells) == 224
    assert [cells[str(i)] for i in range(1, 225)] == list(scc_grid(KEY))
    assert KEY_HEX not in json.dumps(made) + json.dumps(card)
