"""`slsemu record`: drive a device by hand and write what happened as an `.sls` test file.

    slsemu record --image IMG --out FILE.sls [--clock UNIX_SECONDS]   in-process
    slsemu record --port DEV --out FILE.sls                           a device on a serial line

Each input line is a script action — `press OK`, `type 1234`, `hold POWER 2`, `wait 30` — or a
shortcut: a button name alone presses it, digits alone type them; `challenge [N]` types N random
digits (6 by default) the way a login screen's challenge arrives, recorded as `${CHALLENGE}`.
`expect` and `capture` lines are copied into the file as written. The display is printed after
every action. End with `quit` or end of input; the file is then written (see
`emulator.recording` for how codes and random values are written so the recording replays).

In-process, the image as it was before the first key is saved beside the recording
(`FILE.img`, 0600: it holds the key), and the front matter names it and the clock, so
`pytest --sls FILE.sls` replays the session on any transport.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from emulator.commands.ocra import unix_seconds
from emulator.recording import Transcript
from emulator.session import DeviceSession
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
    parser.add_argument("--force", action="store_true", help="overwrite FILE.sls (and FILE.img)")
    parser.set_defaults(handler=record_command)


def record_command(args: argparse.Namespace) -> int:
    """Run the recording loop on stdin, then write the file."""
    out: Path = args.out
    if (args.image is None) == (args.port is None):
        raise UsageError("give --image IMG (in-process) or --port DEV (serial line)")
    if args.port is not None and args.clock is not None:
        raise UsageError("--clock is not used with --port (the device on the line keeps its own)")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such folder")
    snapshot = out.with_suffix(".img")
    for path in (out, snapshot) if args.image is not None else (out,):
        if path.exists() and not args.force:
            raise UsageError(f"{path}: file exists (use --force to overwrite it)")
    transcript = Transcript()
    if args.image is not None:
        front = _record_in_process(args, transcript, snapshot)
        header = f"Recorded by slsemu record from {args.image.name}."
    else:
        with open_target(None, port=args.port, baud=args.baud) as target:
            _loop(target, transcript, sys.stdin, fresh=lambda: True)
        front = {"transports": '["serial"]'}
        header = f"Recorded by slsemu record on {args.port}: replay with --sls-port DEV."
    atomic_write(out, transcript.document(header, front).encode(), RECORDING_MODE)
    sys.stderr.write(f"slsemu record: wrote {out}\n")
    return EXIT_OK


def _record_in_process(
    args: argparse.Namespace, transcript: Transcript, snapshot: Path
) -> dict[str, str]:
    drawn = [0]

    def entropy(count: int) -> bytes:
        drawn[0] += 1
        return os.urandom(count)

    with DeviceSession(args.image, clock=args.clock, entropy=entropy) as session:
        # The image as it is before the first key: the replay starts from the same device.
        atomic_write(snapshot, args.image.read_bytes(), SECRET_MODE)
        start = session.now
        seen = [0]

        def fresh() -> bool:
            new = drawn[0] != seen[0]
            seen[0] = drawn[0]
            return new

        fresh()  # loading the image may draw; that is not the session's doing
        _loop(session, transcript, sys.stdin, fresh=fresh)
    clock = int(start) if start == int(start) else start
    return {"image": f'"{snapshot.name}"', "clock": str(clock)}


def _loop(
    target: ScriptTarget, transcript: Transcript, lines: Iterable[str], fresh: Callable[[], bool]
) -> None:
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
                transcript.typed(value, _show(target), fresh=fresh())
                continue
            statement = parse_line(_shortcut(text), number)
            if statement is None:
                continue
            if isinstance(statement, ExpectText | ExpectRegex | Capture):
                transcript.note(describe(statement))
                continue
            if isinstance(statement, Type):
                if statement.digits.names:
                    raise ScriptError(number, "type takes digits here (no ${NAME})")
                target.type_digits(statement.digits.literal)
                transcript.typed(statement.digits.literal, _show(target), fresh=fresh())
                continue
            _act(target, statement)
            transcript.action(describe(statement), _show(target), fresh=fresh())
        except (SlsError, ValueError) as exc:
            message = str(exc).removeprefix(f"line {number}: ")
            sys.stderr.write(f"slsemu record: {message} (not recorded)\n")


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


def _act(target: ScriptTarget, statement: object) -> None:
    match statement:
        case Press(button=button):
            target.press(button)
        case Hold(button=button, seconds=seconds):
            target.hold(button, seconds)
        case Wait(seconds=seconds):
            target.wait(seconds)


def _show(target: ScriptTarget) -> str:
    display = target.read_display()
    print(f"  {display or '(blank)'}", flush=True)
    return display

