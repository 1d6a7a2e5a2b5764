"""PSKC files other servers accept: every export validates against the RFC 6030 schema, every
model survives export → import → a code from the imported device verifies, LinOTP/NagraID-style
OCRA files import, and what cannot be a working device is refused whole."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from firmware_model.device import ImageSpec
from firmware_model.hotp import OtpSpec, hotp, totp
from firmware_model.legacy_dsc import passcode
from firmware_model.models import new_image
from firmware_model.ocra import ocra
from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.errors import PskcError
from host_bridge.pskc_io import parse_pskc, read_pskc
from host_bridge.pskc_profiles import MANUFACTURER, Algorithm
from host_bridge.pskc_write import Encryption, pskc_bytes
from host_bridge.services.provisioning import ImportedKey
from host_bridge.verification import parse_scc_challenge
from tests.bridge_helpers import FakeClock, dscplus_response, open_bridge, stored_device

VECTORS = Path(__file__).parent / "vectors" / "pskc"
NS = {"p": "urn:ietf:params:xml:ns:keyprov:pskc"}
SCHEMA = etree.XMLSchema(etree.parse(str(VECTORS / "schema" / "pskc-schema.xsd")))
PRESHARED = bytes.fromhex("12345678901234567890123456789012")
RFC_SECRET = b"12345678901234567890"
ENCRYPTIONS = {
    "plain": None,
    "pbkdf2": Encryption(password="correct horse"),
    "preshared": Encryption(key=PRESHARED),
}
# (model, provision keyword arguments, the PIN the card or app is used with)
MODELS: list[tuple[str, dict[str, str], str | None]] = [
    ("dscplus", {"pin": "2468"}, "2468"),  # soft PIN: the host keeps it
    ("dscplus", {"pin": "1357", "pin_mode": "device"}, "1357"),  # device PIN: the card has it
    ("gold", {"pin": "1111"}, "1111"),
    ("platinum", {"pin": "2222"}, "2222"),
    ("ibkey", {"pin": "4321"}, "4321"),
    ("dsc", {"pin": "1234"}, "1234"),
    ("scc", {}, None),
]


def _valid(document: bytes) -> None:
    root = etree.fromstring(document)
    assert SCHEMA.validate(root.getroottree()), SCHEMA.error_log.last_error


def _source(tmp_path: Path) -> tuple[Bridge, list[tuple[str, str, str | None]]]:
    bridge = open_bridge(tmp_path / "a", FakeClock())
    bridge.add_user("alice", "pw")
    made = []
    for number, (model, kwargs, pin) in enumerate(MODELS):
        result = bridge.provision("alice", model, image_path=tmp_path / f"{number}.img",
                                  **kwargs)  # type: ignore[arg-type]
        made.append((result.serial, model, pin))
    return bridge, made


@pytest.mark.parametrize("kind", sorted(ENCRYPTIONS))
def test_every_export_kind_validates_against_the_rfc6030_schema(
    tmp_path: Path, kind: str
) -> None:
    bridge, made = _source(tmp_path)
    keys = [bridge.export_key(serial) for serial, _, _ in made]
    document = pskc_bytes(keys, encryption=ENCRYPTIONS[kind])
    _valid(document)
    root = etree.fromstring(document)
    for key in root.iterfind(".//p:Key", NS):
        assert key.find("p:AlgorithmParameters/p:ResponseFormat", NS).get("Encoding")
    assert {m.text for m in root.iterfind(".//p:Manufacturer", NS)} == {MANUFACTURER}
    ocra_keys = root.findall(f".//p:Key[@Algorithm='{Algorithm.OCRA}']", NS)
    assert len(ocra_keys) == 5
    for key in ocra_keys:
        suite = key.findtext("p:AlgorithmParameters/p:Suite", namespaces=NS)
        assert suite is not None and suite.startswith("OCRA-1:")
        assert key.find("p:AlgorithmParameters/p:ChallengeFormat", NS).get("Encoding") == "DECIMAL"
    assert b"PSHA1" in document or kind != "plain"


def test_the_platinum_suite_keeps_sha256_and_a_32_byte_key(tmp_path: Path) -> None:
    bridge, made = _source(tmp_path)
    serial = next(s for s, model, _ in made if model == "platinum")
    key = bridge.export_key(serial)
    assert len(key.key) == 32 and key.suite == "OCRA-1:HOTP-SHA256-8:QN08"
    root = etree.fromstring(pskc_bytes([key]))
    assert root.findtext(".//p:Suite", namespaces=NS) == "OCRA-1:HOTP-SHA256-8:QN08"


def test_soft_pins_travel_as_pin_keys_named_by_pin_key_id(tmp_path: Path) -> None:
    bridge, made = _source(tmp_path)
    soft = made[0][0]
    root = etree.fromstring(pskc_bytes([bridge.export_key(soft)]))
    policy = root.find(".//p:PINPolicy", NS)
    assert policy.get("PINUsageMode") == "Algorithmic"
    pin_key = root.find(f".//p:Key[@Id='{policy.get('PINKeyId')}']", NS)
    assert pin_key is not None and pin_key.get("Algorithm") == Algorithm.PIN
    secret = pin_key.findtext("p:Data/p:Secret/p:PlainValue", namespaces=NS)
    assert secret is not None and base64.b64decode(secret) == b"2468"
    device_pin = made[1][0]
    root = etree.fromstring(pskc_bytes([bridge.export_key(device_pin)]))
    policy = root.find(".//p:PINPolicy", NS)
    assert policy.get("PINUsageMode") == "Local" and policy.get("PINKeyId") is None
    assert len(root.findall(".//p:Key", NS)) == 1  # the host never knew the device PIN


def _code(target: Bridge, key: ImportedKey, pin: str | None, now: float) -> tuple[str, str]:
    """Issue a challenge for `key` in `target` and answer it with a device made from the key
    the target imported (the card keeps a device PIN in its image)."""
    challenge = target.issue_challenge(key.serial)
    if key.model in ("dscplus", "gold", "platinum"):
        assert pin is not None and key.suite is not None
        soft = stored_device(target, key.serial).pin_mode == "soft"
        image = new_image(ImageSpec(key.model, key.serial, key.key, None if soft else pin,
                                    "soft" if soft else "device", key.suite), bytes)
        return challenge.id, dscplus_response(image, pin, challenge.text, now)
    if key.model == "ibkey":
        assert key.suite is not None
        return challenge.id, ocra(key.suite, key.key, counter=key.counter,
                                  question=challenge.text, pin=pin)
    if key.model == "dsc":
        return challenge.id, passcode(key.key, now)
    return challenge.id, scc_response(key.key, *parse_scc_challenge(challenge.text))


@pytest.mark.parametrize("kind", sorted(ENCRYPTIONS))
def test_round_trip_every_model_and_a_dscplus_batch_with_soft_pins(
    tmp_path: Path, kind: str
) -> None:
    source, made = _source(tmp_path)
    out = tmp_path / "moved.pskcxml"
    out.write_bytes(pskc_bytes([source.export_key(s) for s, _, _ in made],
                               encryption=ENCRYPTIONS[kind]))
    clock = FakeClock()
    target = open_bridge(tmp_path / "b", clock)
    target.add_user("bob", "pw")
    keys = read_pskc(out, decryption=ENCRYPTIONS[kind])  # one file, no --pin
    assert target.import_keys("bob", keys, source=out.name) == [s for s, _, _ in made]
    for key, (serial, model, pin) in zip(keys, made, strict=True):
        assert (key.serial, key.model) == (serial, model)
        assert target.device(serial).status == "active"
        challenge_id, response = _code(target, key, pin, clock.now)
        assert target.verify(serial, challenge_id, response).accepted, model


def test_a_batch_of_soft_pin_cards_moves_between_two_stores(tmp_path: Path) -> None:
    source = open_bridge(tmp_path / "a", FakeClock())
    source.add_user("alice", "pw")
    pins = ["0001", "2468", "9753", "4444"]
    serials = [source.provision("alice", "dscplus", pin=pin).serial for pin in pins]
    out = tmp_path / "batch.pskcxml"
    out.write_bytes(pskc_bytes([source.export_key(s) for s in serials],
                               encryption=Encryption(password="pw2")))
    _valid(out.read_bytes())
    target = open_bridge(tmp_path / "b", FakeClock())
    target.add_user("bob", "pw")
    keys = read_pskc(out, decryption=Encryption(password="pw2"))
    assert [k.pin for k in keys] == pins
    target.import_keys("bob", keys, source="batch")
    assert [target.export_key(s).pin for s in serials] == pins


def test_linotp_style_ocra_file_imports_and_verifies(tmp_path: Path) -> None:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    keys = read_pskc(VECTORS / "linotp-style-ocra.pskcxml")
    assert [(k.serial, k.model, k.suite, k.counter, k.pin) for k in keys] == [
        ("OC0000000001", "dscplus", "OCRA-1:HOTP-SHA1-8:QN06-PSHA1", 0, "2468"),
        ("OC0000000002", "dscplus", "OCRA-1:HOTP-SHA256-8:QN08", 0, None),
        ("OC0000000003", "ibkey", "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1", 5, "4321"),
    ]
    bridge.import_keys("alice", keys, source="linotp")
    soft = bridge.issue_challenge("OC0000000001")
    answer = ocra("OCRA-1:HOTP-SHA1-8:QN06-PSHA1", RFC_SECRET, question=soft.text, pin="2468")
    assert bridge.verify("OC0000000001", soft.id, answer).accepted
    app = bridge.issue_challenge("OC0000000003")
    answer = ocra("OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1", RFC_SECRET, counter=5, question=app.text,
                  pin="4321")
    assert bridge.verify("OC0000000003", app.id, answer).accepted
    # --model applies to every key: the soft-PIN card cannot be a Platinum (device PIN only)
    with pytest.raises(PskcError, match=r"key 1 .*cannot be a working platinum"):
        read_pskc(VECTORS / "linotp-style-ocra.pskcxml", model="platinum")
    gold = read_pskc(VECTORS / "figure10-ocra-unique.pskcxml", model="gold")
    assert {k.model for k in gold} == {"gold"}


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("bad-linotp-nagra-suite.pskcxml", {},
         r"key 4 \(Id 'OC0000000003', serial 'OC0000000003'\): cannot be a working ibkey"),
        ("linotp-style-ocra.pskcxml", {"pin": "1234"}, "one key"),
        ("linotp-style-ocra.pskcxml", {"model": "dsc"}, "an OCRA key cannot be a dsc"),
        ("rfc6030-figure10.pskcxml", {"model": "scc"}, "an OATH OTP key cannot be a scc"),
        ("figure10-ocra-unique.pskcxml", {"model": "ibkey"}, "cannot be a working ibkey"),
    ],
)
def test_what_cannot_be_a_working_device_is_refused_whole(
    name: str, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(PskcError, match=message) as caught:
        read_pskc(VECTORS / name, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_a_pin_for_a_card_that_checks_its_own_is_refused_not_ignored() -> None:
    data = (VECTORS / "figure10-ocra-unique.pskcxml").read_bytes()
    one = data[: data.index(b"<KeyPackage>", data.index(b"</KeyPackage>"))] + b"</KeyContainer>"
    with pytest.raises(PskcError, match="keeps no PIN for a dscplus"):
        parse_pskc(one, pin="1234")


def test_rfc6030_figures_validate_and_import_as_the_rules_say(tmp_path: Path) -> None:
    for path in sorted(VECTORS.glob("rfc6030-figure*.pskcxml")):
        _valid(path.read_bytes())
    # Figure 6: an 8-digit HOTP key under a pre-shared key becomes a dsc that keeps its HOTP
    (hotp_key,) = read_pskc(VECTORS / "rfc6030-figure6.pskcxml",
                            decryption=Encryption(key=PRESHARED))
    assert (hotp_key.model, hotp_key.otp, hotp_key.key) == ("dsc", "HOTP-SHA1-8", RFC_SECRET)
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    bridge.import_keys("alice", [hotp_key], source="figure6")
    assert bridge.device("987654321").to_json()["otp"] == "HOTP-SHA1-8"  # `devices --json`
    for counter in (0, 3):  # a token pressed twice without logging in: the look-ahead resyncs
        challenge = bridge.issue_challenge("987654321")
        code = hotp(RFC_SECRET, counter, digits=8)
        assert bridge.verify("987654321", challenge.id, code).accepted
    replay = bridge.issue_challenge("987654321")
    assert not bridge.verify("987654321", replay.id, hotp(RFC_SECRET, 3, digits=8)).accepted
    keys = read_pskc(VECTORS / "figure7-ocra-ibkey.pskcxml", decryption=Encryption(
        password="qwerty"), pin="4321")
    assert [(k.model, k.pin) for k in keys] == [("ibkey", "4321")]


_SUITES = st.sampled_from([
    "OCRA-1:HOTP-SHA1-8:QN06-PSHA1", "OCRA-1:HOTP-SHA1-8:QN06", "OCRA-1:HOTP-SHA256-8:QN08",
    "OCRA-1:HOTP-SHA512-6:QN04", "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1",
])


@st.composite
def _exported(draw: st.DrawFn) -> ImportedKey:
    model = draw(st.sampled_from(["dscplus", "gold", "platinum", "ibkey", "dsc", "scc"]))
    serial = draw(st.from_regex(r"[A-Z]{2}[0-9]{1,10}", fullmatch=True))
    secret = draw(st.binary(min_size=1, max_size=64))
    if model == "scc":
        return ImportedKey(serial, model, secret)
    if model == "dsc":  # the card's own TOTP, or an imported OATH token's HOTP/TOTP
        otp = draw(st.sampled_from([None, "HOTP-SHA1-6", "HOTP-SHA256-8", "TOTP-SHA512-7",
                                    "TOTP-SHA1-10", "TOTP-SHA1-6"]))
        if otp is None:
            return ImportedKey(serial, model, secret)
        if otp.startswith("HOTP"):
            return ImportedKey(serial, model, secret, counter=draw(st.integers(0, 2**63 - 1)),
                               otp=otp)
        step = draw(st.integers(1, 86_400).filter(lambda s: otp != "TOTP-SHA1-6" or s != 30))
        return ImportedKey(serial, model, secret, otp=otp, time_step=step)
    suite = draw(_SUITES)
    pin = draw(st.from_regex(r"[0-9]{4}", fullmatch=True)) if "PSHA1" in suite else None
    counter = draw(st.integers(0, 2**63 - 1)) if ":C-" in suite else 0
    return ImportedKey(serial, model, secret, suite, counter, pin)


@settings(max_examples=60, deadline=None)
@given(st.lists(_exported(), min_size=1, max_size=4, unique_by=lambda k: k.serial),
       st.sampled_from(sorted(ENCRYPTIONS)))
def test_any_exporter_input_gives_a_valid_file_that_reads_back_or_one_refusal(
    keys: list[ImportedKey], kind: str
) -> None:
    document = pskc_bytes(keys, encryption=ENCRYPTIONS[kind])
    _valid(document)
    try:
        back = parse_pskc(document, decryption=ENCRYPTIONS[kind])
    except PskcError as exc:  # a key no device of its model could use (say, a gold with P)
        assert "\n" not in str(exc) and "cannot be a working" in str(exc)
        return
    assert [(k.serial, k.model, k.key, k.suite, k.pin, k.otp, k.time_step) for k in back] == [
        (k.serial, k.model, k.key, k.suite, k.pin, k.otp, k.time_step) for k in keys]
    assert [k.counter for k in back] == [
        k.counter if (k.suite and ":C-" in k.suite) or (k.otp or "").startswith("HOTP") else 0
        for k in keys]


@pytest.mark.parametrize(
    ("change", "otp", "step"),
    [
        ((b"", b""), None, None),  # the legacy DSC's own: the emulated card shows it
        ((b'Length="6"', b'Length="8"'), "TOTP-SHA1-8", 30),
        ((b"<pskc:PlainValue>30<", b"<pskc:PlainValue>60<"), "TOTP-SHA1-6", 60),
        ((b"<pskc:ResponseFormat", b"<pskc:Suite>HMAC-SHA256</pskc:Suite><pskc:ResponseFormat"),
         "TOTP-SHA256-6", 30),
    ],
)
def test_totp_keys_of_any_rfc_parameters_keep_them(
    change: tuple[bytes, bytes], otp: str | None, step: int | None, tmp_path: Path
) -> None:
    document = pskc_bytes([ImportedKey("DS1", "dsc", RFC_SECRET)]).replace(*change)
    _valid(document)
    (key,) = parse_pskc(document)
    assert (key.model, key.otp, key.time_step) == ("dsc", otp, step)
    clock = FakeClock()
    bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "pw")
    bridge.import_keys("alice", [key], source="totp")
    spec = OtpSpec.parse(otp or "TOTP-SHA1-6")
    code = totp(RFC_SECRET, clock.now, step=step or 30, digits=spec.digits,
                algorithm=spec.algorithm)
    challenge = bridge.issue_challenge("DS1")
    assert bridge.verify("DS1", challenge.id, code).accepted
    if otp is None:
        assert code == passcode(RFC_SECRET, clock.now)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b'Length="6"', b'Length="11"'), "digits must be 6 to 10"),
        ((b'Length="6"', b'Length="5"'), "digits must be 6 to 10"),
        ((b"<pskc:ResponseFormat", b"<pskc:Suite>MD5</pskc:Suite><pskc:ResponseFormat"),
         "names no hash"),
        ((b'Encoding="DECIMAL" Length="6"', b'Encoding="HEXADECIMAL" Length="6"'),
         "an OATH code is DECIMAL"),
        ((b"<pskc:PlainValue>30<", b"<pskc:PlainValue>0<"), "TimeInterval must be 1 to"),
    ],
)
def test_an_otp_key_no_token_could_show_is_refused_naming_the_key(
    change: tuple[bytes, bytes], message: str
) -> None:
    document = pskc_bytes([ImportedKey("DS1", "dsc", RFC_SECRET)])
    with pytest.raises(PskcError, match=rf"key 1 \(Id 'DS1', serial 'DS1'\): .*{message}"):
        parse_pskc(document.replace(*change))
