"""`slsbridge serve`: the network front doors, one per process.

`--http HOST:PORT [--workers N]` serves the HTTP API (docs/http-api.md); `--radius HOST:PORT
--clients FILE` serves RADIUS (docs/radius.md). Both call the same services as the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the HTTP API or RADIUS until SIGINT/SIGTERM"
    )
    door = parser.add_mutually_exclusive_group(required=True)
    door.add_argument("--http", metavar="HOST:PORT",
                      help="serve the HTTP API on this address (e.g. 127.0.0.1:8080)")
    door.add_argument("--radius", metavar="HOST:PORT",
                      help="serve RADIUS on this UDP address (e.g. 127.0.0.1:1812; host default "
                      "127.0.0.1, port 0 picks a free one)")
    http = parser.add_argument_group("HTTP")
    http.add_argument("--workers", type=int, default=1, help="worker processes (1-64)")
    http.add_argument("--tls-cert", type=Path, help="certificate chain file (PEM)")
    http.add_argument("--tls-key", type=Path, help="its private key file (PEM)")
    http.add_argument("--client-network", action="append", metavar="CIDR",
                      help="may call /validate (repeatable; default loopback)")
    http.add_argument("--rate-per-user", type=int, default=60,
                      help="requests per minute per user (and per device)")
    http.add_argument("--rate-per-address", type=int, default=600,
                      help="/validate requests per minute per client address")
    http.add_argument("--rate-per-key", type=int, default=6000,
                      help="own-API requests per minute per API key")
    radius = parser.add_argument_group("RADIUS")
    radius.add_argument("--clients", type=Path, metavar="FILE.toml",
                        help="the RADIUS clients: [[client]] name, address, secret/secret_file")
    parser.set_defaults(handler=_serve)


def parse_address(text: str, option: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT`; the host may be left out (127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65_535:
        raise UsageError(f"{option} wants HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _serve(args: argparse.Namespace) -> int:
    if args.radius is not None:
        return _serve_radius(args)
    if args.clients is not None:
        raise UsageError("--clients goes with --radius")
    return _serve_http(args)


def _serve_http(args: argparse.Namespace) -> int:
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
    with Bridge.open(create=False) as bridge:  # migrate and check the store before the workers
        _ = bridge.master
    serve(options, config)
    return 0


def _serve_radius(args: argparse.Namespace) -> int:
    from host_bridge.radius.clients import describe, load_clients
    from host_bridge.radius.server import serve

    if args.clients is None:
        raise UsageError("--radius needs --clients FILE.toml")
    host, port = parse_address(args.radius, "--radius")
    clients = load_clients(args.clients)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        def ready(address: tuple[str, int]) -> None:
            print(f"RADIUS on udp {address[0]}:{address[1]} for {describe(clients.entries)}",
                  flush=True)

        try:
            counters = await serve(host, port, clients, ready=ready, stop=stop)
        except OSError as exc:
            raise UsageError(f"--radius {args.radius}: {exc.strerror or exc}") from None
        print(f"stopped: {counters.summary()}", flush=True)

    asyncio.run(main())
    return 0
