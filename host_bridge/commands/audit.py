"""`slsbridge audit`: the audit log (every decision; never a secret)."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from host_bridge.audit import MAX_ROWS, describe
from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="show the audit log")
    parser.add_argument("--user")
    parser.add_argument("--serial")
    parser.add_argument("--since-id", type=int, default=0)
    parser.add_argument("--limit", type=int, default=1000)
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_audit))


def _audit(bridge: Bridge, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_ROWS:
        raise UsageError(f"--limit must be 1 to {MAX_ROWS}")
    rows = bridge.audit(user=args.user, serial=args.serial, since_id=args.since_id,
                        limit=args.limit)
    if args.json:
        print_json({"rows": [row.to_json() for row in rows]})
        return 0
    for row in rows:
        when = datetime.datetime.fromtimestamp(row.at, datetime.UTC).isoformat(timespec="seconds")
        who = " ".join(part for part in (row.user or "", row.serial or "") if part)
        print(f"{row.id} {when} {row.event} {row.outcome} {who} {describe(row.detail)}".rstrip())
    return 0
