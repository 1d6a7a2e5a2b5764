"""`slsbridge withdraw|share|optout|order|temp|holidays`: exit codes, one-line errors, JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from host_bridge.cli import main
from tests.bridge_helpers import device_answer
from tests.secret_env import env_secret, shown


class Cli:
    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch):
        self.home, self.capsys, self.mp = home, capsys, mp

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.mp.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str, expect: int = 0, stdin: str = "") -> dict[str, object]:
        code, out, err = self(*argv, "--json", stdin=stdin)
        assert code == expect, err
        parsed: dict[str, object] = json.loads(out)
        return parsed


@pytest.fixture
def cli(
    slsemu_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 2\n")
    run = Cli(slsemu_home, capsys, monkeypatch)
    assert run("init")[0] == 0
    return run


def add_user(cli: Cli, name: str, *options: str) -> None:
    code, _, err = cli("user", "add", name, "--password-stdin", *options, stdin="pw\n")
    assert code == 0, err


def provision(cli: Cli, user: str, model: str) -> str:
    extra = env_secret("--pin", "1234") if model == "dscplus" else ()
    image = str(cli.home / f"{user}-{model}.img")
    code, out, err = cli("provision", "--user", user, "--model", model, *extra, "--image", image)
    assert code == 0, err
    return out.strip().split()[-1]


def share_request(cli: Cli, user: str, serial: str, owner: str, model: str) -> tuple[int, str]:
    """`share challenge`, the owner's card answers, `share request` with the owner's password
    and the response on stdin (one line each, in --help order)."""
    issued = cli.json("share", "challenge", "--user", user, "--device", serial)
    response = device_answer(cli.home / f"{owner}-{model}.img", str(issued["challenge"]), 0.0)
    code, out, _ = cli(
        "share", "request", "--user", user, "--device", serial, "--challenge-id",
        str(issued["id"]), "--owner-password-stdin", "--response-stdin", "--json",
        stdin=f"pw\n{response}\n",
    )
    return code, out


def test_withdraw_denied_names_the_device_that_could_confirm(cli: Cli) -> None:
    add_user(cli, "alice")
    scc = provision(cli, "alice", "scc")
    dscplus = provision(cli, "alice", "dscplus")
    code, out, err = cli("withdraw", "--user", "alice", "--device", scc, "--amount", "250000")
    assert code == 1 and err == ""
    assert out.startswith("denied:") and dscplus in out
    answer = cli.json(
        "withdraw", "--user", "alice", "--device", scc, "--amount", "250000", expect=1
    )
    assert answer["alternatives"] == [dscplus]
    assert answer["day_room_cents"] == 20_000_000
    allowed = cli.json(
        "withdraw",
        "--user",
        "alice",
        "--device",
        dscplus,
        "--amount",
        "250000.50",
        "--date",
        "2026-11-28",
    )
    assert allowed["allowed"] is True
    assert allowed["business_day"] == "2026-11-30"
    assert allowed["amount_cents"] == 25_000_050


@pytest.mark.parametrize(
    "args",
    [
        ("--amount", "-5"),
        ("--amount", "abc"),
        ("--amount", "0"),
        ("--amount", "10", "--date", "2026-13-01"),
        ("--amount", "10", "--device", "NOPE"),
        ("--amount", "10", "--date", "0001-01-01"),  # the window would start before year 1
        ("--amount", "10", "--date", "20261102"),  # ISO basic form: not YYYY-MM-DD
    ],
)
def test_withdraw_bad_input_is_one_line_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    add_user(cli, "alice")
    scc = provision(cli, "alice", "scc")
    argv = ["withdraw", "--user", "alice", "--device", scc, *args]
    if "--device" in args:
        argv[3:5] = []
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err


def test_holidays_move_the_business_day(cli: Cli) -> None:
    add_user(cli, "alice")
    scc = provision(cli, "alice", "scc")
    assert cli("holidays", "add", "2026-11-26", "--name", "Thanksgiving")[0] == 0
    assert cli.json("holidays", "list")["holidays"] == [
        {"date": "2026-11-26", "name": "Thanksgiving"}
    ]
    answer = cli.json(
        "withdraw", "--user", "alice", "--device", scc, "--amount", "1", "--date", "2026-11-26"
    )
    assert answer["business_day"] == "2026-11-27"
    assert cli("holidays", "add", "26/11/2026")[0] == 2


def test_share_errors_are_the_seeds_messages(cli: Cli) -> None:
    ident = (
        "--dob",
        "1970-05-17",
        "--citizenship",
        "IT",
        "--residence",
        "CH",
        "--id-type",
        "passport",
        "--id-number",
        "YA1234567",
    )
    add_user(cli, "alice", "--entity", "E1", *ident)
    add_user(cli, "alice2", "--entity", "E1", *ident)
    add_user(cli, "bob", "--entity", "E2")
    weak = provision(cli, "alice2", "scc")
    strong = provision(cli, "alice", "dscplus")
    # Issue 11 point 1's reproducer: neither the owner's password nor a response.
    code, _, err = cli("share", "request", "--user", "alice2", "--device", strong)
    assert code == 1 and "no consent of the device owner" in err
    code, out = share_request(cli, "alice", weak, "alice2", "scc")
    assert code == 1 and "Less secure device" in out
    code, out = share_request(cli, "bob", strong, "alice", "dscplus")
    assert code == 1 and "Different identification information" in out
    assert "YA1234567" not in out
    code, out = share_request(cli, "alice2", strong, "alice", "dscplus")
    approved = json.loads(out)
    assert code == 0 and approved["status"] == "approved"
    cancelled = cli.json("share", "cancel", str(approved["id"]))
    assert cancelled["status"] == "cancelled"
    assert cli("share", "cancel", str(approved["id"]))[0] == 2
    assert cli("share", "approve", "x")[0] == 2
    listed = cli.json("share", "list", "--user", "alice")
    assert isinstance(listed["requests"], list) and len(listed["requests"]) == 3


def test_optout_only_primary_and_trading_restrictions(cli: Cli) -> None:
    add_user(cli, "owner", "--account", "ACC", "--primary")
    add_user(cli, "trader", "--account", "ACC")
    code, out, _ = cli("optout", "set", "--user", "trader", "--mode", "full")
    assert code == 1 and "owner" in out
    assert cli.json("optout", "set", "--user", "owner", "--mode", "trading")["mode"] == "partial"
    assert cli("optout", "trade", "--user", "trader", "--venue", "pink")[0] == 1
    assert cli("optout", "trade", "--user", "trader", "--venue", "nyse")[0] == 0
    assert cli("optout", "set", "--user", "owner", "--mode", "sometimes")[0] == 2
    shown = cli.json("optout", "show", "--user", "trader")
    assert shown["restricted_venues"] == ["otcbb", "pink"]


def test_temporary_code_printed_once_never_twice_in_a_row(cli: Cli) -> None:
    add_user(cli, "alice")
    code, out, _ = cli("temp", "issue", "--user", "alice")
    temporary_code = out.strip()
    assert code == 0 and temporary_code.isdigit() and len(temporary_code) == 8
    assert cli("temp", "issue", "--user", "alice")[0] == 1
    status = cli.json("temp", "status", "--user", "alice")
    assert not shown(temporary_code, json.dumps(status))
    checked = cli("temp", "check", "--user", "alice", "--json", stdin=temporary_code + "\n")
    assert checked[0] == 0 and json.loads(checked[1])["access"] == "full"
    assert cli("temp", "check", "--user", "alice", stdin="12345678\n")[0] == 1
    image = cli.home / "online.img"
    scc = cli.json("temp", "online-scc", "--user", "alice", "--image", str(image))
    assert image.exists() and scc["kind"] == "online_scc"
    assert scc["portal_until"] == pytest.approx(float(str(scc["issued"])) + 21 * 86_400)


def test_order_flow(cli: Cli) -> None:
    add_user(cli, "poor")
    code, out, _ = cli(
        "order", "dscplus", "--user", "poor", "--pin-stdin", "--image", str(cli.home / "x.img"),
        stdin="1234\n",
    )
    assert code == 1 and out == ""
    assert not (cli.home / "x.img").exists()
    add_user(cli, "rich", "--equity", "1000001")
    assert (
        cli(
            "order", "dscplus", "--user", "rich", "--pin-stdin", "--image",
            str(cli.home / "y.img"), stdin="12\n",
        )[0]
        == 2
    )
    order = cli.json(
        "order",
        "dscplus",
        "--user",
        "rich",
        "--pin-stdin",
        "--image",
        str(cli.home / "card.img"),
        stdin="1234\n",
    )
    assert order["status"] == "ordered" and order["hold"] == "held"
    assert order["estimated_shipment"] is not None and order["hold_account"] is not None
    order_id = str(order["id"])
    assert cli.json("order", "ship", order_id, "--date", "2099-01-01")["status"] == "shipped"
    assert cli("order", "activate", order_id, "--pin-stdin", stdin="9999\n")[0] == 1
    activated = cli.json("order", "activate", order_id, "--pin-stdin", stdin="1234\n")
    assert activated["status"] == "activated"
    for argv in (  # a Soft PIN never comes on argv: one line naming the ways, nothing runs
        ("order", "activate", order_id, "--pin", "1234"),
        ("order", "dscplus", "--user", "rich", "--pin", "1234", "--image", str(cli.home / "z")),
    ):
        with pytest.raises(SystemExit) as refused:
            cli(*argv)
        assert refused.value.code == 2
        err = cli.capsys.readouterr().err
        assert err.count("\n") == 1 and "1234" not in err
        assert "--pin-stdin, --pin-file FILE or --pin-env VAR" in err
    assert not (cli.home / "z").exists()
    # No form and no terminal to prompt on: one line naming the forms, nothing ordered.
    code, _, err = cli("order", "dscplus", "--user", "rich", "--image", str(cli.home / "z"))
    assert code == 2 and err.count("\n") == 1
    assert "no terminal to prompt for: Soft PIN (use --pin-stdin, --pin-file or --pin-env)" in err
    assert not (cli.home / "z").exists()
    lost = cli.json("order", "lost", "--serial", str(order["serial"]), "--reason", "stolen")
    assert isinstance(lost["order"], dict) and lost["order"]["hold"] == "kept"
    assert cli("order", "return", order_id)[0] == 2


def test_replacement_reproducer(cli: Cli) -> None:
    """Issue 11 point 2: `order dscplus --replacement` for a user who never had a DSC+ is
    refused; after `order lost` and the Online SCC, the replacement auto-activates three weeks
    after shipment, announced by notices."""
    add_user(cli, "alice")
    assert cli("temp", "issue", "--user", "alice")[0] == 0
    cli.json("temp", "online-scc", "--user", "alice", "--image", str(cli.home / "o.img"))
    image = str(cli.home / "new.img")
    argv = ("order", "dscplus", "--user", "alice", "--replacement", "--pin-stdin")
    code, _, err = cli(*argv, "--image", image, stdin="4321\n")
    assert code == 1 and "reported lost, stolen or inoperable" in err
    old = provision(cli, "alice", "dscplus")
    cli.json("order", "lost", "--serial", old)
    order = cli.json(*argv, "--image", image, stdin="4321\n")
    assert order["replaces"] == old
    order_id = str(order["id"])
    cli.json("order", "ship", order_id, "--date", "2099-01-01")
    sent: Any = cli.json("order", "sweep", "--date", "2099-01-15")
    assert [n["kind"] for n in sent["notices"]] == ["auto-activation-approaching"]
    sent = cli.json("order", "sweep", "--date", "2099-01-22")
    assert [n["kind"] for n in sent["notices"]] == ["auto-activation-imminent"]
    assert sent["activated"][0]["status"] == "activated"
    notices: Any = cli.json("order", "notices", "--user", "alice")["notices"]
    assert [n["kind"] for n in notices] == [
        "confirmation", "auto-activation-approaching", "auto-activation-imminent"
    ]


def test_portal_pin_change_reproducer(cli: Cli) -> None:
    """Issue 11 point 3: `slsbridge pin change` authenticated by the card under the old PIN."""
    add_user(cli, "alice")
    card = provision(cli, "alice", "dscplus")
    issued = cli.json("pin", "challenge", "--serial", card)
    old = device_answer(cli.home / "alice-dscplus.img", str(issued["challenge"]), 0.0, "1234")
    argv = ("pin", "change", "--serial", card, "--challenge-id", str(issued["id"]))
    assert cli(*argv, "--response-stdin", "--new-pin-stdin", stdin="00000000\n5678\n")[0] == 1
    issued = cli.json("pin", "challenge", "--serial", card)
    old = device_answer(cli.home / "alice-dscplus.img", str(issued["challenge"]), 0.0, "1234")
    argv = ("pin", "change", "--serial", card, "--challenge-id", str(issued["id"]))
    assert cli(*argv, "--response-stdin", "--new-pin-stdin", stdin=f"{old}\n56\n")[0] == 2
    changed = cli.json(*argv, "--response-stdin", "--new-pin-stdin", stdin=f"{old}\n5678\n")
    assert changed["changed"] is True
    login = cli.json("challenge", "--serial", card)
    new = device_answer(cli.home / "alice-dscplus.img", str(login["challenge"]), 0.0, "5678")
    code, _, _ = cli("verify", "--serial", card, "--challenge-id", str(login["id"]),
                     *env_secret("--response", new))
    assert code == 0
