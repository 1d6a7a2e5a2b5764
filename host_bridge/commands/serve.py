"""`slsbridge serve --radius HOST:PORT --clients FILE`: the RADIUS front door (docs/radius.md)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="serve RADIUS until SIGINT/SIGTERM")
    parser.add_argument("--radius", required=True, metavar="HOST:PORT",
                        help="UDP address to listen on (e.g. 127.0.0.1:1812; host default "
                        "127.0.0.1, port 0 picks a free one)")
    parser.add_argument("--clients", required=True, type=Path, metavar="FILE.toml",
                        help="the RADIUS clients: [[client]] name, address, secret/secret_file")
    parser.set_defaults(handler=_serve)


def parse_address(text: str, option: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT`; the host may be left out (127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65_535:
        raise UsageError(f"{option} wants HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _serve(args: argparse.Namespace) -> int:
    from host_bridge.radius.clients import describe, load_clients
    from host_bridge.radius.server import serve

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
