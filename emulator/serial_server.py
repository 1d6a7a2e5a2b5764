"""Emulated devices on serial lines: the device side of docs/serial-protocol.md.

Theory of operation. One asyncio process serves one or many devices, each on its own line. The
device side is split by concern:

* here, `DeviceLine` binds a `DeviceSession` (image lock, load, save-before-acknowledge) to the
  protocol: it turns one decoded `Request` into the replies to send (device events as `EVT`
  lines first, then the answer) and, on a real-time clock, lets time pass before every request
  and on every tick, announcing what changed by itself (`EVT DISPLAY`, `EVT POWER OFF`); the
  model's own events (`firmware_model.events`) go out as `EVT DEVICE <name> <args>`.
  It does no I/O of its own; the session saves the image before a reply is produced whenever the
  device says durable state changed, so an `OK` never runs ahead of the disk. Every duration is
  bounded by `ServeConfig` (`ERR RANGE` beyond it), so no request can wedge a line.
* `emulator.line_protocol`: framing, request order, the hold queue, pacing, faults and
  back-pressure (`LineProtocol`, `LineWriter`).
* `emulator.fd_transport`: ptys and POSIX serial devices as asyncio transports.
* `emulator.device_server`: the server over ptys and pyserial ports (`SerialServer`).
* `emulator.net_server`, `emulator.net_line`: the same lines over raw TCP and RFC 2217.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from emulator.session import DeviceSession
from firmware_model.errors import SlsError, UnknownButton
from firmware_model.serial_codec import (
    PROTOCOL_VERSION,
    Checksum,
    ClockAdvance,
    ClockQuery,
    ClockReply,
    ClockSet,
    Display,
    Err,
    ErrCode,
    Event,
    Hello,
    HelloReply,
    Hold,
    Ok,
    Power,
    Press,
    ProtocolError,
    PushNotice,
    Read,
    Reply,
    Request,
    State,
    StateReply,
    StateValue,
    Type,
    encode_reply,
)

BITS_PER_BYTE: Final = 10
"""8N1 framing: a start bit, eight data bits, a stop bit."""
POWER_BUTTON: Final = "POWER"
MAX_HOLD: Final = 60.0
MAX_ADVANCE: Final = 10 * 366 * 86400.0


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """How lines are served. Every limit is configuration, none is hard-coded in the logic."""

    virtual_clock: bool = False
    clock_start: float | None = None
    baud: int | None = None
    drop: float = 0.0
    garble: float = 0.0
    delay: float = 0.0
    seed: int | None = None
    tick_seconds: float = 0.25
    max_queued: int = 32
    write_high_water: int = 64 * 1024
    max_hold: float = MAX_HOLD
    """Longest real-time `HOLD` (it keeps the line busy that long): `ERR RANGE` beyond."""
    max_advance: float = MAX_ADVANCE
    """Longest virtual-clock step (`HOLD`, `CLOCK ADVANCE`, `CLOCK SET` ahead): `ERR RANGE`."""

    def __post_init__(self) -> None:
        for name, value in (("drop", self.drop), ("garble", self.garble)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1")
        if not (math.isfinite(self.delay) and self.delay >= 0):
            raise ValueError("delay must be a non-negative number of seconds")
        if self.baud is not None and self.baud <= 0:
            raise ValueError("baud must be positive")
        if not (math.isfinite(self.tick_seconds) and self.tick_seconds > 0):
            raise ValueError("tick must be a positive number of seconds")
        for name, value in (("max hold", self.max_hold), ("max advance", self.max_advance)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.max_queued < 1 or self.write_high_water < 256:
            raise ValueError("queue and buffer limits must be positive")
        if self.clock_start is not None and not self.virtual_clock:
            raise ValueError("a clock start time needs the virtual clock")
        if self.clock_start is not None and not (
            math.isfinite(self.clock_start) and self.clock_start >= 0
        ):
            raise ValueError("the clock start must be finite, non-negative Unix seconds")

    @property
    def faulty(self) -> bool:
        """Whether any fault is injected."""
        return self.drop > 0 or self.garble > 0 or self.delay > 0


# --- one device on one line (no I/O) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What answering one request produced: lines to send, and how long the line stays busy."""

    replies: tuple[Reply, ...]
    busy_seconds: float = 0.0


Clock = Callable[[], float]
OK_OUTCOME: Final = Outcome((Ok(),))
OK_WIRE: Final = (encode_reply(Ok()), encode_reply(Ok(), with_checksum=True))
"""`OK` as sent without and with the line checksum (index: checksum on)."""


class DeviceLine:
    """The protocol's view of one device session. Bad requests change nothing."""

    def __init__(
        self,
        session: DeviceSession,
        virtual_clock: bool,
        wall: Clock = time.time,
        *,
        max_hold: float = MAX_HOLD,
        max_advance: float = MAX_ADVANCE,
    ):
        self.session = session
        self.virtual_clock = virtual_clock
        self.max_hold = max_hold
        self.max_advance = max_advance
        self._wall = wall
        image = session.device.to_image()
        self.serial = image.serial
        self.model = session.device.model
        self._handlers: dict[type[Any], Callable[[Any], Outcome]] = {
            Hello: self._hello,
            State: self._state,
            Read: self._read,
            Press: self._press,
            Type: self._type,
            Hold: self._hold,
            Power: self._power,
            ClockQuery: self._clock_query,
            ClockAdvance: self._clock_advance,
            ClockSet: self._clock_set,
            Checksum: lambda _request: Outcome((Ok(),)),
            PushNotice: self._push_notice,
        }

    # -- entry points --

    def handle(self, request: Request) -> Outcome:
        """Answer one request: device events first, then the reply (or one `ERR`)."""
        before: tuple[Event, ...] = ()
        try:
            if not self.virtual_clock:
                before = self.tick()  # time passed since the last event
            outcome = self._handlers[type(request)](request)
        except UnknownButton as exc:
            outcome = Outcome((Err(ErrCode.BUTTON, str(exc)),))
        except ProtocolError as exc:
            outcome = Outcome((Err(exc.code, exc.message),))
        except OSError as exc:
            # The image could not be saved: say so instead of acknowledging.
            message = f"image could not be saved: {exc.strerror or exc}"
            outcome = Outcome((Err(ErrCode.INTERNAL, message),))
        except (SlsError, ValueError) as exc:
            outcome = Outcome((Err(ErrCode.BADARG, str(exc)),))
        if before:
            return Outcome(before + outcome.replies, outcome.busy_seconds)
        return outcome

    def tick(self) -> tuple[Event, ...]:
        """Let real time pass (real-time clock only); announce what changed by itself."""
        if self.virtual_clock:
            return ()
        return self._let_time_pass(lambda: self.session.set_time(self._wall()))

    def power_cut(self) -> None:
        """The host vanished (a network client dropped): the device loses power, as a card
        whose reader is unplugged would; durable state is kept, volatile state is not."""
        self.session.power_cut()

    def close(self) -> None:
        """Save what changed and release the image."""
        self.session.close()

    # -- helpers --

    def _let_time_pass(self, step: Callable[[], None]) -> tuple[Event, ...]:
        device = self.session.device
        display, powered = device.display, device.powered
        step()
        events = list(self._device_events())
        if device.display != display:
            events.append(Event(f"DISPLAY {device.display}".rstrip()))
        if powered and not device.powered:
            events.append(Event("POWER OFF"))
        return tuple(events)

    def _device_events(self) -> tuple[Event, ...]:
        return tuple(Event.from_device(event) for event in self.session.last_reaction.events)

    def _acknowledged(self) -> Outcome:
        """`OK` after a key, with the device's events before it."""
        if not self.session.last_reaction.events:
            return OK_OUTCOME  # the common case, without allocating
        return Outcome((*self._device_events(), Ok()))

    def _press(self, request: Press) -> Outcome:
        # The hot path of a rig: `_acknowledged` inlined (no events is the common case).
        session = self.session
        session.press(request.button)
        if session.last_reaction.events:
            return Outcome((*self._device_events(), Ok()))
        return OK_OUTCOME

    def _needs_virtual_clock(self) -> None:
        if not self.virtual_clock:
            raise ProtocolError(ErrCode.CLOCK, "clock control needs a server run --virtual-clock")

    # -- handlers --

    def _push_notice(self, request: PushNotice) -> Outcome:
        self.session.receive_push(request.push_id, request.user, request.challenge)
        return self._acknowledged()

    def _hello(self, _request: Hello) -> Outcome:
        return Outcome((HelloReply(PROTOCOL_VERSION, self.model, self.serial),))

    def _state(self, _request: State) -> Outcome:
        fields: dict[str, StateValue] = dict(self.session.device.status())
        fields.update(
            serial=self.serial,
            clock="virtual" if self.virtual_clock else "real",
            time=round(self.session.now, 6),
        )
        return Outcome((StateReply(fields),))

    def _read(self, _request: Read) -> Outcome:
        return Outcome((Display(self.session.read_display()),))

    def _type(self, request: Type) -> Outcome:
        device = self.session.device
        for digit in set(request.digits):
            device.check_button(digit)  # refuse before the first digit: all or nothing
        self.session.type_digits(request.digits)
        return self._acknowledged()

    def _check_step(self, seconds: float, what: str) -> None:
        """Refuse a duration beyond the server's bound, so no request can wedge the line."""
        limit = self.max_advance if self.virtual_clock else self.max_hold
        if seconds > limit:
            clock = "virtual" if self.virtual_clock else "real-time"
            raise ProtocolError(
                ErrCode.RANGE, f"{what} must be at most {limit:g} s on the {clock} clock"
            )

    def _hold(self, request: Hold) -> Outcome:
        self._check_step(request.seconds, "hold time")
        self.session.hold(request.button, request.seconds)
        outcome = self._acknowledged()
        # On the real clock the OK comes when the button is let go, as on the real thing.
        busy = 0.0 if self.virtual_clock else request.seconds
        return Outcome(outcome.replies, busy)

    def _power(self, request: Power) -> Outcome:
        device = self.session.device
        if POWER_BUTTON not in device.buttons:
            raise ProtocolError(ErrCode.UNSUPPORTED, f"{self.model} has no POWER button")
        if device.powered == request.on:
            return Outcome((Ok(),))  # already so: POWER ON/OFF is idempotent
        self.session.press(POWER_BUTTON)
        return self._acknowledged()

    def _clock_query(self, _request: ClockQuery) -> Outcome:
        return Outcome((ClockReply(round(self.session.now, 6)),))

    def _clock_advance(self, request: ClockAdvance) -> Outcome:
        self._needs_virtual_clock()
        self._check_step(request.seconds, "clock advance")
        later = self.session.now + request.seconds
        events = self._let_time_pass(lambda: self.session.set_time(later))
        return Outcome((*events, ClockReply(round(self.session.now, 6))))

    def _clock_set(self, request: ClockSet) -> Outcome:
        self._needs_virtual_clock()
        if request.unix < self.session.now:
            raise ProtocolError(ErrCode.BADARG, "the device clock never goes back")
        self._check_step(request.unix - self.session.now, "clock step")
        events = self._let_time_pass(lambda: self.session.set_time(request.unix))
        return Outcome((*events, ClockReply(round(self.session.now, 6))))
