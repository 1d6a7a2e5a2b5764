"""`slsemu image new` and `slsemu image show`: make and inspect device image files."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from emulator.images import ImageLock, load_device_image, save_image
from firmware_model.bounded import loads_json
from firmware_model.device import ImageSpec
from firmware_model.image import JsonValue
from firmware_model.models import MODEL_NAMES, make_serial, new_image
from slsio.cli import EXIT_OK, UsageError, add_json, emit
from slsio.secret_args import add_secret_option, required_secret, secret_option

_OPTION_NAME_MAX = 64


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `image new` and `image show`."""
    parser = subparsers.add_parser("image", help="make and inspect device image files")
    actions = parser.add_subparsers(dest="image_command", metavar="ACTION")
    actions.required = True

    new = actions.add_parser("new", help="make the image of a brand-new device")
    new.add_argument("--model", required=True, choices=MODEL_NAMES)
    add_secret_option(
        new, "--key", help="the device key, in hex", required=True, contract=True, metavar="HEX"
    )
    add_secret_option(
        new, "--pin", help="the PIN (device mode: the on-device PIN)", contract=True, metavar="PIN"
    )
    new.add_argument("--pin-mode", choices=("soft", "device"), help="DSC+: where the PIN counts")
    new.add_argument("--suite", help="OCRA suite (default: the model's)")
    new.add_argument("--serial", help="serial number (default: a random one for the model)")
    new.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="model setting; VALUE is read as JSON when it parses (3, true), else as text",
    )
    new.add_argument("--out", required=True, type=Path, metavar="FILE")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_json(new)
    new.set_defaults(handler=new_command)

    show = actions.add_parser("show", help="print an image as JSON (never the key or a PIN)")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--json", action="store_true", help="JSON output (the only format)")
    show.set_defaults(handler=show_command)


def parse_options(pairs: list[str]) -> dict[str, JsonValue]:
    """`NAME=VALUE` pairs → options; VALUE as JSON when it parses, else as text."""
    options: dict[str, JsonValue] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier() or len(name) > _OPTION_NAME_MAX:
            raise UsageError(f"--option wants NAME=VALUE, got {pair[:80]!r}")
        if name in options:
            raise UsageError(f"--option {name} given twice")
        try:
            value: JsonValue = loads_json(text)
        except json.JSONDecodeError:
            value = text
        except ValueError as exc:  # JSON, but too deep or with a number of thousands of digits
            raise UsageError(f"--option {name}: {exc}") from None
        options[name] = value
    return options


def parse_key(text: str) -> bytes:
    """A key given in hex (spaces allowed). The text itself never appears in an error."""
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise UsageError("--key must be hexadecimal") from None
    if not key:
        raise UsageError("--key must not be empty")
    return key


def new_command(args: argparse.Namespace) -> int:
    """Make a new image file and print its serial."""
    out: Path = args.out
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such folder")
    if not out.name or out.is_dir():
        raise UsageError(f"{out}: is a folder, not an image file")
    serial = args.serial if args.serial is not None else make_serial(args.model, os.urandom)
    spec = ImageSpec(
        model=args.model,
        serial=serial,
        key=parse_key(required_secret(args, "--key")),
        pin=secret_option(args, "--pin"),
        pin_mode=args.pin_mode,
        suite=args.suite,
        options=parse_options(args.option),
    )
    try:
        image = new_image(spec, os.urandom)
    except ValueError as exc:  # ImageError, SuiteError and plain ValueError: all a bad spec
        raise UsageError(str(exc)) from None
    # The lock keeps a running session from having its device replaced under it.
    with ImageLock(out) as lock:
        if lock.path.exists() and not args.force:
            raise UsageError(f"{out}: file exists (use --force to overwrite it)")
        save_image(lock.path, image)
    emit(args, {"serial": image.serial, "model": image.model, "path": str(out)}, image.serial)
    return EXIT_OK


def show_command(args: argparse.Namespace) -> int:
    """Print what an image holds, secrets left out: only an image its model would load."""
    image, _ = load_device_image(args.file)
    print(json.dumps(image.summary(), indent=2, sort_keys=True))
    return EXIT_OK
