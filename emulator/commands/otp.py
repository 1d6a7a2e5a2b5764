"""`slsemu hotp` and `slsemu totp`: compute an RFC 4226 HOTP or RFC 6238 TOTP code by hand.

    slsemu hotp --key HEX --counter N [--digits D] [--algorithm A]
    slsemu totp --key HEX [--time T] [--step S] [--t0 T0] [--digits D] [--algorithm A]

`totp` reads the wall clock when `--time` is not given (the library never does).
"""

from __future__ import annotations

import argparse
import time

from emulator.commands.image import parse_key
from emulator.commands.ocra import natural, unix_seconds
from firmware_model.hotp import ALGORITHMS, MAX_DIGITS, MIN_OTP_DIGITS, hotp, totp
from slsio.cli import EXIT_OK, UsageError, add_json, emit
from slsio.secret_args import add_secret_option, required_secret

_DIGIT_CHOICES = range(MIN_OTP_DIGITS, MAX_DIGITS + 1)


def _common(parser: argparse.ArgumentParser, default_digits: int) -> None:
    add_secret_option(parser, "--key", help="the key, in hex", required=True)
    parser.add_argument(
        "--digits",
        type=natural,
        choices=_DIGIT_CHOICES,
        default=default_digits,
        metavar="D",
        help=f"code length, {MIN_OTP_DIGITS}-{MAX_DIGITS} (default {default_digits})",
    )
    parser.add_argument(
        "--algorithm",
        type=str.lower,
        choices=ALGORITHMS,
        default="sha1",
        help="HMAC hash (default sha1)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `hotp` and `totp`."""
    hotp_parser = subparsers.add_parser("hotp", help="compute an RFC 4226 HOTP code")
    _common(hotp_parser, 6)
    hotp_parser.add_argument("--counter", required=True, type=natural, metavar="N")
    add_json(hotp_parser)
    hotp_parser.set_defaults(handler=hotp_command)

    totp_parser = subparsers.add_parser("totp", help="compute an RFC 6238 TOTP code")
    _common(totp_parser, 6)
    totp_parser.add_argument(
        "--time", type=unix_seconds, metavar="T", help="Unix seconds (default: now)"
    )
    totp_parser.add_argument(
        "--step", type=natural, default=30, metavar="S", help="seconds per step (default 30)"
    )
    totp_parser.add_argument(
        "--t0", type=natural, default=0, metavar="T0", help="Unix seconds of step 0 (default 0)"
    )
    add_json(totp_parser)
    totp_parser.set_defaults(handler=totp_command)


def hotp_command(args: argparse.Namespace) -> int:
    """Print the HOTP code."""
    key = parse_key(required_secret(args, "--key"))
    try:
        code = hotp(key, args.counter, digits=args.digits, algorithm=args.algorithm)
    except ValueError as exc:  # out-of-range input: the library's message names no secret
        raise UsageError(str(exc)) from None
    emit(args, {"counter": args.counter, "code": code}, code)
    return EXIT_OK


def totp_command(args: argparse.Namespace) -> int:
    """Print the TOTP code for --time, or for now."""
    key = parse_key(required_secret(args, "--key"))
    now = time.time() if args.time is None else args.time
    try:
        code = totp(
            key, now, step=args.step, t0=args.t0, digits=args.digits, algorithm=args.algorithm
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    emit(args, {"time": now, "code": code}, code)
    return EXIT_OK
