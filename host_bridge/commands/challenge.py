"""`slsbridge challenge --serial S`: issue a single-use, expiring challenge."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("challenge", help="issue a challenge for a device")
    parser.add_argument("--serial", required=True)
    parser.add_argument("--voice", action="store_true",
                        help="SMS devices: deliver the code by voice callback")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_challenge))


def _challenge(bridge: Bridge, args: argparse.Namespace) -> int:
    challenge = bridge.issue_challenge(args.serial, voice=args.voice)
    if args.json:
        print_json(challenge.to_json())
    else:
        print(f"id: {challenge.id}")
        print(f"challenge: {challenge.text}")
    return 0
