"""`slsbridge api-key create --name N --scope S | list | revoke --name N`: keys of the HTTP API.
A new key is printed once; only its digest is stored."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, with_bridge
from host_bridge.domain import ApiScope


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("api-key", help="create, list or revoke HTTP API keys")
    sub = parser.add_subparsers(dest="api_key_command", required=True)
    create = sub.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", required=True, choices=[s.value for s in ApiScope])
    add_json(create)
    create.set_defaults(handler=with_bridge(_create))
    listing = sub.add_parser("list", help="the keys (never the keys themselves)")
    add_json(listing)
    listing.set_defaults(handler=with_bridge(_list))
    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("--name", required=True)
    add_json(revoke)
    revoke.set_defaults(handler=with_bridge(_revoke))


def _create(bridge: Bridge, args: argparse.Namespace) -> int:
    new = bridge.api_keys.create(args.name, ApiScope(args.scope))
    if args.json:
        print_json({**new.record.to_json(), "key": new.key})
    else:
        print(new.key)
    return 0


def _list(bridge: Bridge, args: argparse.Namespace) -> int:
    keys = bridge.api_keys.keys()
    if args.json:
        print_json({"keys": [k.to_json() for k in keys]})
    else:
        for k in keys:
            print(f"{k.name} {k.scope.value} {'revoked' if k.revoked else 'live'}")
    return 0


def _revoke(bridge: Bridge, args: argparse.Namespace) -> int:
    bridge.api_keys.revoke(args.name)
    if args.json:
        print_json({"name": args.name, "revoked": True})
    else:
        print(f"revoked {args.name}")
    return 0
