"""`slsbridge unlock` (admin: a device the bridge locked, or a user's password, Temporary Code or
activation token locked by wrong guesses) and `slsbridge unlock-code` (DSC+ in device PIN mode:
the code for the lock number the card shows)."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from host_bridge.domain import Guessed
from slsio.cli import UsageError, emit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "unlock", help="unlock a device, or a user's secrets, locked by wrong answers"
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--serial", help="a device locked by wrong answers")
    which.add_argument("--user", help="a user whose typed secrets are locked by wrong guesses")
    parser.add_argument(
        "--secret", choices=[s.value for s in Guessed],
        help="with --user: only this secret's budget (default: all of them)",
    )
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_unlock))
    code = subparsers.add_parser("unlock-code", help="unlock code for a PIN-locked DSC+")
    code.add_argument("--serial", required=True)
    code.add_argument("--lock-number", required=True, help="the number the locked card shows")
    add_json(code)
    code.set_defaults(handler=with_bridge(_unlock_code))


def _unlock(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.user is not None:
        secrets = tuple(Guessed) if args.secret is None else (Guessed(args.secret),)
        cleared = bridge.guesses.unlock(args.user, secrets)
        emit(
            args, {"user": args.user, "cleared": {s.value: n for s, n in cleared.items()}},
            "; ".join(f"{s.label}: {n} wrong guesses cleared" for s, n in cleared.items()),
        )
        return 0
    if args.secret is not None:
        raise UsageError("--secret goes with --user")
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
