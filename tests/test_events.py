"""Device events: typed, validated, never showing a code, and spelled on the serial line by the
codec (`EVT DEVICE <name> <args>`) so that the line reads back as the same typed event."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.images import save_image
from emulator.serial_server import DeviceLine
from emulator.session import DeviceSession
from firmware_model.device import ImageSpec
from firmware_model.events import (
    EVENT_TYPES,
    DeviceEvent,
    PinLocked,
    PinRejected,
    PowerOff,
    PowerOn,
    PushApproved,
    PushDenied,
    ResponseComputed,
    from_wire,
    to_wire,
)
from firmware_model.ibkey import IBKEY_SUITE
from firmware_model.models import new_image
from firmware_model.ocra import ocra
from firmware_model.serial_codec import (
    ErrCode,
    Event,
    Press,
    ProtocolError,
    Reply,
    Type,
    encode_reply,
    parse_reply,
)

CODE = "73829105"
KEY = bytes(range(20))

WORDS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)


def _events() -> st.SearchStrategy[DeviceEvent]:
    """Any valid event of any type."""

    def build(cls: type[DeviceEvent]) -> st.SearchStrategy[DeviceEvent]:
        kwargs = {
            spec.name: st.integers(1, 10**6) if spec.type == "int" else WORDS
            for spec in dataclasses.fields(cls)
        }
        return st.builds(cls, **kwargs)

    return st.one_of([build(cls) for cls in EVENT_TYPES])


# --- the types -----------------------------------------------------------------------------------


def test_each_type_has_its_own_name() -> None:
    names = [cls.name for cls in EVENT_TYPES]
    assert len(set(names)) == len(names) and all(names)


def test_events_are_frozen_values() -> None:
    event = PushDenied("p1")
    assert event == PushDenied("p1") and event != PushDenied("p2") and PowerOn() != PowerOff()
    assert len({PowerOn(), PowerOn(), PinRejected(2)}) == 2  # hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.push_id = "p2"  # type: ignore[misc]


@pytest.mark.parametrize(
    "event", [PushApproved("p1", CODE), ResponseComputed("alice", CODE)], ids=repr
)
def test_a_code_is_never_in_repr_str_or_the_log_line(event: DeviceEvent) -> None:
    for shown in (repr(event), str(event), event.describe(), f"{event}", f"{[event]}"):
        assert CODE not in shown
    assert CODE in to_wire(event)  # the app's answer travels on the line, as to the broker


def test_describe_is_the_name_and_the_arguments_that_are_not_secret() -> None:
    assert PinRejected(3).describe() == "pin-fail 3"
    assert PushApproved("push-1", CODE).describe() == "PUSH APPROVED push-1"
    assert ResponseComputed("bob", CODE).describe() == "RESPONSE bob"
    assert PinLocked().describe() == "lock"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PinRejected(0), "positive integer"),
        (lambda: PinRejected(True), "positive integer"),  # a bool is not a count
        (lambda: PinRejected("2"), "positive integer"),
        (lambda: PushDenied(""), "one word"),
        (lambda: PushDenied("two words"), "one word"),
        (lambda: PushDenied("é"), "one word"),
        (lambda: DeviceEvent(), "DeviceEvent subclasses"),
    ],
)
def test_bad_fields_are_refused_when_made(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_a_bad_secret_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError) as caught:
        PushApproved("p1", "7382 9105")
    assert "7382" not in str(caught.value)


# --- the wire spelling ---------------------------------------------------------------------------


@given(_events())
def test_wire_spelling_reads_back_as_the_same_event(event: DeviceEvent) -> None:
    assert from_wire(to_wire(event)) == event
    line = encode_reply(Event.from_device(event))
    assert line.startswith(b"EVT DEVICE ") and line.endswith(b"\n")
    reply = parse_reply(line.rstrip(b"\n"))
    assert isinstance(reply, Event) and reply.device_event() == event


@given(st.text(max_size=40))
def test_any_text_is_an_event_or_a_value_error(text: str) -> None:
    try:
        event = from_wire(text)
    except ValueError as exc:  # the message never repeats an argument, which may be a code
        assert all(word not in str(exc) for word in text.split(" ")[1:] if len(word) >= 8)
    else:
        assert to_wire(event) == text


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("power-on", PowerOn()),
        ("pin-fail 2", PinRejected(2)),
        ("PUSH DENIED p3", PushDenied("p3")),
        (f"PUSH APPROVED p1 {CODE}", PushApproved("p1", CODE)),
    ],
)
def test_documented_spellings(text: str, event: DeviceEvent) -> None:
    assert to_wire(event) == text and from_wire(text) == event


@pytest.mark.parametrize(
    "text", ["", "power-off now", "pin-fail", "pin-fail x", "pin-fail 0", "PUSH", "nothing"]
)
def test_malformed_device_lines_are_bad_replies(text: str) -> None:
    with pytest.raises(ValueError):
        from_wire(text)
    line = Event(f"DEVICE {text}" if text else "DEVICE")
    if line.text.startswith("DEVICE "):
        with pytest.raises(ProtocolError) as caught:
            line.device_event()
        assert caught.value.code is ErrCode.BADREPLY
    else:
        assert line.device_event() is None


def test_the_protocols_own_lines_are_no_device_events() -> None:
    assert Event("POWER OFF").device_event() is None
    assert Event("DISPLAY PIN>").device_event() is None


# --- the serial server puts the devices' events on the line -------------------------------------


def _device_lines(replies: tuple[Reply, ...]) -> list[DeviceEvent | None]:
    return [reply.device_event() for reply in replies if isinstance(reply, Event)]


def _line(tmp_path: Path, spec: ImageSpec) -> DeviceLine:
    path = tmp_path / "device.img"
    save_image(path, new_image(spec, os.urandom))
    return DeviceLine(DeviceSession(path, clock=1_700_000_000.0), virtual_clock=True)


def test_a_legacy_dsc_announces_typed_pin_events(tmp_path: Path) -> None:
    line = _line(tmp_path, ImageSpec("dsc", "DS0000000001", KEY, pin="2468"))
    try:
        assert _device_lines(line.handle(Press("POWER")).replies) == []
        line.handle(Type("1111"))
        outcome = line.handle(Press("OK"))
        assert [encode_reply(r) for r in outcome.replies] == [b"EVT DEVICE pin-fail 1\n", b"OK\n"]
        assert _device_lines(outcome.replies) == [PinRejected(1)]
    finally:
        line.close()


def test_an_ib_key_response_travels_as_a_typed_event(tmp_path: Path) -> None:
    spec = ImageSpec("ibkey", "IK0000000001", KEY, pin="9876", suite=IBKEY_SUITE)
    line = _line(tmp_path, spec)
    try:
        line.handle(Press("POWER"))
        line.handle(Type("123456"))
        line.handle(Press("OK"))
        line.handle(Type("9876"))
        outcome = line.handle(Press("OK"))
        expected = ocra(IBKEY_SUITE, KEY, counter=0, question="123456", pin="9876")
        assert _device_lines(outcome.replies) == [ResponseComputed("user", expected)]
        assert encode_reply(outcome.replies[0]) == f"EVT DEVICE RESPONSE user {expected}\n".encode()
    finally:
        line.close()
