"""The emulated IB Key app answering the host's push notifications (tests' stand-in phone)."""

from __future__ import annotations

from pathlib import Path

from firmware_model.events import PushApproved, PushDenied
from firmware_model.ibkey import IbKey
from firmware_model.image import encode_image
from firmware_model.models import load_device
from host_bridge.repos.outbox import PUSH_OUTBOX_FILE_NAME, Outbox
from tests.bridge_helpers import read_image


class Phone:
    """An IB Key app loaded from its image file; each answer is saved back (its counter)."""

    def __init__(self, image_path: Path) -> None:
        self.path = image_path
        device = load_device(read_image(image_path), lambda n: bytes(n))
        assert isinstance(device, IbKey)
        self.app = device

    def receive(self, home: Path, serial: str, now: float) -> str:
        """Take the newest notification for `serial` from the push outbox; its push id."""
        message = Outbox(home, PUSH_OUTBOX_FILE_NAME).latest(serial)
        assert message is not None and message.user is not None
        self.app.receive_push(message.challenge_id, message.user, message.code, now)
        return message.challenge_id

    def approve(self, pin: str, now: float) -> PushApproved:
        reaction = self.app.approve(pin, now)
        self.path.write_bytes(encode_image(self.app.to_image()))
        (event,) = [e for e in reaction.events if isinstance(e, PushApproved)]
        return event

    def deny(self, now: float) -> PushDenied:
        (event,) = [e for e in self.app.deny(now).events if isinstance(e, PushDenied)]
        return event
