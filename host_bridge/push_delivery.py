"""Carry an IB Key push from the host's push outbox to an emulated app on a serial line, and the
app's answer back to the host (`slsbridge push deliver --via DEV`).

    outbox → `PUSH <id> <user> <challenge>` → the app shows the login request
    approve: PRESS APPROVE, TYPE <PIN>, PRESS OK → `EVT DEVICE PUSH APPROVED <id> <response>`
             → `PushService.approve(id, response)` (verified like any response)
    deny:    PRESS DENY → `EVT DEVICE PUSH DENIED <id>` → `PushService.deny(id)`

The PIN goes to the device only; no message carries it or the response.
"""

from __future__ import annotations

from firmware_model.events import PushApproved, PushDenied
from firmware_model.serial_codec import ErrCode, Event, ProtocolError
from host_bridge.errors import BridgeError
from host_bridge.serial_login import DEFAULT_CONFIG
from host_bridge.services.push import PUSH_MODEL, PushAnswer, PushService
from host_bridge.verification import Verdict
from slsio.serial_client import DEFAULT_BAUD, SerialClient

DENIED = "push denied"


def deliver(
    push: PushService, serial: str, port: str, pin: str | None, *, baud: int | None = None
) -> PushAnswer:
    """Relay the newest notification for `serial` to the app on `port`; with `pin` approve it,
    without deny it; the host's verdict on the app's answer."""
    message = push.ctx.push_outbox.latest(serial)
    if message is None or message.user is None:
        raise BridgeError(f"no push notification for device {serial}")
    with SerialClient(port, baud or DEFAULT_BAUD, DEFAULT_CONFIG) as client:
        hello = client.hello()
        if hello.model != PUSH_MODEL or hello.serial != serial:
            raise ProtocolError(ErrCode.BADREPLY, f"the device on {port} is not IB Key {serial}")
        client.events.clear()
        client.push(message.challenge_id, message.user, message.code)
        if pin is None:
            client.press("DENY")
        else:
            client.press("APPROVE")
            client.type_digits(pin)
            client.press("OK")
        answers = [Event(text).device_event() for text in client.events]
    for event in answers:
        if isinstance(event, PushApproved) and event.push_id == message.challenge_id:
            return push.approve(event.push_id, event.response)
        if isinstance(event, PushDenied) and event.push_id == message.challenge_id:
            return PushAnswer(push.deny(event.push_id), Verdict(False, DENIED))
    raise ProtocolError(ErrCode.BADREPLY, "the app did not answer the push (wrong PIN?)")
