"""PSKC import/export with RFC 6030 sample files: good files import whole, bad ones not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.ocra import ocra
from host_bridge.bridge import Bridge
from host_bridge.errors import BridgeError, PskcError
from host_bridge.pskc_io import Decryption, parse_pskc, read_pskc, write_pskc
from tests.bridge_helpers import FakeClock, dscplus_response, open_bridge, stored_device

VECTORS = Path(__file__).parent / "vectors" / "pskc"
PRESHARED = bytes.fromhex("12345678901234567890123456789012")  # RFC 6030 Figure 6
RFC_SECRET = bytes.fromhex("3132333435363738393031323334353637383930")  # "1234567890..."


@pytest.fixture
def bridge(tmp_path: Path) -> Bridge:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    return bridge


def test_figure7_password_encrypted_imports_and_verifies(bridge: Bridge) -> None:
    keys = read_pskc(VECTORS / "figure7-ocra-ibkey.pskcxml",
                     decryption=Decryption(password="qwerty"), pin="4321")
    assert [(k.serial, k.model, k.key, k.counter) for k in keys] == [
        ("987654321", "ibkey", RFC_SECRET, 0)]
    assert bridge.import_keys("alice", keys, source="figure7") == ["987654321"]
    # Imported with its PIN, the app is already activated (no activation token exists for it).
    assert bridge.device("987654321").status == "active"
    challenge = bridge.issue_challenge("987654321")
    response = ocra("OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1", RFC_SECRET, counter=0,
                    question=challenge.text, pin="4321")
    assert bridge.verify("987654321", challenge.id, response).accepted


def test_figure6_preshared_key_decrypts(bridge: Bridge) -> None:
    keys = read_pskc(VECTORS / "figure6-ocra-dscplus.pskcxml",
                     decryption=Decryption(key=PRESHARED), pin="2468")
    assert keys[0].key == RFC_SECRET and keys[0].model == "dscplus"
    bridge.import_keys("alice", keys, source="figure6")
    challenge = bridge.issue_challenge("987654321")
    response = ocra("OCRA-1:HOTP-SHA1-8:QN06-PSHA1", RFC_SECRET, question=challenge.text,
                    pin="2468")
    assert bridge.verify("987654321", challenge.id, response).accepted


@pytest.mark.parametrize(
    ("name", "decryption", "pin"),
    [
        ("figure6-ocra-dscplus.pskcxml", Decryption(key=PRESHARED), "12"),  # soft PIN: 4 digits
        ("figure6-ocra-dscplus.pskcxml", Decryption(key=PRESHARED), "abcd"),
    ],
)
def test_a_pin_the_device_would_refuse_imports_nothing(
    bridge: Bridge, name: str, decryption: Decryption, pin: str
) -> None:
    keys = read_pskc(VECTORS / name, decryption=decryption, pin=pin)
    with pytest.raises(BridgeError, match="PIN") as caught:
        bridge.import_keys("alice", keys, source=name)
    assert pin not in str(caught.value).split()
    assert bridge.all_devices("alice") == []


@pytest.mark.parametrize(
    ("name", "decryption", "message"),
    [
        ("rfc6030-figure2.pskcxml", None, "no serial"),
        ("rfc6030-figure10.pskcxml", None, "same serial appears twice"),
        ("figure6-ocra-dscplus.pskcxml", None, "encrypted"),
        ("figure6-ocra-dscplus.pskcxml", Decryption(key=bytes(16)), "cannot decrypt"),
        ("figure7-ocra-ibkey.pskcxml", Decryption(password="wrong"), "cannot decrypt"),
        ("figure10-ocra-duplicate.pskcxml", None, "same serial appears twice"),
        ("bad-missing-secret.pskcxml", None, "no secret"),
        ("bad-not-xml.pskcxml", None, "not a valid PSKC file"),
        ("bad-suite.pskcxml", Decryption(key=PRESHARED), "data input item"),
    ],
)
def test_bad_files_are_refused(name: str, decryption: Decryption | None, message: str) -> None:
    with pytest.raises(PskcError, match=message):
        read_pskc(VECTORS / name, decryption=decryption,
                  pin="2468" if name.startswith(("figure6", "bad-suite")) else None)


def test_an_ib_key_pin_the_app_would_refuse_is_refused_naming_the_key() -> None:
    with pytest.raises(PskcError, match=r"key 1 \(Id '123456', serial '987654321'\).*PIN"):
        read_pskc(VECTORS / "figure7-ocra-ibkey.pskcxml", decryption=Decryption(password="qwerty"),
                  pin="x")


def test_soft_pin_suite_needs_the_pin() -> None:
    with pytest.raises(PskcError, match="needs the PIN"):
        read_pskc(VECTORS / "figure6-ocra-dscplus.pskcxml", decryption=Decryption(key=PRESHARED))


def test_a_clash_with_the_store_imports_nothing(bridge: Bridge) -> None:
    keys = read_pskc(VECTORS / "figure10-ocra-unique.pskcxml")
    assert [k.serial for k in keys] == ["654321", "123456", "9999999"]
    bridge.import_keys("alice", keys[1:2], source="one")
    with pytest.raises(BridgeError, match="already exists"):
        bridge.import_keys("alice", keys, source="bulk")
    assert [d.serial for d in bridge.all_devices("alice")] == ["123456"]


def test_bulk_import_all_together(bridge: Bridge) -> None:
    keys = read_pskc(VECTORS / "figure10-ocra-unique.pskcxml")
    bridge.import_keys("alice", keys, source="bulk")
    devices = bridge.devices("alice")
    assert [d.model for d in devices] == ["dscplus"] * 3
    assert stored_device(bridge, "654321").pin_mode == "device"


def test_export_then_import_round_trip(tmp_path: Path) -> None:
    source = open_bridge(tmp_path / "a", FakeClock())
    source.add_user("alice", "pw")
    made = [
        source.provision("alice", "scc", image_path=tmp_path / "s.img"),
        source.provision("alice", "dsc", pin="1234", image_path=tmp_path / "d.img"),
        source.provision("alice", "dscplus", pin="1234", pin_mode="device",
                         image_path=tmp_path / "p.img"),
        source.provision("alice", "dscplus_classic", pin="2468", image_path=tmp_path / "c.img"),
    ]
    out = tmp_path / "export.pskcxml"
    write_pskc(out, [source.export_key(m.serial) for m in made], password="correct horse")
    assert out.stat().st_mode & 0o777 == 0o600
    for made_one in made:
        assert made_one.image is not None and made_one.image.key.hex() not in out.read_text()
    target = open_bridge(tmp_path / "b", FakeClock())
    target.add_user("bob", "pw")
    keys = read_pskc(out, decryption=Decryption(password="correct horse"))
    assert target.import_keys("bob", keys, source="export") == [m.serial for m in made]
    for made_one, key in zip(made, keys, strict=True):
        assert made_one.image is not None and key.key == made_one.image.key
        assert target.device(key.serial).model == source.device(made_one.serial).model
    # The older DSC+ generation comes back as itself, and its two-part code verifies there.
    classic = made[-1]
    assert classic.image is not None and target.device(classic.serial).model == "dscplus_classic"
    challenge = target.issue_challenge(classic.serial)
    response = dscplus_response(classic.image, "2468", challenge.text, 0.0)
    assert target.verify(classic.serial, challenge.id, response).accepted
    assert any(r.event == "pskc.export" for r in source.audit())


@settings(max_examples=80, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.sampled_from(sorted(p.name for p in VECTORS.glob("*.pskcxml"))).flatmap(
        lambda name: st.integers(0, (VECTORS / name).stat().st_size).map(
            lambda cut: (VECTORS / name).read_bytes()[:cut]
        )
    ),
))
def test_any_bytes_parse_or_give_a_pskc_error(data: bytes) -> None:
    try:
        keys = parse_pskc(data, decryption=Decryption(password="qwerty"), pin="1234")
    except PskcError:
        return
    assert keys and all(k.key and k.serial for k in keys)
