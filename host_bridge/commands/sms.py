"""`slsbridge sms outbox`: the simulated phone — the codes the bridge sent by SMS or voice."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from host_bridge.repos.outbox import Message, Outbox


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sms", help="the SMS / voice outbox (simulated phone)")
    sub = parser.add_subparsers(dest="sms_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    outbox = sub.add_parser("outbox", help="the latest code sent to a device")
    outbox.add_argument("--serial", required=True)
    add_json(outbox)
    outbox.set_defaults(handler=with_bridge(_outbox))


def _outbox(bridge: Bridge, args: argparse.Namespace) -> int:
    return show_latest(bridge, bridge.outbox, args, lambda m: {
        "channel": m.channel, "at": m.at, "challenge_id": m.challenge_id, "code": m.code,
    }, lambda m: f"{m.channel}: {m.code}")


def show_latest(
    bridge: Bridge, outbox: Outbox, args: argparse.Namespace,
    fields: Callable[[Message], dict[str, object]], line: Callable[[Message], str],
) -> int:
    """Print the newest message of `outbox` for `args.serial` (exit 1: none). One place for the
    SMS and the push outbox commands."""
    bridge.device(args.serial)  # an unknown device is bad input (exit 2), not "no message"
    message = outbox.latest(args.serial)
    if message is None:
        if args.json:
            print_json({"serial": args.serial, "message": None})
        else:
            print("no message")
        return 1
    if args.json:
        print_json({"serial": args.serial, **fields(message)})
    else:
        print(line(message))
    return 0
