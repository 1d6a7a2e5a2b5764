"""`slsbridge verify`: check a response; exit 0 accepted, 1 refused. The response stays off the
command line (`--response-stdin`, `--response-file`, `--response-env`, else a no-echo prompt)."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, secret_or_prompt, with_bridge
from slsio.secret_args import add_secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("verify", help="verify the response to a challenge")
    parser.add_argument("--serial", required=True)
    parser.add_argument("--challenge-id", required=True)
    add_secret_option(parser, "--response", help="the code (default: prompt)")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_verify))


def _verify(bridge: Bridge, args: argparse.Namespace) -> int:
    response = secret_or_prompt(args, "--response", "Response: ")
    verdict = bridge.verify(args.serial, args.challenge_id, response)
    if args.json:
        print_json(verdict.to_json())
    else:
        print(verdict.reason)
    return 0 if verdict.accepted else 1
