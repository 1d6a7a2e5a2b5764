"""`slsbridge order dscplus|ship|activate|return|lost|list|notices|sweep`: the client's DSC+
ordering flow (KB1943) — eligibility, Soft PIN, the USD 20 hold and the account it is held on,
the estimated shipment date, activation with the Soft PIN, a replacement's auto-activation three
weeks after shipment and its notices. `dscplus` exits 1 when the user is not eligible,
`activate` when the Soft PIN is wrong. The Soft PIN never goes on the command line (`--pin-stdin`,
`--pin-file`, `--pin-env` or the prompt; `--pin P` is refused, exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import secret_or_prompt, with_bridge
from host_bridge.commands._policy import (
    add_json,
    emit,
    parse_date,
    parse_id,
    policies,
    subcommands,
)
from host_bridge.policies.ordering import LossReason
from host_bridge.policies.withdrawal import format_usd
from host_bridge.repos.orders import OrderRecord
from slsio.secret_args import add_secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("order", help="order a DSC+ and follow the order")
    sub = subcommands(parser, "order_command")
    new = sub.add_parser("dscplus", help="order a DSC+ (writes the card's image)")
    new.add_argument("--user", required=True)
    new.add_argument("--image", required=True, type=Path, help="where to write the card image")
    add_secret_option(
        new, "--pin", plain=False, help="the four-digit Soft PIN (default: prompt)"
    )
    new.add_argument(
        "--replacement", action="store_true",
        help="replace a DSC+ reported lost, stolen or inoperable (order lost)",
    )
    new.add_argument(
        "--hold-account", metavar="ACCOUNT", help="the account the USD 20 is held on"
    )
    add_json(new)
    new.set_defaults(handler=with_bridge(_order))
    activate = sub.add_parser("activate", help="the client activates the shipped card")
    activate.add_argument("id")
    add_secret_option(
        activate, "--pin", plain=False, help="the Soft PIN chosen at ordering (default: prompt)"
    )
    add_json(activate)
    activate.set_defaults(handler=with_bridge(_activate))
    returned = sub.add_parser("return", help="the card came back: release the hold")
    returned.add_argument("id")
    add_json(returned)
    returned.set_defaults(handler=with_bridge(_return))
    ship = sub.add_parser("ship", help="the card was shipped (auto-activates 3 weeks later)")
    ship.add_argument("id")
    ship.add_argument("--date", help="shipment date YYYY-MM-DD (default: now)")
    add_json(ship)
    ship.set_defaults(handler=with_bridge(_ship))
    lost = sub.add_parser(
        "lost", help="a card was lost, stolen or damaged, or its account closed: revoke it"
    )
    lost.add_argument("--serial", required=True)
    lost.add_argument(
        "--reason", choices=[r.value for r in LossReason], default=LossReason.LOST.value,
        help="damaged: intentionally (the hold is kept); inoperable: the hold is released "
        "once the card is returned; closed: the account was closed without returning the card "
        "(the hold is kept, no replacement)",
    )
    add_json(lost)
    lost.set_defaults(handler=with_bridge(_lost))
    listing = sub.add_parser("list", help="list orders")
    listing.add_argument("--user")
    add_json(listing)
    listing.set_defaults(handler=with_bridge(_list))
    notices = sub.add_parser("notices", help="the notices a user sees")
    notices.add_argument("--user", required=True)
    add_json(notices)
    notices.set_defaults(handler=with_bridge(_notices))
    sweep = sub.add_parser(
        "sweep", help="send auto-activation notices; auto-activate replacements due"
    )
    sweep.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")
    add_json(sweep)
    sweep.set_defaults(handler=with_bridge(_sweep))


def _line(record: OrderRecord) -> str:
    replaces = f" replacing {record.replaces}" if record.replaces else ""
    return (
        f"order {record.id}: {record.model} {record.serial or '-'} for {record.user}{replaces}: "
        f"{record.state.value}; hold {format_usd(record.hold_cents)} {record.hold.value} on "
        f"{record.hold_account or '-'}; estimated shipment {record.ship_estimate or '-'}"
    )


def _order(bridge: Bridge, args: argparse.Namespace) -> int:
    soft_pin = secret_or_prompt(args, "--pin", "Soft PIN: ")
    record = policies(bridge).order_dscplus(
        args.user, soft_pin, args.image, replacing=args.replacement,
        hold_account=args.hold_account,
    )
    emit(args, record.to_json(), _line(record))
    return 0


def _ship(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).ship_order(parse_id(args.id), parse_date(args.date))
    emit(args, record.to_json(), _line(record))
    return 0


def _activate(bridge: Bridge, args: argparse.Namespace) -> int:
    order_id = parse_id(args.id)
    soft_pin = secret_or_prompt(args, "--pin", "Soft PIN: ")
    record = policies(bridge).activate_order(order_id, soft_pin)
    emit(args, record.to_json(), _line(record))
    return 0


def _return(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).return_order(parse_id(args.id))
    emit(args, record.to_json(), _line(record))
    return 0


def _lost(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).report_lost(args.serial, LossReason(args.reason))
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


def _notices(bridge: Bridge, args: argparse.Namespace) -> int:
    found = policies(bridge).notices(args.user)
    emit(
        args,
        {"notices": [n.to_json() for n in found]},
        "\n".join(f"{n.kind}: {n.text}" for n in found) or "(no notices)",
    )
    return 0


def _sweep(bridge: Bridge, args: argparse.Namespace) -> int:
    rules = policies(bridge)
    day = parse_date(args.date)
    sent = rules.send_notices(day)
    records = rules.sweep_orders(day)
    lines = [f"notice to {n.user}: {n.text}" for n in sent] + [_line(r) for r in records]
    emit(
        args,
        {"activated": [r.to_json() for r in records], "notices": [n.to_json() for n in sent]},
        "\n".join(lines) or "(nothing to activate)",
    )
    return 0
