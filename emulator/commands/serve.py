"""`slsemu serve`: put emulated devices on serial lines (docs/serial-protocol.md).

    slsemu serve --image IMG --port DEV     one device on a pyserial port or URL (a socat pty end)
    slsemu serve --image IMG --pty          one device on a new pty (its path is printed)
    slsemu serve --images DIR               every DIR/*.img on its own new pty
    slsemu serve --images DIR --tcp HOST:PORT [--rfc2217 HOST:PORT]
                                            every image on its own TCP port from PORT up

For each device one line `<SERIAL> <PATH>` (network: `<SERIAL> <URL> [<URL>]`, pyserial URLs)
goes to stdout once every device is up (with `--json`: one JSON object), then "serving N
device(s)" to stderr, so a rig or a test knows where to connect. SIGINT/SIGTERM stop the server
cleanly: every image is saved (it already is after each durable change) and every lock, pty and
port is released. Exit 0 after a clean stop, 2 for bad input (bad image, port that will not open
or listen, image in use).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import signal
import sys
from pathlib import Path

from emulator.commands.ocra import unix_seconds
from emulator.device_server import SerialServer
from emulator.images import FolderLock
from emulator.net_server import Kind, NetConfig, add_net_device, parse_address
from emulator.serial_server import MAX_HOLD, ServeConfig
from slsio.cli import EXIT_OK, UsageError

DEFAULT_BAUD = 115200
"""Port speed used with `--port` when `--baud` is not given (no pacing then)."""
IMAGE_GLOB = "*.img"
FDS_PER_PTY = 2
SPARE_FDS = 64


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve`."""
    parser = subparsers.add_parser(
        "serve",
        help="serve devices on serial lines",
        description="Serve emulated devices on serial lines (docs/serial-protocol.md). Prints "
        "one '<SERIAL> <PATH>' line per device. Stop with Ctrl-C or SIGTERM.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, metavar="IMG", help="the device image to serve")
    source.add_argument(
        "--images", type=Path, metavar="DIR", help=f"serve every {IMAGE_GLOB} in DIR, one pty each"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", metavar="DEV", help="a serial port or pyserial URL (with --image)")
    where.add_argument("--pty", action="store_true", help="make a pty and print its path")
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="raw TCP, one port per device from PORT up (socket:// URLs; 0: any free ports)",
    )
    parser.add_argument(
        "--rfc2217",
        metavar="HOST:PORT",
        help="RFC 2217, one port per device from PORT up (rfc2217:// URLs)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="close a network client silent this long (default 600)",
    )
    parser.add_argument(
        "--max-hold",
        type=float,
        default=MAX_HOLD,
        metavar="SECONDS",
        help="longest real-time HOLD (ERR RANGE beyond; default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the listing as one JSON object")
    parser.add_argument(
        "--baud", type=int, metavar="N", help="pace replies as a line of N baud (8N1) would"
    )
    parser.add_argument(
        "--virtual-clock",
        action="store_true",
        help="device time moves only on CLOCK/HOLD requests (for tests)",
    )
    parser.add_argument(
        "--clock",
        type=unix_seconds,
        metavar="UNIX_SECONDS",
        help="virtual clock start (default: now)",
    )
    parser.add_argument(
        "--drop", type=float, default=0.0, metavar="P", help="lose each line sent with chance P"
    )
    parser.add_argument(
        "--garble", type=float, default=0.0, metavar="P", help="flip a bit of a line, chance P"
    )
    parser.add_argument(
        "--delay", type=float, default=0.0, metavar="SECONDS", help="delay lines by 0..SECONDS"
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed for the fault injection")
    parser.add_argument(
        "--tick",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="how often real time is applied to idle devices (real-time clock)",
    )
    parser.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Serve until stopped."""
    config = _config(args)
    net = _net_config(args)
    images = _images(args)
    return asyncio.run(_serve(args, config, net, images))


def _net_config(args: argparse.Namespace) -> NetConfig | None:
    bases = []
    try:
        for kind, text in ((Kind.TCP, args.tcp), (Kind.RFC2217, args.rfc2217)):
            if text is not None:
                bases.append((kind, parse_address(text)))
        if not bases:
            return None
        return NetConfig(tuple(bases), idle_timeout=args.idle_timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _config(args: argparse.Namespace) -> ServeConfig:
    network = args.tcp is not None or args.rfc2217 is not None
    if network and (args.port is not None or args.pty):
        raise UsageError("--tcp/--rfc2217 take the place of --port and --pty")
    if args.images is not None and args.port is not None:
        raise UsageError("--port serves one device: use it with --image")
    if args.image is not None and args.port is None and not args.pty and not network:
        raise UsageError("--image needs --port DEV, --pty, --tcp or --rfc2217")
    if args.clock is not None and not args.virtual_clock:
        raise UsageError("--clock goes with --virtual-clock")
    try:
        return ServeConfig(
            virtual_clock=args.virtual_clock,
            clock_start=args.clock,
            baud=args.baud,
            drop=args.drop,
            garble=args.garble,
            delay=args.delay,
            seed=args.seed,
            tick_seconds=args.tick,
            max_hold=args.max_hold,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _images(args: argparse.Namespace) -> list[Path]:
    if args.image is not None:
        return [args.image]
    folder: Path = args.images
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    images = sorted(path for path in folder.glob(IMAGE_GLOB) if path.is_file())
    if not images:
        raise UsageError(f"{folder}: no {IMAGE_GLOB} files to serve")
    return images


def raise_fd_limit(needed: int) -> None:
    """Raise the soft open-file limit to `needed` if the hard limit allows it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
        if ceiling < needed:
            raise UsageError(f"serving needs {needed} open files, the limit is {hard}")


async def _serve(
    args: argparse.Namespace, config: ServeConfig, net: NetConfig | None, images: list[Path]
) -> int:
    # Each device: its line's descriptors (two per pty; one per network port, or its one
    # client). Images are locked with one descriptor for a folder, two for a single image;
    # saves (one at a time) and the event loop need a few more.
    per_device = len(net.bases) if net is not None else FDS_PER_PTY
    raise_fd_limit(len(images) * per_device + SPARE_FDS)
    server = SerialServer(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.stop)
    try:
        if args.images is not None:
            server.folder_lock = FolderLock(args.images)
            server.folder_lock.acquire(images)
            server.folder_lock.remove_stale_temp_files(images)
        for index, image in enumerate(images):
            if net is not None:
                await add_net_device(server, image, index, net)
            elif args.port is not None:
                baud = args.baud if args.baud is not None else DEFAULT_BAUD
                await server.add_port(image, args.port, baud)
            else:
                await server.add_pty(image)
        # Only once every device is up: a rig must never be told of a line that a later bad
        # image closes again before it is served.
        _print_listing(server, as_json=args.json)
        # Everything made so far (devices, sessions, lines) lives until shutdown: keep it out
        # of the cyclic GC's full passes, which would otherwise walk it again and again.
        gc.freeze()
        sys.stderr.write(f"slsemu serve: serving {len(images)} device(s); stop with Ctrl-C\n")
        sys.stderr.flush()
        await server.serve_until_stopped(stop_on_lost=args.port is not None)
        lost = server.lost_endpoints() if args.port is not None else []
    finally:
        server.close()
    if lost:
        raise OSError(f"{lost[0].path}: the serial port went away")
    return EXIT_OK


def _print_listing(server: SerialServer, *, as_json: bool) -> None:
    if as_json:
        devices = [
            {
                "serial": e.line.serial,
                "model": e.line.model,
                "image": str(e.image),
                "addresses": e.path.split(),
            }
            for e in server.endpoints
        ]
        sys.stdout.write(json.dumps({"devices": devices}) + "\n")
    else:
        sys.stdout.writelines(f"{e.line.serial} {e.path}\n" for e in server.endpoints)
    sys.stdout.flush()
