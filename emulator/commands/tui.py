"""`slsemu tui`: the devices and the login screen in the terminal.

With no `--image`, the built-in demo is used (created in the data folder on first run: see
`emulator.tui.demo_setup` and docs/tui.md). Textual is imported only when this command runs, so
the other commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from slsio.cli import EXIT_OK, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `tui`."""
    parser = subparsers.add_parser(
        "tui",
        help="the devices and the broker's login screen in the terminal",
        description="Open the terminal app. Without --image: the built-in demo (user 'demo', "
        "password 'demo-password', PIN 1234), set up on first run.",
    )
    parser.add_argument(
        "--image", action="append", type=Path, metavar="IMG", help="a device image (repeatable)"
    )
    parser.add_argument("--user", metavar="NAME", help="user name to fill in on the login screen")
    parser.add_argument("--keymap", metavar="NAME|FILE", help="keymap (default: default)")
    parser.set_defaults(handler=tui_command)


def tui_command(args: argparse.Namespace) -> int:
    """Open the app; return when the user quits."""
    from emulator.session import DeviceSession
    from emulator.tui.app import SlsApp
    from emulator.tui.demo_setup import ensure_demo
    from emulator.tui.keymap import load_keymap
    from emulator.tui.login_pane import LoginPane
    from emulator.tui.withdrawals import withdrawal_hooks
    from host_bridge.service import Bridge

    keymap = load_keymap(args.keymap)  # bad keymap: one line, exit 2, nothing opened
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "slsemu tui needs a terminal (for a scripted login without one: slsemu demo)"
        )
    images: list[Path] = list(args.image or [])
    for image in images:
        if not image.is_file():
            raise UsageError(f"image {image} not found")
    with contextlib.ExitStack() as stack:
        bridge = stack.enter_context(Bridge.open())
        user = args.user
        if not images:
            demo = ensure_demo(bridge)
            images = list(demo.images)
            user = user or demo.user
        sessions = [stack.enter_context(DeviceSession(image)) for image in images]
        withdraw, limits = withdrawal_hooks(bridge)
        login = LoginPane(bridge, user=user, withdraw=withdraw, limits=limits)
        SlsApp(sessions, keymap=keymap, login=login).run()
    return EXIT_OK
