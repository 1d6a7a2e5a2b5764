"""`slsemu demo`: a scripted DSC+ login on a built-in demo card, step by step, no terminal needed.

The demo makes a fresh DSC+ image in `$SLSEMU_HOME/demo/` with a fixed, published key and PIN
(DEMO ONLY: anybody can compute this card's codes), draws a 6-digit challenge the way the host
does, runs the packaged login script (`emulator/data/dscplus-login.sls`, also
`examples/dscplus-login.sls`) printing every step and the display after it, then checks the
response the way the host would, with `firmware_model.ocra.ocra`. Exit 0 when the host accepts it.
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys
from importlib import resources
from pathlib import Path

from emulator.commands.ocra import unix_seconds
from emulator.images import ImageLock, save_image
from emulator.session import DeviceSession
from firmware_model.device import ImageSpec
from firmware_model.image import DeviceImage
from firmware_model.models import new_image, random_digits
from firmware_model.ocra import ocra
from firmware_model.script import (
    Hold,
    Press,
    Step,
    Type,
    Wait,
    format_step,
    parse_script,
    run_script,
)
from slsio.cli import EXIT_NEGATIVE, EXIT_OK, UsageError
from slsio.home import data_home

# Demo-only secrets, published on purpose: never use them for anything real.
DEMO_KEY = bytes.fromhex("3132333435363738393031323334353637383930")  # "12345678901234567890"
DEMO_PIN = "1234"
DEMO_SERIAL = "DPDEMO00001"
DEMO_IMAGE_NAME = "dscplus-demo.img"
LOGIN_SCRIPT = "dscplus-login.sls"
CHALLENGE_DIGITS = 6


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `demo`."""
    parser = subparsers.add_parser(
        "demo", help="a scripted DSC+ login on a built-in demo card (demo key and PIN)"
    )
    parser.add_argument("--challenge", metavar="DIGITS", help="use this 6-digit challenge")
    parser.add_argument(
        "--clock", type=unix_seconds, metavar="UNIX_SECONDS", help="device clock start"
    )
    parser.set_defaults(handler=demo_command)


def demo_image() -> DeviceImage:
    """The built-in demo DSC+ (soft PIN mode, fixed demo key).

    A soft-PIN card stores no PIN: the PIN typed is an input to the response, and the host, which
    knows `DEMO_PIN`, checks it through the response.
    """
    spec = ImageSpec(model="dscplus", serial=DEMO_SERIAL, key=DEMO_KEY, pin_mode="soft")
    return new_image(spec, os.urandom)


def login_script_text() -> str:
    """The packaged DSC+ login script."""
    packaged = resources.files("emulator").joinpath("data", LOGIN_SCRIPT)
    return packaged.read_text(encoding="utf-8")


def demo_command(args: argparse.Namespace) -> int:
    """Run the demo login and check the response as the host would."""
    challenge = args.challenge
    if challenge is None:
        challenge = random_digits(CHALLENGE_DIGITS, os.urandom)
    elif len(challenge) != CHALLENGE_DIGITS or not challenge.isascii() or not challenge.isdigit():
        raise UsageError(f"--challenge must be {CHALLENGE_DIGITS} digits")
    folder = demo_folder()
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / DEMO_IMAGE_NAME
    image = demo_image()
    with ImageLock(path) as lock:  # a fresh card every run
        save_image(lock.path, image)
    script = parse_script(login_script_text())

    print(f"demo DSC+ {image.serial}: demo key and PIN {DEMO_PIN} — for demonstration only")
    print(f"image: {path}")
    print(f"host: challenge {challenge}")
    with DeviceSession(path, clock=args.clock) as session:
        result = run_script(
            script, session, {"PIN": DEMO_PIN, "CHALLENGE": challenge}, trace=_print_step
        )
    for failure in result.failures:
        sys.stderr.write(f"{LOGIN_SCRIPT}:{failure.line}: {failure.message}\n")
    response = result.captures.get("RESPONSE", "")
    suite = image.suite
    if suite is None:
        raise UsageError("the demo card has no OCRA suite")
    expected = ocra(suite, image.key, question=challenge, pin=DEMO_PIN)
    accepted = hmac.compare_digest(response.encode(), expected.encode())
    print(f"user types the response: {response}")
    verdict = "ACCEPTED" if accepted else "REJECTED"
    print(f"host: checks it with ocra({suite}, key, question={challenge}, PIN) → {verdict}")
    return EXIT_OK if accepted and result.passed else EXIT_NEGATIVE


def _print_step(step: Step) -> None:
    # Only what the user does; the script's own checks are reported only when they fail.
    if isinstance(step.statement, (Press, Hold, Type, Wait)):
        print("  " + format_step(step))


def demo_folder() -> Path:
    """Where the demo card lives."""
    return data_home() / "demo"
