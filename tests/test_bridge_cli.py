"""`slsbridge` as a user runs it: exit 0/1/2, one-line errors, JSON output, login."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.login import run_login
from tests.bridge_helpers import dscplus_response, read_image
from tests.secret_env import env_secret, shown

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def home(slsemu_home: Path) -> Path:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")  # cheap hashing for tests
    return slsemu_home


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path) -> Cli:
    def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        return run(capsys, monkeypatch, *argv, stdin=stdin)

    assert call("init")[0] == 0
    assert call("user", "add", "alice", "--password-stdin", "--dob", "1980-02-03",
                "--id-type", "passport", "--id-number", "X1234567", "--equity", "600000",
                "--primary", stdin="hunter2\n")[0] == 0
    return call


def test_user_show_never_prints_secrets(cli: Cli, home: Path) -> None:
    code, out, _ = cli("user", "show", "alice", "--json")
    info = json.loads(out)
    assert code == 0 and info["equity_cents"] == 60_000_000 and info["primary_user"] is True
    assert info["id_number"] == "****4567" and "hunter2" not in out and "pw_hash" not in out


@pytest.mark.parametrize(("model", "prefix"), [("dscplus", "DP"), ("dscplus_classic", "DC")])
def test_provision_challenge_verify_replay(cli: Cli, home: Path, model: str, prefix: str) -> None:
    image = home / "card.img"
    code, out, _ = cli("provision", "--user", "alice", "--model", model,
                       *env_secret("--pin", "2468"),
                       "--image", str(image))
    serial = out.strip()
    assert code == 0 and serial.startswith(prefix)
    code, out, _ = cli("challenge", "--serial", serial, "--json")
    challenge = json.loads(out)
    assert code == 0 and set(challenge) >= {"id", "challenge"}
    response = dscplus_response(read_image(image), "2468", challenge["challenge"],
                                challenge["expires_at"] - 60)
    args = ("verify", "--serial", serial, "--challenge-id", challenge["id"])
    assert cli(*args, "--response-stdin", stdin=response + "\n")[0] == 0
    code, out, _ = cli(*args, *env_secret("--response", response), "--json")
    assert code == 1 and json.loads(out) == {"accepted": False,
                                             "reason": "challenge already used"}
    code, out, _ = cli("devices", "--user", "alice", "--json")
    assert [d["serial"] for d in json.loads(out)["devices"]] == [serial]
    code, out, _ = cli("audit", "--json")
    assert code == 0 and not shown(response, out) and not shown("2468", out)
    # No form and no terminal: one line naming the forms, and nothing was verified.
    code, out, err = cli(*args)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "no terminal to prompt for: Response (use --response-stdin" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("provision", "--user", "nobody", "--model", "scc", "--image", "x.img"),
        ("provision", "--user", "alice", "--model", "warp", "--image", "x.img"),
        ("provision", "--user", "alice", "--model", "scc"),
        ("challenge", "--serial", "NOPE"),
        ("verify", "--serial", "NOPE", "--challenge-id", "x", *env_secret("--response", "1")),
        ("user", "show", "bob"),
        ("user", "add", "bad name!", "--password-stdin"),
        ("user", "add", "carol", "--password-stdin", "--equity", "lots"),
        ("user", "add", "carol", "--password-stdin", "--dob", "1980-13-45"),
        ("user", "add", "carol", "--password-stdin", "--dob", "19800203"),
        ("user", "add", "carol", "--password-stdin", "--dob", "1980-W05-7"),
        ("user", "add", "carol", "--password-stdin", "--id-number", "1" * 5000),
        ("user", "add", "carol", "--password-stdin", "--citizenship", ""),
        ("unlock", "--serial", "NOPE"),
        ("pskc", "import", "/nonexistent.pskcxml", "--user", "alice"),
        ("devices",),
        ("login", "--user", "alice", "--password-stdin",
         *env_secret("--pin", "2468")),  # --pin needs --via
        ("login", "--user", "alice", "--password-stdin", "--via", "/dev/null", "--baud", "-5"),
        ("sms", "outbox", "--serial", "NOPE"),
        ("share", "list", "--user", "nobody"),
        ("order", "list", "--user", "nobody"),
        ("audit", "--limit", "0"),
        ("audit", "--limit", "-1"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(cli: Cli, argv: tuple[str, ...]) -> None:
    try:
        code, _, err = cli(*argv, stdin="pw\n")
    except SystemExit as exc:  # argparse usage errors
        code, err = int(exc.code or 0), "usage"
    assert code == 2
    assert err.count("\n") <= 1 and "Traceback" not in err


def test_an_overlong_challenge_id_is_bad_input_and_changes_nothing(cli: Cli, home: Path) -> None:
    code, out, _ = cli("provision", "--user", "alice", "--model", "scc",
                       "--image", str(home / "scc.img"))
    assert code == 0
    before = cli("audit", "--json")[1]
    code, _, err = cli("verify", "--serial", out.strip(), "--challenge-id", "a" * 5000,
                       *env_secret("--response", "ABCDEF"))
    assert code == 2 and err.count("\n") == 1 and "challenge id" in err
    assert cli("audit", "--json")[1] == before


def test_a_bridge_toml_that_is_not_utf8_is_one_line_exit_2(cli: Cli, home: Path) -> None:
    (home / "bridge.toml").write_bytes(b"\xff\xfescrypt_n = 256\n")
    code, _, err = cli("devices", "--user", "alice")
    assert code == 2 and err.count("\n") == 1 and "bridge.toml" in err


def test_identification_is_refused_without_echoing_the_id_number(cli: Cli) -> None:
    code, _, err = cli("user", "add", "carol", "--password-stdin", "--id-number",
                       "Q" * 65, stdin="pw\n")
    assert code == 2 and "id number" in err and "QQQQ" not in err
    assert cli("user", "show", "carol")[0] == 2  # nothing was added


def test_voice_callback_is_only_for_sms_devices(cli: Cli, home: Path) -> None:
    code, out, _ = cli("provision", "--user", "alice", "--model", "scc",
                       "--image", str(home / "scc.img"))
    code, _, err = cli("challenge", "--serial", out.strip(), "--voice")
    assert code == 2 and err.count("\n") == 1 and "SMS" in err


def test_user_add_twice_changes_nothing(cli: Cli) -> None:
    code, _, err = cli("user", "add", "alice", "--password-stdin", stdin="other\n")
    assert code == 2 and "already exists" in err


def test_login_with_an_scc(cli: Cli, home: Path) -> None:
    image = home / "scc.img"
    serial = cli("provision", "--user", "alice", "--model", "scc", "--image", str(image))[1].strip()
    key = read_image(image).key

    class Scripted:
        """A user who reads the two cells the login asks for off the card."""

        def __init__(self) -> None:
            self.shown: list[str] = []

        def ask(self, prompt: str) -> str:
            self.shown.append(prompt)
            first, second = prompt.split("cells ")[1].split(" (")[0].split(" and ")
            return scc_response(key, int(first), int(second))

        def ask_secret(self, prompt: str) -> str:
            return "hunter2"

        def say(self, text: str) -> None:
            self.shown.append(text)

    with Bridge.open() as bridge:
        result = run_login(bridge, "alice", Scripted())
        assert (result.accepted, result.serial) == (True, serial)
        wrong = run_login(bridge, "alice", Scripted(), password="wrong")
        assert (wrong.accepted, wrong.reason) == (False, "wrong user name or password")


def test_login_cli_refuses_a_wrong_response(cli: Cli, home: Path) -> None:
    cli("provision", "--user", "alice", "--model", "scc", "--image", str(home / "a.img"))
    serial = cli("provision", "--user", "alice", "--model", "dscplus", *env_secret("--pin", "1234"),
                 "--image", str(home / "b.img"))[1].strip()
    code, out, _ = cli("login", "--user", "alice", "--password-stdin",
                       stdin="hunter2\n2\n00000000\n")
    assert code == 1 and "Select Second Factor Device" in out and "wrong response" in out
    code, out, _ = cli("login", "--user", "alice", "--password-stdin", "--device", serial,
                       "--json", stdin="hunter2\n00000000\n")
    assert code == 1 and json.loads(out)["serial"] == serial
    code, out, _ = cli("login", "--user", "alice", "--password-stdin", stdin="nope\n")
    assert code == 1 and "wrong user name or password" in out


def test_login_via_without_serial_support_is_exit_2(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "host_bridge.serial_login", None)  # as if not installed
    code, _, err = cli("login", "--user", "alice", "--password-stdin", "--via", "/dev/null",
                       stdin="hunter2\n")
    assert code == 2 and "serial_login" in err and "not installed" in err


def test_sms_cli_outbox_and_resend_limit(cli: Cli) -> None:
    serial = cli("provision", "--user", "alice", "--model", "sms")[1].strip()
    code, out, _ = cli("challenge", "--serial", serial, "--json")
    challenge_id = json.loads(out)["id"]
    code, out, _ = cli("sms", "outbox", "--serial", serial, "--json")
    sent = json.loads(out)
    assert code == 0 and sent["channel"] == "sms"
    code, _, err = cli("challenge", "--serial", serial)
    assert code == 1 and "resend limit" in err
    code, out, _ = cli("challenge", "--serial", serial, "--voice", "--json")
    assert code == 0 and json.loads(out)["id"] == challenge_id  # the same code, read out
    code, out, _ = cli("sms", "outbox", "--serial", serial, "--json")
    assert json.loads(out)["channel"] == "voice" and json.loads(out)["code"] == sent["code"]
    assert cli("verify", "--serial", serial, "--challenge-id", challenge_id,
               *env_secret("--response", sent["code"]))[0] == 0


def test_a_locked_device_is_refused_then_unlocked(cli: Cli, home: Path) -> None:
    serial = cli("provision", "--user", "alice", "--model", "scc", "--image",
                 str(home / "c.img"))[1].strip()
    for _ in range(5):
        challenge_id = json.loads(cli("challenge", "--serial", serial, "--json")[1])["id"]
        assert cli("verify", "--serial", serial, "--challenge-id", challenge_id,
                   *env_secret("--response", "AAAAAA"))[0] == 1
    code, _, err = cli("challenge", "--serial", serial)
    assert code == 1 and "device locked" in err
    assert json.loads(cli("devices", "--user", "alice", "--json")[1])["devices"] == []
    code, out, _ = cli("unlock", "--serial", serial, "--json")
    assert code == 0 and json.loads(out) == {"serial": serial, "status": "unlocked"}
    assert cli("challenge", "--serial", serial)[0] == 0
    code, out, _ = cli("revoke", "--serial", serial, "--json")
    assert code == 0 and json.loads(out) == {"serial": serial, "status": "revoked"}
    assert cli("challenge", "--serial", serial)[0] == 1


def test_pskc_export_with_a_preshared_key_and_import_a_linotp_style_file(
    cli: Cli, home: Path
) -> None:
    vectors = Path(__file__).parent / "vectors" / "pskc"
    code, out, err = cli("pskc", "import", str(vectors / "linotp-style-ocra.pskcxml"),
                         "--user", "alice", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["imported"] == ["OC0000000001", "OC0000000002", "OC0000000003"]
    out_file = home / "moved.pskcxml"
    key_hex = "00112233445566778899aabbccddeeff"
    code, out, err = cli("pskc", "export", "--serial", "OC0000000001", "--serial", "OC0000000003",
                         "--out", str(out_file), "--key-stdin", "--json", stdin=key_hex + "\n")
    assert (code, err) == (0, "") and json.loads(out)["encrypted"] is True
    text = out_file.read_text()
    assert out_file.stat().st_mode & 0o777 == 0o600
    assert "MjQ2OA==" not in text and "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=" not in text  # PIN, key
    assert "urn:ietf:params:xml:ns:keyprov:pskc:ocra" in text and "<pskc:Suite>" in text
    code, _, err = cli("pskc", "export", "--serial", "OC0000000001", "--out",
                       str(home / "x.pskcxml"), "--key-stdin", stdin="abcd\n")
    assert code == 2 and err.count("\n") == 1 and "16, 24 or 32 bytes" in err


def test_pskc_import_refusal_is_one_line_and_imports_nothing(cli: Cli, home: Path) -> None:
    vectors = Path(__file__).parent / "vectors" / "pskc"
    code, out, err = cli("pskc", "import", str(vectors / "bad-linotp-nagra-suite.pskcxml"),
                         "--user", "alice")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "OC0000000003" in err and "cannot be a working ibkey" in err
    assert cli("devices", "--user", "alice", "--json")[1].count("OC000") == 0
