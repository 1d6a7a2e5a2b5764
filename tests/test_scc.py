"""Security Code Card: the grid, its known answers, the printed layout and the card reader."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.device import ImageSpec
from firmware_model.errors import ImageError, UnknownButton
from firmware_model.fsm import Rule, kind_of
from firmware_model.image import DeviceImage, decode_image, encode_image
from firmware_model.models import load_device, new_image
from firmware_model.scc import (
    ALPHABET,
    CELLS,
    TRANSITIONS,
    SccState,
    SecurityCodeCard,
    SecurityCodeCardDevice,
    online_valid_until,
    render_card,
    scc_code,
    scc_grid,
    scc_response,
)
from tests.fsm_check import assert_move

VECTORS = Path(__file__).parent / "vectors" / "scc" / "grid-v1.txt"
Entropy = Callable[[int], bytes]


def load_vectors() -> list[tuple[bytes, int, str]]:
    """(key, index, code) triples from the data file."""
    rows: list[tuple[bytes, int, str]] = []
    key = b""
    for line in VECTORS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("KEY="):
            key = bytes.fromhex(line[4:])
            continue
        index, code = line.split()
        rows.append((key, int(index), code))
    return rows


VECTOR_ROWS = load_vectors()


def reference_grid(key: bytes) -> list[str]:
    """A second, deliberately different implementation of the documented derivation."""

    def stream() -> Iterator[int]:
        block = 0
        while True:
            mac = hmac.new(key, b"slsemu-scc-v1" + block.to_bytes(4, "big"), "sha256")
            yield from mac.digest()
            block += 1

    accepted = (ALPHABET[b % 36] for b in stream() if b < 252)
    flat = [next(accepted) for _ in range(CELLS * 3)]
    return ["".join(flat[i : i + 3]) for i in range(0, len(flat), 3)]


# --- the grid -------------------------------------------------------------------------------------


def test_vector_file_is_substantial() -> None:
    assert len(VECTOR_ROWS) >= CELLS + 20
    assert len({key for key, _, _ in VECTOR_ROWS}) >= 5


@pytest.mark.parametrize(("key", "index", "code"), VECTOR_ROWS[::7] + VECTOR_ROWS[-30:])
def test_known_answers(key: bytes, index: int, code: str) -> None:
    assert scc_code(key, index) == code


def test_whole_grid_matches_vectors_and_reference() -> None:
    for key in {key for key, _, _ in VECTOR_ROWS}:
        grid = scc_grid(key)
        assert list(grid) == reference_grid(key)
        for vkey, index, code in VECTOR_ROWS:
            if vkey == key:
                assert grid[index - 1] == code


def test_grid_shape_and_alphabet() -> None:
    grid = scc_grid(b"\x01" * 20)
    assert len(grid) == CELLS == 224
    assert all(re.fullmatch(r"[0-9A-Z]{3}", code) for code in grid)
    assert ALPHABET == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_grid_is_deterministic_and_key_dependent() -> None:
    assert scc_grid(b"card-one") == scc_grid(b"card-one")
    assert scc_grid(b"card-one") != scc_grid(b"card-two")


@pytest.mark.parametrize("index", [0, 225, -1, True])
def test_code_outside_the_card_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="1 to 224"):
        scc_code(b"key", index)


@pytest.mark.parametrize("key", [b"", b"x" * 129])
def test_bad_key_is_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="key"):
        scc_grid(key)


def test_response_is_both_codes_without_space() -> None:
    key = bytes.fromhex("3132333435363738393031323334353637383930")
    assert scc_response(key, 1, 2) == "Y1SQYQ"
    assert scc_response(key, 17, 224) == scc_code(key, 17) + scc_code(key, 224)
    with pytest.raises(ValueError):
        scc_response(key, 1, 300)


def _chi_square(grid_of: Callable[[bytes], tuple[str, ...] | list[str]], keys: int) -> float:
    counts: Counter[str] = Counter()
    for n in range(keys):
        for code in grid_of(n.to_bytes(4, "big")):
            counts.update(code)
    total = sum(counts.values())
    expected = total / len(ALPHABET)
    return sum((counts[s] - expected) ** 2 / expected for s in ALPHABET)


# 35 degrees of freedom: mean 35, p(chi2 > 90) is about 1e-6, so an unbiased grid passes.
CHI_SQUARE_BOUND = 90.0


def test_symbols_are_unbiased() -> None:
    assert _chi_square(scc_grid, keys=200) < CHI_SQUARE_BOUND


def test_the_bias_check_catches_modulo_bias() -> None:
    """The same check fails for a grid that takes `byte % 36` without rejection."""

    def biased_grid(key: bytes) -> list[str]:
        data = b"".join(
            hmac.digest(key, b"slsemu-scc-v1" + n.to_bytes(4, "big"), hashlib.sha256)
            for n in range(21)
        )[: CELLS * 3]
        return ["".join(ALPHABET[b % 36] for b in data[i : i + 3]) for i in range(0, len(data), 3)]

    assert _chi_square(biased_grid, keys=200) > CHI_SQUARE_BOUND


# --- the printed card -----------------------------------------------------------------------------


def test_render_has_every_cell_with_its_index() -> None:
    key = b"render-me"
    text = render_card(key)
    grid = scc_grid(key)
    assert text.splitlines()[0] == "SECURITY CODE CARD"
    for index in range(1, CELLS + 1):
        assert re.search(rf"(?<!\d){index} {grid[index - 1]}(?![0-9A-Z])", text), index
    assert text.endswith("\n")


def test_render_layout_is_columns_running_down() -> None:
    key = b"render-me"
    grid = scc_grid(key)
    lines = render_card(key).splitlines()
    rows = [line for line in lines[2:]]
    assert len(rows) == 28
    assert rows[0].split("   ")[0] == f"  1 {grid[0]}"
    assert rows[0].split("   ")[1] == f" 29 {grid[28]}"
    assert rows[-1].split("   ")[-1] == f"224 {grid[223]}"
    assert len({len(row) for row in rows}) == 1


def test_render_online_card_shows_validity() -> None:
    lines = render_card(b"k", online=True, valid_until="2026-12-19").splitlines()
    assert lines[0] == "ONLINE SECURITY CODE CARD"
    assert lines[1] == "valid until 2026-12-19"
    with pytest.raises(ValueError, match="ISO date"):
        render_card(b"k", online=True, valid_until="19.12.2026")
    with pytest.raises(ValueError, match="ISO date"):  # a week date is ISO 8601, not YYYY-MM-DD
        render_card(b"k", online=True, valid_until="2026-W51-6")


def test_card_value_object() -> None:
    import datetime

    card = SecurityCodeCard(b"secret-key", online=True, valid_until="2026-12-19")
    assert card.code(17) == scc_code(b"secret-key", 17)
    assert card.response(3, 4) == scc_response(b"secret-key", 3, 4)
    assert card.render() == render_card(b"secret-key", online=True, valid_until="2026-12-19")
    assert "secret" not in repr(card)
    assert online_valid_until(datetime.date(2026, 11, 28)) == "2026-12-19"
    with pytest.raises(ValueError, match="Online"):
        SecurityCodeCard(b"k", online=False, valid_until="2026-12-19")


# --- the card reader device -----------------------------------------------------------------------


def make_device(entropy: Entropy, **options: object) -> SecurityCodeCardDevice:
    spec = ImageSpec(model="scc", serial="SC0000000001", key=b"card-key", options=dict(options))
    device = load_device(new_image(spec, entropy), entropy)
    assert isinstance(device, SecurityCodeCardDevice)
    return device


def test_reader_flow(entropy: Entropy) -> None:
    device = make_device(entropy)
    assert device.display == "" and not device.powered
    assert device.press("OK", 0).display == ""  # off: nothing happens
    assert device.press("POWER", 1).display == "INDEX>"
    assert device.press("1", 2).display == "1"
    assert device.press("7", 3).display == "17"
    reaction = device.press("OK", 4)
    assert reaction.display == f"17 {scc_code(b'card-key', 17)}"
    assert not reaction.persist
    assert device.state is SccState.SHOWN
    # a digit starts the next index at once
    assert device.press("2", 5).display == "2"
    device.type_digits("24", 5)
    assert device.display == "224"
    assert device.press("9", 5).display == "224"  # at most three digits
    assert device.press("BACK", 6).display == "22"
    assert device.press("BACK", 6).display == "2"
    assert device.press("BACK", 6).display == "INDEX>"
    assert device.press("BACK", 6).display == "INDEX>"
    device.type_digits("224", 7)
    assert device.press("OK", 7).display == f"224 {scc_code(b'card-key', 224)}"
    assert device.press("OK", 8).display == "INDEX>"
    assert device.press("POWER", 9).display == ""


@pytest.mark.parametrize("typed", ["", "0", "225", "999", "000"])
def test_reader_refuses_a_bad_index(entropy: Entropy, typed: str) -> None:
    device = make_device(entropy)
    device.press("POWER", 0)
    if typed:
        device.type_digits(typed, 0)
    assert device.press("OK", 1).display == "BAD IDX"
    assert device.press("BACK", 2).display == "INDEX>"


def test_reader_has_card_buttons_only(entropy: Entropy) -> None:
    device = make_device(entropy)
    with pytest.raises(UnknownButton):
        device.press("APPROVE", 0)


def test_reader_never_turns_itself_off(entropy: Entropy) -> None:
    device = make_device(entropy)
    device.press("POWER", 0)
    assert device.advance(10_000).display == "INDEX>"


def test_online_image_and_status(entropy: Entropy) -> None:
    device = make_device(entropy, online=True, valid_until="2026-12-19")
    assert device.card.online and device.card.valid_until == "2026-12-19"
    status = device.status()
    assert status["online"] is True and status["valid_until"] == "2026-12-19"
    assert status["model"] == "scc"


def test_image_round_trip(entropy: Entropy) -> None:
    device = make_device(entropy, online=True, valid_until="2026-12-19")
    image = decode_image(encode_image(device.to_image()))
    again = SecurityCodeCardDevice.from_image(image, entropy)
    assert again.card == device.card
    assert "card-key" not in str(image.summary())


@pytest.mark.parametrize(
    "options",
    [
        {"online": "yes"},
        {"valid_until": "2026-12-19"},
        {"online": True, "valid_until": "soon"},
        {"colour": "red"},
    ],
)
def test_new_image_refuses_bad_options(entropy: Entropy, options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_device(entropy, **options)


def test_new_image_refuses_pin(entropy: Entropy) -> None:
    spec = ImageSpec(model="scc", serial="SC1", key=b"k", pin="1234")
    with pytest.raises(ValueError, match="PIN"):
        SecurityCodeCardDevice.new_image(spec, entropy)


@pytest.mark.parametrize(
    "image",
    [
        DeviceImage("scc", "SC1", b"k", "OCRA-1:HOTP-SHA1-8:QN06", {}, {}),
        DeviceImage("scc", "SC1", b"k", None, {"online": 1}, {}),
        DeviceImage("scc", "SC1", b"k", None, {"online": False, "valid_until": "2026-12-19"}, {}),
        DeviceImage("scc", "SC1", b"k", None, {}, {"counter": 3}),
        DeviceImage("dsc", "SC1", b"k", None, {}, {}),
    ],
)
def test_inconsistent_images_are_refused(entropy: Entropy, image: DeviceImage) -> None:
    with pytest.raises(ImageError):
        SecurityCodeCardDevice.from_image(image, entropy)


BUTTONS = sorted(SecurityCodeCardDevice.buttons)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([*BUTTONS, *'00122']), st.floats(0, 1e6)), max_size=40))
def test_any_presses_keep_the_display_short_and_the_table(presses: list[tuple[str, float]]) -> None:
    device = SecurityCodeCardDevice.from_image(
        DeviceImage("scc", "SC1", b"prop-key", None, {}, {}), lambda n: bytes(n)
    )
    for button, now in presses:
        before = device.state
        reaction = device.press(button, now)
        assert_move(TRANSITIONS, before, (kind_of(button),), device.state)
        assert len(reaction.display) <= 8
        assert not reaction.persist
        assert reaction.display == device.display


def test_the_table_check_catches_a_move_the_table_does_not_list(entropy: Entropy) -> None:
    fewer = dict(TRANSITIONS)
    fewer[(SccState.INDEX, "OK")] = Rule(frozenset({SccState.SHOWN}))
    assert_move(fewer, SccState.INDEX, ("OK",), SccState.SHOWN)
    with pytest.raises(AssertionError, match="INDEX --OK--> ERROR"):
        assert_move(fewer, SccState.INDEX, ("OK",), SccState.ERROR)
