"""`slsbridge verify`: check a response; exit 0 accepted, 1 refused. `--response R` is the plain
form DESIGN.md's contract promises (it shows in `ps`; `R` = `-` reads it from stdin, as
docs/host-bridge.md has always said); `--response-stdin`, `--response-file` and `--response-env`
keep it off the command line, and without any form a no-echo prompt asks for it."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import (
    add_json,
    print_json,
    read_line,
    secret_or_prompt,
    with_bridge,
)
from slsio.secret_args import add_secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("verify", help="verify the response to a challenge")
    parser.add_argument("--serial", required=True)
    parser.add_argument("--challenge-id", required=True)
    add_secret_option(
        parser, "--response", help="the code ('-' reads it from stdin; default: prompt)",
        contract=True, metavar="R",
    )
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_verify))


def _verify(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.response == "-":
        response = read_line()
    else:
        response = secret_or_prompt(args, "--response", "Response: ")
    verdict = bridge.verify(args.serial, args.challenge_id, response)
    if args.json:
        print_json(verdict.to_json())
    else:
        print(verdict.reason)
    return 0 if verdict.accepted else 1
