"""`slsbridge holidays add|remove|list`: the non-business days of the withdrawal window."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import with_bridge
from host_bridge.commands._policy import add_json, emit, parse_date, policies, subcommands


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("holidays", help="configure holidays (non-business days)")
    sub = subcommands(parser, "holidays_command")
    add = sub.add_parser("add", help="make DATE a holiday")
    add.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
    add.add_argument("--name", help="what the holiday is")
    add_json(add)
    add.set_defaults(handler=with_bridge(_add))
    remove = sub.add_parser("remove", help="make DATE an ordinary day again")
    remove.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
    add_json(remove)
    remove.set_defaults(handler=with_bridge(_remove))
    listing = sub.add_parser("list", help="list the holidays")
    add_json(listing)
    listing.set_defaults(handler=with_bridge(_list))


def _add(bridge: Bridge, args: argparse.Namespace) -> int:
    day = parse_date(args.date)
    assert day is not None
    added = policies(bridge).add_holiday(day, args.name)
    emit(
        args,
        {"date": day.isoformat(), "added": added},
        f"{day.isoformat()} is {'now' if added else 'already'} a holiday",
    )
    return 0


def _remove(bridge: Bridge, args: argparse.Namespace) -> int:
    day = parse_date(args.date)
    assert day is not None
    removed = policies(bridge).remove_holiday(day)
    emit(
        args,
        {"date": day.isoformat(), "removed": removed},
        f"{day.isoformat()} is {'no longer' if removed else 'not'} a holiday",
    )
    return 0


def _list(bridge: Bridge, args: argparse.Namespace) -> int:
    days = policies(bridge).holiday_list()
    emit(
        args,
        {"holidays": [{"date": d.isoformat(), "name": n} for d, n in days]},
        "\n".join(f"{d.isoformat()} {n or ''}".rstrip() for d, n in days) or "(no holidays)",
    )
    return 0
