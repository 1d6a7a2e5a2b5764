"""`slsbridge serve --http HOST:PORT [--workers N]`: the HTTP front door (docs/http-api.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API until SIGINT/SIGTERM")
    parser.add_argument("--http", required=True, metavar="HOST:PORT",
                        help="address to listen on (e.g. 127.0.0.1:8080)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1-64)")
    parser.add_argument("--tls-cert", type=Path, help="certificate chain file (PEM)")
    parser.add_argument("--tls-key", type=Path, help="its private key file (PEM)")
    parser.add_argument("--client-network", action="append", metavar="CIDR",
                        help="may call /validate (repeatable; default loopback)")
    parser.add_argument("--rate-per-user", type=int, default=60,
                        help="requests per minute per user (and per device)")
    parser.add_argument("--rate-per-address", type=int, default=600,
                        help="/validate requests per minute per client address")
    parser.add_argument("--rate-per-key", type=int, default=6000,
                        help="own-API requests per minute per API key")
    parser.set_defaults(handler=_serve)


def parse_address(text: str, option: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT`; the host may be left out (127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65_535:
        raise UsageError(f"{option} wants HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _serve(args: argparse.Namespace) -> int:
    from host_bridge.bridge import Bridge
    from host_bridge.http.config import LOOPBACK, HttpConfig
    from host_bridge.http.serve import ServeOptions, serve

    host, port = parse_address(args.http, "--http")
    try:
        config = HttpConfig(
            client_networks=tuple(args.client_network or LOOPBACK),
            per_user=args.rate_per_user, per_device=args.rate_per_user,
            per_address=args.rate_per_address, per_key=args.rate_per_key,
        )
        options = ServeOptions(host, port, args.workers, args.tls_cert, args.tls_key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            raise UsageError(f"no such file {str(path)!r}")
    with Bridge.open() as bridge:  # migrate and check the store once, before the workers
        _ = bridge.master
    serve(options, config)
    return 0
