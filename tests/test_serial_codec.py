"""The serial line codec: any bytes → requests or documented errors, in order, however chunked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model import serial_codec as sc
from firmware_model.serial_codec import (
    MAX_REQUEST_BYTES,
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
    LineSplitter,
    Ok,
    Overlong,
    Power,
    Press,
    ProtocolError,
    PushNotice,
    Read,
    Reply,
    ReplyDecoder,
    Request,
    RequestDecoder,
    State,
    StateReply,
    Type,
)

# --- strategies -----------------------------------------------------------------------------------

buttons = st.from_regex(sc.BUTTON_RE, fullmatch=True)
micro_seconds = st.integers(min_value=0, max_value=sc.MAX_SECONDS * 10**6).map(lambda us: us / 1e6)
requests: st.SearchStrategy[Request] = st.one_of(
    st.just(Hello()),
    st.just(State()),
    st.just(Read()),
    st.just(ClockQuery()),
    buttons.map(Press),
    st.from_regex(r"[0-9]{1,64}", fullmatch=True).map(Type),
    st.builds(Hold, buttons, micro_seconds),
    st.booleans().map(Power),
    st.booleans().map(Checksum),
    micro_seconds.map(ClockAdvance),
    st.integers(0, 2**37 * 10**6).map(lambda us: ClockSet(us / 1e6)),
    st.builds(
        PushNotice,
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9._@-]{1,64}", fullmatch=True),
        st.from_regex(r"[0-9]{1,64}", fullmatch=True),
    ),
)
free_text = st.text(max_size=40)
replies: st.SearchStrategy[Reply] = st.one_of(
    st.just(Ok()),
    st.builds(Err, st.sampled_from(list(ErrCode)), st.text(max_size=30).map(str.strip)),
    free_text.map(Display),
    st.builds(
        HelloReply,
        st.integers(1, 999),
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        st.from_regex(r"[A-Z]{2}[0-9]{10}", fullmatch=True),
    ),
    # A device's STATE has a handful of short fields; two of the longest escaped texts still fit
    # the reply line limit (MAX_REPLY_BYTES), which the decoder enforces.
    st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.booleans(), st.integers(-1000, 1000), free_text),
        max_size=2,
    ).map(StateReply),
    st.integers(0, 2**37 * 10**6).map(lambda us: ClockReply(us / 1e6)),
    free_text.filter(bool).map(Event),
)


REQUEST_TYPES = (
    Hello, State, Read, Press, Type, Hold, Power, ClockQuery, ClockAdvance, ClockSet, Checksum,
    PushNotice,
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split `data` at the given cut points."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[last:point])
        last = point
    return pieces


def decode_requests(pieces: list[bytes]) -> list[Request | Err]:
    decoder = RequestDecoder()
    out: list[Request | Err] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    return out


# --- requests -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"PRESS OK", Press("OK")),
        (b"press ok", Press("OK")),
        (b"PRESS 7", Press("7")),
        (b"TYPE 123456", Type("123456")),
        (b"READ", Read()),
        (b"HELLO", Hello()),
        (b"STATE", State()),
        (b"POWER ON", Power(True)),
        (b"power off", Power(False)),
        (b"HOLD POWER 2.5", Hold("POWER", 2.5)),
        (b"CLOCK", ClockQuery()),
        (b"CLOCK ADVANCE 30", ClockAdvance(30)),
        (b"clock set 1700000000.25", ClockSet(1700000000.25)),
        (b"CHECKSUM ON", Checksum(True)),
        (b"  PRESS   BACK  ", Press("BACK")),
    ],
)
def test_parse_request(line: bytes, expected: Request) -> None:
    assert sc.parse_request(line) == expected


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"FROB", ErrCode.BADCMD),
        (b"PRESS", ErrCode.BADARG),
        (b"PRESS A B", ErrCode.BADARG),
        (b"PRESS \xff", ErrCode.BADCMD),
        (b"PRESS TOO-LONG!", ErrCode.BADARG),
        (b"TYPE 12a", ErrCode.BADARG),
        (b"TYPE " + b"1" * 65, ErrCode.BADARG),
        (b"HOLD OK -1", ErrCode.BADARG),
        (b"HOLD OK 1e3", ErrCode.BADARG),
        (b"HOLD OK 2000000000", ErrCode.BADARG),
        (b"POWER MAYBE", ErrCode.BADARG),
        (b"READ NOW", ErrCode.BADARG),
        (b"CLOCK BACK 3", ErrCode.BADARG),
        (b"READ\x00", ErrCode.BADCMD),
    ],
)
def test_bad_request_lines_give_documented_codes(line: bytes, code: ErrCode) -> None:
    with pytest.raises(ProtocolError) as info:
        sc.parse_request(line)
    assert info.value.code is code


@given(requests, st.booleans())
def test_request_format_parse_round_trip(request: Request, with_checksum: bool) -> None:
    wire = sc.encode_request(request, with_checksum)
    assert wire.endswith(b"\n") and len(wire) <= MAX_REQUEST_BYTES + 1
    assert RequestDecoder().feed(wire) == [request]


def test_request_constructors_refuse_bad_values() -> None:
    for make in (
        lambda: Press("not ok"),
        lambda: Type(""),
        lambda: Hold("OK", -1),
        lambda: Hold("OK", float("nan")),
        lambda: ClockAdvance(float("inf")),
    ):
        with pytest.raises(ValueError):
            make()


def test_a_typed_pin_stays_out_of_the_request_repr() -> None:
    assert "4711" not in repr(Type("4711"))
    assert Type("4711").to_line() == "TYPE 4711"


# --- checksums ------------------------------------------------------------------------------


def test_checksum_is_nmea_style_xor() -> None:
    assert sc.checksum(b"READ") == "%02X" % (ord("R") ^ ord("E") ^ ord("A") ^ ord("D"))
    expected = b"READ*" + sc.checksum(b"READ").encode() + b"\n"
    assert sc.encode_line("READ", with_checksum=True) == expected


def test_checksum_mode_makes_checksum_mandatory_after_the_request() -> None:
    decoder = RequestDecoder()
    good = sc.encode_request(Read(), with_checksum=True)
    bad = b"READ*00\n"
    off = sc.encode_request(Checksum(False), with_checksum=True)
    out = decoder.feed(b"CHECKSUM ON\nREAD\n" + good + bad + off + b"READ\n")
    assert out == [
        Checksum(True),
        Err(ErrCode.CHECKSUM, "checksum missing"),
        Read(),
        Err(ErrCode.CHECKSUM, "checksum mismatch"),
        Checksum(False),
        Read(),
    ]


def test_a_given_checksum_is_always_checked() -> None:
    assert RequestDecoder().feed(b"READ*00\n") == [Err(ErrCode.CHECKSUM, "checksum mismatch")]


# --- framing --------------------------------------------------------------------------------------


def test_splitter_handles_crlf_empty_lines_and_half_lines() -> None:
    splitter = LineSplitter(8)
    assert splitter.feed(b"A\r\n\n\r\nBC") == [b"A"]
    assert splitter.pending == 2
    assert splitter.feed(b"D\n") == [b"BCD"]
    assert splitter.feed(b"half") == []
    assert splitter.close() is True
    assert splitter.feed(b"X\n") == [b"X"]


def test_overlong_line_reported_once_and_skipped_to_next_newline() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"123456") == [Overlong(4)]
    assert splitter.pending == 0
    assert splitter.feed(b"6789" * 100) == []
    assert splitter.feed(b"\nOK\n") == [b"OK"]
    # exactly at the limit is fine, also with a CR before the LF
    assert splitter.feed(b"1234\n1234\r\n") == [b"1234", b"1234"]


def test_cancel_byte_voids_a_half_line_silently() -> None:
    decoder = RequestDecoder()
    assert decoder.feed(b"PRESS 1") == []
    assert decoder.feed(sc.CANCEL + b"READ\n") == [Read()]
    assert decoder.feed(b"X" * 1000 + sc.CANCEL + b"HELLO\n") == [
        Err(ErrCode.TOOLONG, f"line longer than {MAX_REQUEST_BYTES} bytes"),
        Hello(),
    ]
    assert decoder.feed(sc.CANCEL) == []  # nothing to void: no reply either


def test_overlong_request_gets_toolong() -> None:
    line = b"TYPE " + b"1" * MAX_REQUEST_BYTES + b"\nREAD\n"
    assert decode_requests([line]) == [
        Err(ErrCode.TOOLONG, f"line longer than {MAX_REQUEST_BYTES} bytes"),
        Read(),
    ]


junk = st.binary(max_size=600)
mixed_stream = st.lists(
    st.one_of(
        requests.map(lambda r: sc.encode_request(r)),
        junk,
        st.sampled_from([b"\n", b"\r\n", sc.CANCEL]),
    ),
    max_size=12,
).map(b"".join)


@settings(max_examples=150)
@given(mixed_stream, st.lists(st.integers(min_value=0), max_size=20), junk)
def test_any_bytes_decode_the_same_however_chunked(
    data: bytes, cuts: list[int], trailing: bytes
) -> None:
    """Whole, byte by byte or in random chunks, with trailing junk: the same items, no exception."""
    whole = decode_requests([data + trailing])
    assert decode_requests([bytes([b]) for b in data + trailing]) == whole
    assert decode_requests(chunked(data + trailing, cuts)) == whole
    documented = {ErrCode.BADCMD, ErrCode.BADARG, ErrCode.TOOLONG, ErrCode.CHECKSUM}
    for item in whole:
        if isinstance(item, Err):
            assert item.code in documented
        else:
            assert isinstance(item, REQUEST_TYPES)
    if data.endswith(b"\n"):  # trailing junk never changes what complete lines gave
        prefix = decode_requests([data])
        assert whole[: len(prefix)] == prefix


@settings(max_examples=100)
@given(st.lists(requests, max_size=10), st.lists(st.integers(min_value=0), max_size=10))
def test_valid_request_streams_survive_any_chunking(items: list[Request], cuts: list[int]) -> None:
    wire, mandatory = [], False
    for request in items:
        wire.append(sc.encode_request(request, with_checksum=mandatory))
        if isinstance(request, Checksum):
            mandatory = request.on
    data = b"".join(wire)
    assert decode_requests(chunked(data, cuts)) == items


# --- replies --------------------------------------------------------------------------------------


@given(replies, st.booleans())
def test_reply_format_parse_round_trip(reply: Reply, with_checksum: bool) -> None:
    decoder = ReplyDecoder()
    decoder.checksum_required = with_checksum
    wire = sc.encode_reply(reply, with_checksum)
    assert wire.count(b"\n") == 1
    assert decoder.feed(wire) == [reply]


@settings(max_examples=150)
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=10), st.booleans())
def test_any_reply_bytes_give_replies_or_badreply(
    data: bytes, cuts: list[int], with_checksum: bool
) -> None:
    def decode(pieces: list[bytes]) -> list[object]:
        decoder = ReplyDecoder()
        decoder.checksum_required = with_checksum
        out: list[object] = []
        for piece in pieces:
            out.extend(decoder.feed(piece))
        return out

    whole = decode([data])
    for item in whole:
        if isinstance(item, ProtocolError):
            assert item.code is ErrCode.BADREPLY
    assert [str(i) for i in decode(chunked(data, cuts))] == [str(i) for i in whole]


def test_display_text_escapes_round_trip() -> None:
    text = "a\\b\nc\x00é€*3F"
    line = Display(text).to_line()
    assert line.isascii() and "\n" not in line
    assert sc.parse_reply(line.encode()) == Display(text)
    assert sc.parse_reply(b"DISPLAY") == Display("")


@pytest.mark.parametrize(
    "line",
    [
        b"HELLO other 1 dscplus DP1",
        b"STATE [1]",
        b"STATE {",
        b"STATE " + b"[" * 1000,  # deeper than the JSON parser goes: BADREPLY, not a crash
        b'STATE {"battery_presses_left":NaN}',
        b'STATE {"x":1e999}',
        b"ERR NOPE x",
        b"WHAT",
        b"EVT",
    ],
)
def test_malformed_replies_are_badreply(line: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        sc.parse_reply(line)
    assert info.value.code is ErrCode.BADREPLY


def test_err_reply_becomes_protocol_error_with_code() -> None:
    reply = sc.parse_reply(b"ERR BUTTON dscplus has no button 'X'")
    assert isinstance(reply, Err)
    error = reply.error()
    assert error.code is ErrCode.BUTTON and "no button" in str(error)


def test_event_and_clock_lines() -> None:
    assert sc.parse_reply(b"EVT POWER OFF") == Event("POWER OFF")
    assert sc.parse_reply(b"CLOCK 1700000000.5") == ClockReply(1700000000.5)
    assert sc.format_seconds(3.0) == "3" and sc.format_seconds(0.0) == "0"
