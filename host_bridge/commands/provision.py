"""`slsbridge provision`: a new device in the store and the image the emulator loads (same key)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from host_bridge.services.provisioning import PROVISION_MODELS
from slsio.cli import UsageError
from slsio.secret_args import add_secret_option, secret_option

DAY = 86_400.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("provision", help="create a device and write its image")
    parser.add_argument("--user", required=True)
    parser.add_argument("--model", required=True, choices=PROVISION_MODELS)
    add_secret_option(parser, "--pin",
                      help="PIN (DSC+ soft PIN: kept by the host, 4 digits)",
                      contract=True, metavar="PIN")
    parser.add_argument("--pin-mode", choices=("soft", "device"), help="DSC+ PIN mode")
    parser.add_argument("--suite", help="OCRA suite (default: the model's)")
    parser.add_argument("--image", type=Path, help="where to write the device image (new file)")
    parser.add_argument("--valid-days", type=float,
                        help="temporary device valid this many days (Online SCC: default 21)")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_provision))


def _provision(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.model != "sms" and args.image is None:
        raise UsageError("--image is required (where the emulator will load the device from)")
    valid_days = args.valid_days
    if valid_days is None and args.model == "online_scc":
        valid_days = 21.0
    if valid_days is not None and not 0 < valid_days <= 3650:
        raise UsageError("--valid-days must be more than 0 and at most 3650")
    valid_until = bridge.clock() + valid_days * DAY if valid_days is not None else None
    result = bridge.provision(
        args.user, args.model, pin=secret_option(args, "--pin"), pin_mode=args.pin_mode,
        image_path=args.image,
        suite=args.suite, valid_until=valid_until,
    )
    if args.json:
        print_json({"serial": result.serial, "model": args.model, "status": result.status,
                    "image": str(args.image) if args.image else None,
                    "suite": result.image.suite if result.image else None})
    else:
        print(result.serial)
    return 0
