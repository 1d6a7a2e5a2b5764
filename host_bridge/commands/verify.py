"""`slsbridge verify`: check a response; exit 0 accepted, 1 refused."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, read_line, with_bridge


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("verify", help="verify the response to a challenge")
    parser.add_argument("--serial", required=True)
    parser.add_argument("--challenge-id", required=True)
    parser.add_argument("--response", required=True, help="the code ('-' reads it from stdin)")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_verify))


def _verify(bridge: Bridge, args: argparse.Namespace) -> int:
    response = read_line() if args.response == "-" else args.response
    verdict = bridge.verify(args.serial, args.challenge_id, response)
    if args.json:
        print_json(verdict.to_json())
    else:
        print(verdict.reason)
    return 0 if verdict.accepted else 1
