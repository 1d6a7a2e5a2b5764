"""`slsbridge order dscplus|ship|activate|return|lost|list|sweep`: the client's DSC+ ordering
flow (KB1943) — eligibility, Soft PIN, the USD 20 hold, auto-activation three weeks after
shipment. `dscplus` exits 1 when the user is not eligible.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import read_secret, with_bridge
from host_bridge.commands._policy import (
    add_json,
    emit,
    parse_date,
    parse_id,
    policies,
    subcommands,
)
from host_bridge.policies.withdrawal import format_usd
from host_bridge.repos.orders import OrderRecord
from slsio.secret_args import add_secret_option, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("order", help="order a DSC+ and follow the order")
    sub = subcommands(parser, "order_command")
    new = sub.add_parser("dscplus", help="order a DSC+ (writes the card's image)")
    new.add_argument("--user", required=True)
    new.add_argument("--image", required=True, type=Path, help="where to write the card image")
    add_secret_option(new, "--pin", metavar="PIN", help="the four-digit Soft PIN (default: prompt)")
    new.add_argument(
        "--replacement", action="store_true", help="replace a lost, stolen or broken DSC+"
    )
    add_json(new)
    new.set_defaults(handler=with_bridge(_order))
    for name, help_text, handler in (
        ("activate", "the client activates the shipped card", _activate),
        ("return", "the card came back: release the hold", _return),
    ):
        action = sub.add_parser(name, help=help_text)
        action.add_argument("id")
        add_json(action)
        action.set_defaults(handler=with_bridge(handler))
    ship = sub.add_parser("ship", help="the card was shipped (auto-activates 3 weeks later)")
    ship.add_argument("id")
    ship.add_argument("--date", help="shipment date YYYY-MM-DD (default: now)")
    add_json(ship)
    ship.set_defaults(handler=with_bridge(_ship))
    lost = sub.add_parser("lost", help="a card was lost, stolen or damaged: revoke it")
    lost.add_argument("--serial", required=True)
    add_json(lost)
    lost.set_defaults(handler=with_bridge(_lost))
    listing = sub.add_parser("list", help="list orders")
    listing.add_argument("--user")
    add_json(listing)
    listing.set_defaults(handler=with_bridge(_list))
    sweep = sub.add_parser("sweep", help="auto-activate cards shipped three weeks ago or more")
    sweep.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")
    add_json(sweep)
    sweep.set_defaults(handler=with_bridge(_sweep))


def _line(record: OrderRecord) -> str:
    return (
        f"order {record.id}: {record.model} {record.serial or '-'} for {record.user}: "
        f"{record.state.value}; hold {format_usd(record.hold_cents)} {record.hold.value}"
    )


def _order(bridge: Bridge, args: argparse.Namespace) -> int:
    soft_pin = secret_option(args, "--pin")
    if soft_pin is None:
        soft_pin = read_secret(False, "Soft PIN: ")
    record = policies(bridge).order_dscplus(
        args.user, soft_pin, args.image, replacing=args.replacement
    )
    emit(args, record.to_json(), _line(record))
    return 0


def _ship(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).ship_order(parse_id(args.id), parse_date(args.date))
    emit(args, record.to_json(), _line(record))
    return 0


def _activate(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).activate_order(parse_id(args.id))
    emit(args, record.to_json(), _line(record))
    return 0


def _return(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).return_order(parse_id(args.id))
    emit(args, record.to_json(), _line(record))
    return 0


def _lost(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).report_lost(args.serial)
    if record is None:
        emit(args, {"serial": args.serial, "order": None}, f"device {args.serial} revoked")
    else:
        emit(args, {"serial": args.serial, "order": record.to_json()}, _line(record))
    return 0


def _list(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.user is not None:
        bridge.user(args.user)  # an unknown user is bad input (exit 2), not an empty list
    records = policies(bridge).orders(args.user)
    emit(
        args,
        {"orders": [r.to_json() for r in records]},
        "\n".join(_line(r) for r in records) or "(no orders)",
    )
    return 0


def _sweep(bridge: Bridge, args: argparse.Namespace) -> int:
    records = policies(bridge).sweep_orders(parse_date(args.date))
    emit(
        args,
        {"activated": [r.to_json() for r in records]},
        "\n".join(_line(r) for r in records) or "(nothing to activate)",
    )
    return 0
