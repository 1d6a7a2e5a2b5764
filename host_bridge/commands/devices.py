"""`slsbridge devices --user U` (what a login may select), `activate`, `revoke`."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from slsio.cli import emit
from slsio.secret_args import add_secret_option, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("devices", help="list the devices a user's login may select")
    parser.add_argument("--user", required=True)
    parser.add_argument("--all", action="store_true", help="every linked device, any status")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_devices))
    activate = subparsers.add_parser("activate", help="activate a pending device (IB Key)")
    activate.add_argument("--serial", required=True)
    add_secret_option(activate, "--token",
                      help="IB Key: the activation token sent by SMS")
    add_secret_option(activate, "--pin",
                      help="IB Key: the PIN chosen in the app")
    add_json(activate)
    activate.set_defaults(handler=with_bridge(_activate))
    revoke = subparsers.add_parser("revoke", help="take a device out of use for good")
    revoke.add_argument("--serial", required=True)
    add_json(revoke)
    revoke.set_defaults(handler=with_bridge(_revoke))


def _devices(bridge: Bridge, args: argparse.Namespace) -> int:
    found = bridge.all_devices(args.user) if args.all else bridge.devices(args.user)
    if args.json:
        print_json({"user": args.user, "devices": [d.to_json() for d in found]})
    else:
        for device in found:
            print(f"{device.serial}  {device.model}  {device.status}")
    return 0


def _activate(bridge: Bridge, args: argparse.Namespace) -> int:
    token = secret_option(args, "--token")  # the token first, then the PIN
    pin = secret_option(args, "--pin")
    if not bridge.activate(args.serial, token=token, pin=pin):
        emit(args, {"serial": args.serial, "activated": False},
             f"{args.serial} not activated (wrong or expired token)")
        return 1
    emit(args, {"serial": args.serial, "activated": True}, f"{args.serial} active")
    return 0


def _revoke(bridge: Bridge, args: argparse.Namespace) -> int:
    bridge.revoke(args.serial)
    emit(args, {"serial": args.serial, "status": "revoked"}, f"{args.serial} revoked")
    return 0
