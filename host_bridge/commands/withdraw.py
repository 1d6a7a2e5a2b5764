"""`slsbridge withdraw`: apply the withdrawal limits of the confirming device (KB2895).

Exit 0 allowed (and booked in the ledger), 1 denied (the answer names the user's devices that
could confirm it), 2 bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import with_bridge
from host_bridge.commands._policy import add_json, emit, parse_date, policies
from host_bridge.inputs import money_to_cents
from host_bridge.policies.withdrawal import format_usd


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "withdraw", help="check and book a withdrawal confirmed with one of the user's devices"
    )
    parser.add_argument("--user", required=True)
    parser.add_argument("--device", required=True, metavar="SERIAL", help="confirming device")
    parser.add_argument("--amount", required=True, help="USD, e.g. 250000 or 250000.50")
    parser.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_withdraw))


def _withdraw(bridge: Bridge, args: argparse.Namespace) -> int:
    amount = money_to_cents(args.amount)
    day = parse_date(args.date)
    decision = policies(bridge).withdraw(args.user, args.device, amount, day)
    data = {
        "allowed": decision.allowed,
        "reason": decision.reason,
        "user": args.user,
        "device": args.device,
        "amount_cents": amount,
        "business_day": decision.business_day.isoformat(),
        "day_room_cents": decision.day_room,
        "window_room_cents": decision.window_room,
        "alternatives": list(decision.alternatives),
    }
    if decision.allowed:
        text = (
            f"allowed: {decision.reason} (business day {decision.business_day.isoformat()}; "
            f"left today {format_usd(decision.day_room)}, "
            f"in five business days {format_usd(decision.window_room)})"
        )
    else:
        text = f"denied: {decision.reason}"
    emit(args, data, text)
    return 0 if decision.allowed else 1
