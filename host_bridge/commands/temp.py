"""`slsbridge temp issue|online-scc|status|check|reactivate`: temporary access while the
permanent device is missing (KB70, KB69, KB1873).

`issue` prints the Temporary Code once (only its hash is stored); it exits 1 when the rule
"never two in a row" refuses it. `online-scc` writes the Online SCC image (valid 21 days).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import read_line, with_bridge
from host_bridge.commands._policy import add_json, emit, policies, subcommands
from host_bridge.services.temporary import TempRecord
from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("temp", help="Temporary Code and Online Security Code Card")
    sub = subcommands(parser, "temp_command")
    issue = sub.add_parser("issue", help="issue a Temporary Code (printed once)")
    issue.add_argument("--user", required=True)
    add_json(issue)
    issue.set_defaults(handler=with_bridge(_issue))
    scc = sub.add_parser("online-scc", help="print an Online SCC with a working Temporary Code")
    scc.add_argument("--user", required=True)
    scc.add_argument("--image", required=True, type=Path, help="where to write the card image")
    add_json(scc)
    scc.set_defaults(handler=with_bridge(_online_scc))
    status = sub.add_parser("status", help="the user's temporary access and what it allows now")
    status.add_argument("--user", required=True)
    add_json(status)
    status.set_defaults(handler=with_bridge(_status))
    check = sub.add_parser("check", help="check a Temporary Code read from stdin")
    check.add_argument("--user", required=True)
    add_json(check)
    check.set_defaults(handler=with_bridge(_check))
    react = sub.add_parser("reactivate", help="reactivate the permanent device (Online SCC)")
    react.add_argument("--user", required=True)
    react.add_argument("--device", required=True, metavar="SERIAL")
    add_json(react)
    react.set_defaults(handler=with_bridge(_reactivate))


def _line(record: TempRecord) -> str:
    what = "Temporary Code" if record.kind == "temporary_code" else f"Online SCC {record.serial}"
    return f"{what} #{record.id}: {record.access}"


def _issue(bridge: Bridge, args: argparse.Namespace) -> int:
    issued = policies(bridge).issue_temporary_code(args.user)
    # The code is shown here, once; the store keeps only its scrypt hash.
    emit(args, {**issued.record.to_json(), "code": issued.code}, issued.code)
    return 0


def _online_scc(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).issue_online_scc(args.user, args.image)
    emit(args, record.to_json(), f"{_line(record)}; image written to {args.image}")
    return 0


def _status(bridge: Bridge, args: argparse.Namespace) -> int:
    records = policies(bridge).temp_status(args.user)
    emit(
        args,
        {"user": args.user, "access": [r.to_json() for r in records]},
        "\n".join(_line(r) for r in records) or "(no temporary access)",
    )
    return 0


def _check(bridge: Bridge, args: argparse.Namespace) -> int:
    code = read_line("Temporary Code: ").strip()
    if not code or len(code) > 64:
        raise UsageError("a Temporary Code is 1 to 64 characters")
    access = policies(bridge).check_temporary_code(args.user, code)
    value = "refused" if access is None else access.value
    emit(args, {"user": args.user, "access": value}, value)
    return 0 if access is not None and value != "expired" else 1


def _reactivate(bridge: Bridge, args: argparse.Namespace) -> int:
    policies(bridge).reactivate(args.user, args.device)
    emit(
        args,
        {"user": args.user, "device": args.device, "status": "active"},
        f"device {args.device} is active again",
    )
    return 0
