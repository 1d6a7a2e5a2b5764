"""`slsbridge unlock` (admin: a device the bridge locked) and `slsbridge unlock-code` (DSC+ in
device PIN mode: the code for the lock number the card shows)."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from slsio.cli import emit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("unlock", help="unlock a device locked by wrong answers")
    parser.add_argument("--serial", required=True)
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_unlock))
    code = subparsers.add_parser("unlock-code", help="unlock code for a PIN-locked DSC+")
    code.add_argument("--serial", required=True)
    code.add_argument("--lock-number", required=True, help="the number the locked card shows")
    add_json(code)
    code.set_defaults(handler=with_bridge(_unlock_code))


def _unlock(bridge: Bridge, args: argparse.Namespace) -> int:
    bridge.unlock(args.serial)
    emit(args, {"serial": args.serial, "status": "unlocked"}, f"{args.serial} unlocked")
    return 0


def _unlock_code(bridge: Bridge, args: argparse.Namespace) -> int:
    code = bridge.unlock_code(args.serial, args.lock_number)
    if args.json:
        print_json({"serial": args.serial, "unlock_code": code})
    else:
        print(code)
    return 0
