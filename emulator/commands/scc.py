"""`slsemu scc show IMG`: print a Security Code Card the way it is printed."""

from __future__ import annotations

import argparse
from pathlib import Path

from emulator.images import load_device_image
from firmware_model.scc import SecurityCodeCardDevice
from slsio.cli import EXIT_OK, UsageError, add_json, print_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `scc show`."""
    parser = subparsers.add_parser("scc", help="Security Code Card tools")
    actions = parser.add_subparsers(dest="scc_command", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="print the card: every cell as index and code")
    show.add_argument("image", type=Path, metavar="IMG")
    add_json(show)
    show.set_defaults(handler=show_command)


def show_command(args: argparse.Namespace) -> int:
    """Print the card of an `scc` image."""
    image, device = load_device_image(args.image)
    if not isinstance(device, SecurityCodeCardDevice):
        raise UsageError(f"{args.image}: a {image.model} image, not a Security Code Card (scc)")
    card = device.card
    if args.json:
        cells = {str(index): code for index, code in enumerate(card.grid(), start=1)}
        print_json(
            {
                "serial": image.serial,
                "online": card.online,
                "valid_until": card.valid_until,
                "cells": cells,
            }
        )
    else:
        print(card.render(), end="")
    return EXIT_OK
