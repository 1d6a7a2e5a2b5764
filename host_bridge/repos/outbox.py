"""The SMS outbox repository: where the bridge "sends" codes (a file standing in for the carrier).

The one repository that is no table: the carrier is outside the store, and a code is sent only
after the challenge row it belongs to committed (`host_bridge.services.sms`).

Each delivery is one JSON line appended to `sms-outbox.jsonl` in the data folder (0600, fsynced):

    {"at": 1700000000.0, "channel": "sms", "serial": "SM0123456789", "user": "alice",
     "challenge_id": "…", "code": "123456"}

The outbox is the simulated phone, so it holds the code; the audit log records the delivery
without it. `channel` is `sms`, or `voice` for the voice callback that reads the code aloud when
SMS fails (KB3396). The resend limit (KB3196: a new code at most every 2 minutes) is enforced by
the service, which knows when the last code was issued.

IB Key push notifications go to a second file of the same shape, `push-outbox.jsonl` (the
stand-in for the phone-notification service): `channel` is `push`, `challenge_id` the push id and
`code` the challenge the app signs (`host_bridge.services.push`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from slsio.files import SECRET_MODE, open_regular

OUTBOX_FILE_NAME: Final = "sms-outbox.jsonl"
PUSH_OUTBOX_FILE_NAME: Final = "push-outbox.jsonl"
CHANNELS: Final = ("sms", "voice", "push")
MAX_OUTBOX_BYTES: Final = 64 << 20
"""How much of the outbox's end is read: the file only grows, the newest codes are at its end."""


@dataclass(frozen=True, slots=True)
class Message:
    """One delivered code."""

    at: float
    channel: str
    serial: str
    user: str | None
    challenge_id: str
    code: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")


class Outbox:
    """An append-only outbox file of one data folder (SMS/voice, or push notifications)."""

    def __init__(self, home: Path, name: str = OUTBOX_FILE_NAME) -> None:
        self.path = home / name

    def send(self, message: Message) -> None:
        """Append `message` durably (O_APPEND: concurrent writers never interleave a line)."""
        line = json.dumps(
            {
                "at": message.at,
                "channel": message.channel,
                "serial": message.serial,
                "user": message.user,
                "challenge_id": message.challenge_id,
                "code": message.code,
            },
            sort_keys=True,
        )
        # A FIFO or device in its place is refused (never waited on), as every file reader does.
        fd, _ = open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, SECRET_MODE)
        try:
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def messages(self) -> list[Message]:
        """The messages in the last `MAX_OUTBOX_BYTES` of the file, oldest first (damaged lines
        are skipped). Reading only the end keeps a long-used outbox readable and memory bounded.
        """
        try:
            fd, _ = open_regular(self.path)
            with os.fdopen(fd, "rb") as handle:
                start = max(0, handle.seek(0, os.SEEK_END) - MAX_OUTBOX_BYTES)
                handle.seek(start)
                data = handle.read(MAX_OUTBOX_BYTES)
        except FileNotFoundError:
            return []
        if start:
            data = data.partition(b"\n")[2]  # the first line was cut by the window
        found: list[Message] = []
        for raw in data.decode("utf-8", "replace").splitlines():
            try:
                item = json.loads(raw)
                found.append(
                    Message(
                        float(item["at"]), str(item["channel"]), str(item["serial"]),
                        item.get("user"), str(item["challenge_id"]), str(item["code"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by a power loss; later lines are still whole
        return found

    def latest(self, serial: str) -> Message | None:
        """The newest message for device `serial`, if any."""
        for message in reversed(self.messages()):
            if message.serial == serial:
                return message
        return None
