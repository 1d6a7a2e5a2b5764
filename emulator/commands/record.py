"""`slsemu record`: drive a device by hand and write what happened as an `.sls` test file.

    slsemu record --image IMG --out FILE.sls [--clock UNIX_SECONDS]   in-process
    slsemu record --port DEV --out FILE.sls                           a device on a serial line
    slsemu record --tui --image IMG --out FILE.sls [--user NAME]      the terminal app
    slsemu record --port DEV --pass-through --out FILE.sls           a host program's session

Each input line is a script action — `press OK`, `type 1234`, `hold POWER 2`, `wait 30` — or a
shortcut: a button name alone presses it, digits alone type them; `challenge [N]` types N random
digits (6 by default) the way a login screen's challenge arrives, recorded as `${CHALLENGE}`.
`expect` and `capture` lines are copied into the file as written. The display is printed after
every action. End with `quit` or end of input (with `--tui`: quit the app, keys and clicks on the
device are what is recorded, the challenge on the login screen becomes `${CHALLENGE}`); the file is
then written (see
`emulator.recording` for how codes and random values are written so the recording replays).

In-process, the image as it was before the first key is saved beside the recording
(`FILE.img`, 0600: it holds the key), and the front matter names it and the clock, so
`pytest --sls FILE.sls` replays the session on any transport.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from emulator.commands.ocra import unix_seconds
from emulator.recording import Transcript
from emulator.recording_session import RecordingSession, RecordingTarget
from emulator.targets import open_target
from firmware_model.errors import ScriptError, SlsError
from firmware_model.models import random_digits
from firmware_model.script import (
    BUTTON_RE,
    Capture,
    ExpectRegex,
    ExpectText,
    Hold,
    Press,
    ScriptTarget,
    Type,
    Wait,
    describe,
    parse_line,
)
from slsio.cli import EXIT_OK, UsageError
from slsio.files import SECRET_MODE, atomic_write

RECORDING_MODE = 0o644
DEFAULT_CHALLENGE_DIGITS = 6
_QUIT = frozenset({"quit", "exit"})


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `record`."""
    parser = subparsers.add_parser(
        "record",
        help="drive a device by hand and write the session as an .sls test file",
        description="Read actions (press OK, type 1234, OK, 1234, challenge, wait 30, ...) from "
        "stdin, print each display, and write the session as a replayable .sls file.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.sls")
    parser.add_argument("--image", type=Path, metavar="IMG", help="the device image to drive")
    parser.add_argument("--port", metavar="DEV", help="drive the device on this serial line")
    parser.add_argument("--baud", type=int, metavar="N", help="serial speed (with --port)")
    parser.add_argument(
        "--clock", type=unix_seconds, metavar="UNIX_SECONDS", help="start the device clock here"
    )
    parser.add_argument(
        "--pass-through",
        action="store_true",
        help="with --port: make a pty for a host program and record what it does to the device",
    )
    parser.add_argument("--tui", action="store_true", help="record what you do in the terminal app")
    parser.add_argument("--keymap", metavar="K", help="TUI keymap (with --tui)")
    parser.add_argument("--user", metavar="NAME", help="login screen user (with --tui)")
    parser.add_argument("--force", action="store_true", help="overwrite FILE.sls (and FILE.img)")
    parser.set_defaults(handler=record_command)


def record_command(args: argparse.Namespace) -> int:
    """Run the recording (stdin, or the TUI), then write the file."""
    out: Path = args.out
    _check_arguments(args)
    snapshot = out.with_suffix(".img")
    for path in (out, snapshot) if args.image is not None else (out,):
        if path.exists() and not args.force:
            raise UsageError(f"{path}: file exists (use --force to overwrite it)")
    transcript = Transcript()
    if args.pass_through:
        _pass_through(args, transcript)
        front = {"transports": '["serial"]'}
        header = f"Recorded by slsemu record passing {args.port} through: replay with --sls-port."
    elif args.port is not None:
        with open_target(None, port=args.port, baud=args.baud) as target:
            _loop(RecordingTarget(target, transcript), transcript, sys.stdin)
        front = {"transports": '["serial"]'}
        header = f"Recorded by slsemu record on {args.port}: replay with --sls-port DEV."
    else:
        front = _record_image(args, transcript, snapshot)
        header = f"Recorded by slsemu record from {args.image.name}."
    atomic_write(out, transcript.document(header, front).encode(), RECORDING_MODE)
    sys.stderr.write(f"slsemu record: wrote {out}\n")
    return EXIT_OK


def _pass_through(args: argparse.Namespace, transcript: Transcript) -> None:
    """Pass a host's requests through to the device until SIGINT/SIGTERM, recording them."""
    from emulator.pass_through import serve_pass_through
    from emulator.serial_target import DEFAULT_BAUD
    from slsio.serial_client import SerialClient

    stop = threading.Event()

    def ready(path: str) -> None:
        print(path, flush=True)
        sys.stderr.write(f"slsemu record: hosts connect to {path}; stop with Ctrl-C\n")

    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = SerialClient(args.port, args.baud if args.baud is not None else DEFAULT_BAUD)
    try:
        serve_pass_through(client, transcript, ready, stop)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the recording: the file is written
    finally:
        client.close()
        signal.signal(signal.SIGTERM, previous)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.pass_through and args.port is None:
        raise UsageError("--pass-through goes with --port DEV")
    if (args.image is None) == (args.port is None):
        raise UsageError("give --image IMG (in-process or --tui) or --port DEV (serial line)")
    if args.port is not None and (args.clock is not None or args.tui):
        raise UsageError("--clock and --tui are not used with --port")
    if (args.keymap is not None or args.user is not None) and not args.tui:
        raise UsageError("--keymap and --user go with --tui")
    if not args.out.parent.is_dir():
        raise UsageError(f"{args.out.parent}: no such folder")
    if args.tui and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("slsemu record --tui needs a terminal")


def _record_image(
    args: argparse.Namespace, transcript: Transcript, snapshot: Path
) -> dict[str, str]:
    """Record on the image in-process (stdin) or in the TUI; return the front matter."""
    image: Path = args.image
    if not image.is_file():
        raise UsageError(f"image {image} not found")
    # The image as it is before the first key: the replay starts from the same device.
    atomic_write(snapshot, image.read_bytes(), SECRET_MODE)
    if args.tui:
        from emulator.commands._record_tui import record_in_tui

        return record_in_tui(args, transcript, snapshot)
    session = RecordingSession(image, transcript, clock=args.clock)
    try:
        _loop(session, transcript, sys.stdin)
    finally:
        session.close()
    return session.front_matter(snapshot)


def _loop(target: Recording, transcript: Transcript, lines: Iterable[str]) -> None:
    challenges = 0
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text in _QUIT:
            break
        words = text.split()
        try:
            if words[0] == "challenge":
                challenges += 1
                name = "CHALLENGE" if challenges == 1 else f"CHALLENGE{challenges}"
                value = random_digits(_challenge_digits(words), os.urandom)
                transcript.random_value(name, value)
                print(f"challenge {value}")
                target.type_digits(value)
            else:
                _one(target, transcript, text, number)
            target.flush()
            _show(target)
        except (SlsError, ValueError) as exc:
            message = str(exc).removeprefix(f"line {number}: ")
            sys.stderr.write(f"slsemu record: {message} (not recorded)\n")


def _one(target: Recording, transcript: Transcript, text: str, number: int) -> None:
    statement = parse_line(_shortcut(text), number)
    match statement:
        case ExpectText() | ExpectRegex() | Capture():
            transcript.note(describe(statement))
        case Type(digits=digits) if digits.names:
            raise ScriptError(number, "type takes digits here (no ${NAME})")
        case Type(digits=digits):
            target.type_digits(digits.literal)
        case Press(button=button):
            target.press(button)
        case Hold(button=button, seconds=seconds):
            target.hold(button, seconds)
        case Wait(seconds=seconds):
            target.wait(seconds)


def _challenge_digits(words: list[str]) -> int:
    if len(words) == 1:
        return DEFAULT_CHALLENGE_DIGITS
    if len(words) == 2 and words[1].isdigit() and 1 <= int(words[1]) <= 16:
        return int(words[1])
    raise ValueError("challenge takes an optional number of digits (1-16)")


def _shortcut(text: str) -> str:
    """`OK` → `press OK`; `1234` → `type 1234`."""
    if text.isdigit():
        return f"type {text}"
    if BUTTON_RE.fullmatch(text) and text.isupper():
        return f"press {text}"
    return text


def _show(target: ScriptTarget) -> None:
    display = target.read_display()
    print(f"  {display or '(blank)'}", flush=True)


class Recording(ScriptTarget, Protocol):
    """A target that records itself (`RecordingSession`, `RecordingTarget`)."""

    def flush(self) -> None: ...

