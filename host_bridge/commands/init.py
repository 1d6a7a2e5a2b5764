"""`slsbridge init`: create the master key (0600) and the store in the data folder."""

from __future__ import annotations

import argparse
import os
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from host_bridge.masterkey import ENV_MASTER_KEY


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("init", help="create the master key and the store")
    add_json(parser)
    parser.set_defaults(handler=with_bridge(_init, create=True))


def _init(bridge: Bridge, args: argparse.Namespace) -> int:
    created = bridge.init()
    if args.json:
        print_json({"home": str(bridge.home), "store": bridge.store_name,
                    "master_key_created": created is not None})
    else:
        if created:
            what = f"created {created}"
        elif os.environ.get(ENV_MASTER_KEY) is not None:
            what = f"master key from ${ENV_MASTER_KEY}"
        else:
            what = "master key already in place"
        print(f"initialised {bridge.home} ({what})")
    return 0
