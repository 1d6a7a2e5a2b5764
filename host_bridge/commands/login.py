"""`slsbridge login --user U`: the whole login, interactively (exit 0 accepted, 1 refused)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, read_line, read_secret, with_bridge
from host_bridge.login import SerialSource, run_login
from slsio.cli import UsageError
from slsio.secret_args import add_secret_option, secret_given, secret_option


class TerminalIO:
    """Prompts on stderr, answers from stdin (one line each), messages on stdout."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def ask(self, prompt: str) -> str:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        return read_line()

    def ask_secret(self, prompt: str) -> str:
        return read_secret(False, prompt)

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("login", help="log in: password, device, challenge, response")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password as the first line of stdin")
    parser.add_argument("--device", help="serial of the device to use (else: choose)")
    parser.add_argument("--via", metavar="DEV", help="get the response from a device on DEV")
    add_secret_option(parser, "--pin",
                      help="with --via: the PIN to type on the device")
    parser.add_argument("--baud", type=int, help="with --via (default: the serial client's)")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_login))


def _login(bridge: Bridge, args: argparse.Namespace) -> int:
    # Checked before anything happens: a challenge issued for a login that cannot go on is waste.
    if args.via is None and (secret_given(args, "--pin") or args.baud is not None):
        raise UsageError("--pin and --baud go with --via")
    if args.baud is not None and args.baud <= 0:
        raise UsageError("--baud must be a positive number of bits per second")
    io = TerminalIO(quiet=args.json)
    password = read_line() if args.password_stdin else None
    pin = secret_option(args, "--pin")  # after the password: stdin line 2 with both
    with contextlib.ExitStack() as stack:
        # The port is opened and the device identified before any host step (docs/host-bridge.md)
        source = stack.enter_context(SerialSource(args.via, pin, args.baud)) if args.via else None
        result = run_login(bridge, args.user, io, password=password, device=args.device,
                           source=source)
    if args.json:
        print_json({"accepted": result.accepted, "reason": result.reason,
                    "serial": result.serial})
    else:
        if not result.accepted:
            print(f"Login refused: {result.reason}")
        else:  # with no device used, the reason says why none was needed (opt-out)
            print("Login accepted" if result.serial else f"Login {result.reason}")
    return 0 if result.accepted else 1
