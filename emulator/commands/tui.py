"""`slsemu tui`: the devices and the login screen in the terminal.

With no `--image`, the built-in demo is used (created in the data folder on first run: see
`emulator.tui.demo_setup` and docs/tui.md). Textual is imported only when this command runs, so
the other commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slsio.cli import EXIT_OK, UsageError

if TYPE_CHECKING:
    from emulator.session import DeviceSession
    from emulator.tui.app import SlsApp
    from emulator.tui.keymap import Keymap
    from host_bridge.bridge import Bridge


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
    from emulator.tui.keymap import load_keymap

    keymap = load_keymap(args.keymap)  # bad keymap: one line, exit 2, nothing opened
    images: list[Path] = list(args.image or [])
    for image in images:
        if not image.is_file():
            raise UsageError(f"image {image} not found")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "slsemu tui needs a terminal (for a scripted login without one: slsemu demo)"
        )
    with contextlib.ExitStack() as stack:
        open_tui(stack, images=images, user=args.user, keymap=keymap).run()
    return EXIT_OK


def open_tui(
    stack: contextlib.ExitStack,
    *,
    images: Sequence[Path],
    user: str | None,
    keymap: Keymap,
    home: Path | None = None,
    on_ready: Callable[[], None] | None = None,
    open_session: Callable[[Path], DeviceSession] | None = None,
) -> SlsApp:
    """The app `slsemu tui` runs: the images (default: the demo, set up on first use), the
    login pane on the host store in `home` (default: the data folder). `stack` closes the device
    sessions; the login pane opens the store when it first needs it (on its host thread) and
    closes it. The demo, when it must be set up first, gets a store of its own."""
    from emulator.session import DeviceSession
    from emulator.tui.app import SlsApp
    from emulator.tui.demo_setup import DEMO_USER, demo_folder, demo_images, ensure_demo
    from emulator.tui.login_pane import LoginPane
    from emulator.tui.withdrawals import withdrawal_hooks

    def connect() -> Bridge:  # on the login pane's host thread, which also closes it
        from host_bridge.bridge import Bridge

        return Bridge.open(home, create=False)  # `slsbridge init` creates it, not the TUI

    paths = list(images)
    if not paths:
        folder = demo_folder(home)
        ready = demo_images(folder)
        if ready is None:
            from host_bridge.bridge import Bridge

            with Bridge.open(home) as bridge:
                ready = ensure_demo(bridge, folder).images
        paths = list(ready)
        user = user or DEMO_USER
    opener = open_session or DeviceSession
    sessions = [stack.enter_context(opener(path)) for path in paths]
    withdraw, limits = withdrawal_hooks()
    login = LoginPane(connect, user=user, withdraw=withdraw, limits=limits)
    return SlsApp(sessions, keymap=keymap, login=login, on_ready=on_ready)
