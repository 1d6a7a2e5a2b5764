"""`slsbridge pskc import|export`: device secrets in RFC 6030 PSKC files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, read_line, with_bridge
from host_bridge.pskc_io import read_pskc
from host_bridge.pskc_profiles import IMPORT_MODELS
from host_bridge.pskc_write import Encryption, write_pskc
from slsio.cli import UsageError
from slsio.secret_args import add_secret_option, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pskc", help="import or export keys as PSKC (RFC 6030)")
    sub = parser.add_subparsers(dest="pskc_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    imp = sub.add_parser("import", help="import every key of a PSKC file (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--user", required=True, help="the user the devices belong to")
    imp.add_argument("--model", choices=IMPORT_MODELS,
                     help="device model (default: from the key's algorithm)")
    add_secret_option(imp, "--pin",
                      help="the PIN of a one-key file with a suite with P and no PIN key")
    secret = imp.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the file's password from stdin (PBKDF2)")
    secret.add_argument("--key-stdin", action="store_true",
                        help="read the pre-shared key (hex) from stdin")
    add_json(imp)
    imp.set_defaults(handler=with_bridge(_import))
    exp = sub.add_parser("export", help="export a device's key to a new PSKC file (0600)")
    exp.add_argument("--serial", required=True, action="append", help="repeat for several")
    exp.add_argument("--out", required=True, type=Path)
    protect = exp.add_mutually_exclusive_group()
    protect.add_argument("--password-stdin", action="store_true",
                         help="encrypt with a password read from stdin (PBKDF2)")
    protect.add_argument("--key-stdin", action="store_true",
                         help="encrypt with a pre-shared AES key (hex) read from stdin")
    add_json(exp)
    exp.set_defaults(handler=with_bridge(_export))


def _import(bridge: Bridge, args: argparse.Namespace) -> int:
    decryption = _file_secret(args)
    pin = secret_option(args, "--pin")  # after the file's password or key, if from stdin too
    bridge.user(args.user)
    keys = read_pskc(args.file, decryption=decryption, model=args.model, pin=pin)
    serials = bridge.import_keys(args.user, keys, source=args.file.name)
    if args.json:
        print_json({"user": args.user, "imported": serials})
    else:
        for serial in serials:
            print(serial)
    return 0


def _export(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.out.exists():
        raise UsageError(f"{args.out} already exists")
    encryption = _file_secret(args)
    keys = [bridge.export_key(serial) for serial in args.serial]
    write_pskc(args.out, keys, encryption=encryption)
    if args.json:
        print_json({"out": str(args.out), "exported": list(args.serial),
                    "encrypted": encryption is not None})
    else:
        print(f"wrote {args.out}")
    return 0


def _file_secret(args: argparse.Namespace) -> Encryption | None:
    """The file's password or pre-shared key, from stdin (never the command line)."""
    try:
        if args.password_stdin:
            return Encryption(password=read_line())
        if args.key_stdin:
            try:
                key = bytes.fromhex(read_line().strip())
            except ValueError:
                raise UsageError("the pre-shared key must be hex") from None
            return Encryption(key=key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return None
