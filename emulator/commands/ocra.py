"""`slsemu ocra`: compute one RFC 6287 OCRA response by hand (DESIGN.md contract).

    slsemu ocra --suite S --key HEX [--counter N] [--question Q] [--pin P | --pin-hash HEX]
                [--session HEX] [--time UNIX_SECONDS]

`--key`, `--pin` and `--pin-hash` each also come as `-stdin`, `-file FILE` and `-env VAR`
(slsio/secret_args.py), so a secret need not show in the process list.

Prints the response, exactly that, on one line. Input that does not fit the suite is a
`SuiteError` from the library, which the CLI edge turns into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import math
import re

from emulator.commands.image import parse_key
from firmware_model.ocra import OcraCalculator
from slsio.cli import EXIT_OK, add_json, emit
from slsio.secret_args import add_secret_option, required_secret, secret_option

_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


def natural(text: str) -> int:
    """An argparse type: a whole number ≥ 0 in ASCII digits (int() also takes '١٢' and '1_0')."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError("must be a whole number of 0 or more")
    return int(text)


def unix_seconds(text: str) -> int | float:
    """An argparse type: Unix seconds, a whole or decimal number ≥ 0 that fits a float."""
    if _SECONDS.fullmatch(text) is None or not math.isfinite(float(text)):
        raise argparse.ArgumentTypeError("must be Unix seconds (e.g. 1700000000 or 1700000000.5)")
    return float(text) if "." in text else int(text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ocra`."""
    parser = subparsers.add_parser(
        "ocra",
        help="compute an RFC 6287 OCRA response",
        description="Compute an RFC 6287 OCRA response and print it.",
    )
    parser.add_argument("--suite", required=True, help="e.g. OCRA-1:HOTP-SHA1-8:QN06-PSHA1")
    add_secret_option(
        parser, "--key", help="the device key, in hex", required=True, contract=True,
        metavar="HEX",
    )
    parser.add_argument("--counter", type=natural, metavar="N", help="C, for suites with C")
    parser.add_argument("--question", metavar="Q", help="the challenge (Q)")
    pin = parser.add_mutually_exclusive_group()
    add_secret_option(
        parser, "--pin", help="the PIN, hashed with the suite's P hash", group=pin,
        contract=True, metavar="P",
    )
    add_secret_option(
        parser, "--pin-hash", help="the already hashed PIN, in hex", group=pin,
        contract=True, metavar="HEX",
    )
    parser.add_argument("--session", metavar="HEX", help="session information (S), in hex")
    parser.add_argument(
        "--time",
        type=unix_seconds,
        metavar="UNIX_SECONDS",
        help="the time, for suites with T (the suite's T gives the step)",
    )
    add_json(parser)
    parser.set_defaults(handler=ocra_command)


def ocra_command(args: argparse.Namespace) -> int:
    """Print the OCRA response for the given inputs."""
    key = parse_key(required_secret(args, "--key"))
    pin, pin_hash = secret_option(args, "--pin"), secret_option(args, "--pin-hash")
    calculator = OcraCalculator(args.suite, key)
    response = calculator.response(
        counter=args.counter,
        question=args.question,
        pin=pin,
        pin_hash=pin_hash,
        session=args.session,
        time=args.time,
    )
    emit(args, {"suite": calculator.suite.text, "response": response}, response)
    return EXIT_OK
