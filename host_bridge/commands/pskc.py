"""`slsbridge pskc import|export`: device secrets in RFC 6030 PSKC files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, read_line, with_bridge
from host_bridge.pskc_io import Decryption, read_pskc, write_pskc
from slsio.cli import UsageError
from slsio.secret_args import add_secret_option, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pskc", help="import or export keys as PSKC (RFC 6030)")
    sub = parser.add_subparsers(dest="pskc_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    imp = sub.add_parser("import", help="import every key of a PSKC file (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--user", required=True, help="the user the devices belong to")
    imp.add_argument("--model", choices=("dscplus", "gold", "platinum", "ibkey", "dsc", "scc"),
                     help="device model (default: from the key's algorithm)")
    add_secret_option(imp, "--pin", metavar="PIN",
                      help="the soft PIN, for a suite with P (one key per file)")
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
    exp.add_argument("--password-stdin", action="store_true",
                     help="encrypt with a password read from stdin")
    add_json(exp)
    exp.set_defaults(handler=with_bridge(_export))


def _import(bridge: Bridge, args: argparse.Namespace) -> int:
    decryption = None
    if args.password_stdin:
        decryption = Decryption(password=read_line())
    elif args.key_stdin:
        try:
            decryption = Decryption(key=bytes.fromhex(read_line().strip()))
        except ValueError:
            raise UsageError("the pre-shared key must be hex") from None
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
    password = read_line() if args.password_stdin else None
    if password is not None and not password:
        raise UsageError("the password must not be empty")
    keys = [bridge.export_key(serial) for serial in args.serial]
    write_pskc(args.out, keys, password=password)
    if args.json:
        print_json({"out": str(args.out), "exported": list(args.serial),
                    "encrypted": password is not None})
    else:
        print(f"wrote {args.out}")
    return 0
