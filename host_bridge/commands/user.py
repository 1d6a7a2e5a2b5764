"""`slsbridge user add|show`: users with a scrypt password and identification data."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import (
    add_json,
    parse_date,
    print_json,
    read_secret,
    with_bridge,
)
from host_bridge.domain import Identification
from host_bridge.inputs import money_to_cents


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("user", help="add or show users")
    sub = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    add = sub.add_parser("add", help="add a user (password from a prompt or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--dob", help="date of birth YYYY-MM-DD")
    add.add_argument("--citizenship")
    add.add_argument("--residence", help="country of legal residence")
    add.add_argument("--id-type", help="ID document type (passport, national_id, ssn, ...)")
    add.add_argument("--id-number", help="ID document number or SSN")
    add.add_argument("--entity", help="legal entity the user belongs to")
    add.add_argument("--account", help="account id (default: the user name)")
    add.add_argument("--equity", default="0", help="account equity in USD")
    add.add_argument("--balance", default="0", help="cash balance in USD")
    add.add_argument("--primary", action="store_true", help="the account's primary user")
    add_json(add)
    add.set_defaults(handler=with_bridge(_add))
    show = sub.add_parser("show", help="show a user (no password data)")
    show.add_argument("name")
    add_json(show)
    show.set_defaults(handler=with_bridge(_show))


def _add(bridge: Bridge, args: argparse.Namespace) -> int:
    dob = parse_date(args.dob)
    ident = Identification(None if dob is None else dob.isoformat(), args.citizenship,
                           args.residence, args.id_type, args.id_number)
    equity, balance = money_to_cents(args.equity), money_to_cents(args.balance)
    password = read_secret(args.password_stdin)
    record = bridge.add_user(
        args.name, password, identification=ident, entity=args.entity, account=args.account,
        equity_cents=equity, balance_cents=balance, primary=args.primary,
    )
    if args.json:
        print_json(record.public())
    else:
        print(f"added user {record.name} (account {record.account})")
    return 0


def _show(bridge: Bridge, args: argparse.Namespace) -> int:
    record = bridge.user(args.name)
    info = record.public()
    info["devices"] = [d.to_json() for d in bridge.all_devices(args.name)]
    if args.json:
        print_json(info)
    else:
        for name, value in info.items():
            if name != "devices":
                print(f"{name}: {value}")
        for device in info["devices"]:
            print(f"device: {device['serial']} {device['model']} {device['status']}")
    return 0

