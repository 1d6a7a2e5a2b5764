"""Challenges and verification: single use, expiry, lockout, IB Key window, legacy DSC drift,
SMS outbox and resend limit, Online SCC expiry, unlock codes, audit without secrets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from firmware_model.dscplus import unlock_code
from firmware_model.legacy_dsc import passcode
from firmware_model.ocra import ocra
from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import ENV_STORE
from host_bridge.errors import BridgeError
from host_bridge.repos import devices as devices_repo
from host_bridge.services.sms import TooSoon
from host_bridge.verification import scc_indices
from tests.bridge_helpers import FAST, FakeClock, open_bridge, read_image, set_device, stored_device

PIN = "2468"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bridge(tmp_path: Path, clock: FakeClock, store_engine: str) -> Bridge:
    """An initialised bridge with user alice, on each engine in turn."""
    bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "pw")
    return bridge


@pytest.fixture
def sqlite_bridge(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    """The same on SQLite only, for a race staged inside one process (see its test)."""
    monkeypatch.delenv(ENV_STORE, raising=False)
    bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "pw")
    return bridge


def _dsc(bridge: Bridge, tmp_path: Path, name: str = "dsc.img") -> tuple[str, bytes, str]:
    result = bridge.provision("alice", "dscplus", pin=PIN, image_path=tmp_path / name)
    image = read_image(tmp_path / name)
    assert image.suite is not None
    return result.serial, image.key, image.suite


def _answer(key: bytes, suite: str, question: str) -> str:
    return ocra(suite, key, question=question, pin=PIN)


def test_a_wrong_answer_consumes_the_challenge(bridge: Bridge, tmp_path: Path) -> None:
    serial, key, suite = _dsc(bridge, tmp_path)
    challenge = bridge.issue_challenge(serial)
    assert not bridge.verify(serial, challenge.id, "00000000").accepted
    late = bridge.verify(serial, challenge.id, _answer(key, suite, challenge.text))
    assert (late.accepted, late.reason) == (False, "challenge already used")


def test_a_challenge_expires(bridge: Bridge, clock: FakeClock, tmp_path: Path) -> None:
    serial, key, suite = _dsc(bridge, tmp_path)
    challenge = bridge.issue_challenge(serial)
    assert challenge.expires_at == clock.now + 120
    clock.advance(120)
    verdict = bridge.verify(serial, challenge.id, _answer(key, suite, challenge.text))
    assert (verdict.accepted, verdict.reason) == (False, "challenge expired")
    assert bridge.device(serial).failures == 0  # lateness is not charged as a guess


def test_a_challenge_belongs_to_one_device(bridge: Bridge, tmp_path: Path) -> None:
    first, key, suite = _dsc(bridge, tmp_path, "a.img")
    second, _, _ = _dsc(bridge, tmp_path, "b.img")
    challenge = bridge.issue_challenge(first)
    verdict = bridge.verify(second, challenge.id, _answer(key, suite, challenge.text))
    assert verdict.reason == "challenge for another device"
    assert not bridge.verify(first, challenge.id, _answer(key, suite, challenge.text)).accepted


def test_unknown_challenge(bridge: Bridge, tmp_path: Path) -> None:
    serial, _, _ = _dsc(bridge, tmp_path)
    assert bridge.verify(serial, "nope", "12345678").reason == "unknown challenge"


def test_lockout_charges_only_the_device_used(tmp_path: Path, clock: FakeClock) -> None:
    config = BridgeConfig(scrypt_n=FAST.scrypt_n, lockout_after=3)
    bridge = open_bridge(tmp_path / "home", clock, config)
    bridge.add_user("alice", "pw")
    locked, key, suite = _dsc(bridge, tmp_path, "a.img")
    other, _, _ = _dsc(bridge, tmp_path, "b.img")
    for attempt in range(1, 4):
        challenge = bridge.issue_challenge(locked)
        verdict = bridge.verify(locked, challenge.id, "11111111")
        assert verdict.reason == "wrong response"
        assert bridge.device(locked).failures == attempt
    assert bridge.device(locked).status == "locked"
    assert bridge.device(other).status == "active" and bridge.device(other).failures == 0
    assert [d.serial for d in bridge.devices("alice")] == [other]
    with pytest.raises(BridgeError, match="locked"):
        bridge.issue_challenge(locked)
    bridge.unlock(locked)
    challenge = bridge.issue_challenge(locked)
    assert bridge.verify(locked, challenge.id, _answer(key, suite, challenge.text)).accepted
    assert bridge.device(locked).failures == 0


def test_a_right_answer_resets_the_failure_count(bridge: Bridge, tmp_path: Path) -> None:
    serial, key, suite = _dsc(bridge, tmp_path)
    challenge = bridge.issue_challenge(serial)
    bridge.verify(serial, challenge.id, "11111111")
    assert bridge.device(serial).failures == 1
    challenge = bridge.issue_challenge(serial)
    assert bridge.verify(serial, challenge.id, _answer(key, suite, challenge.text)).accepted
    assert bridge.device(serial).failures == 0


def test_ibkey_look_ahead_window_and_resync(tmp_path: Path, clock: FakeClock) -> None:
    config = BridgeConfig(scrypt_n=FAST.scrypt_n, counter_window=5)
    bridge = open_bridge(tmp_path / "home", clock, config)
    bridge.add_user("alice", "pw")
    result = bridge.provision("alice", "ibkey", pin="135790", image_path=tmp_path / "ik.img")
    assert result.status == "active"  # made with its PIN: the app is already activated
    image = read_image(tmp_path / "ik.img")
    assert image.suite is not None

    def answer(text: str, counter: int) -> str:
        return ocra(image.suite or "", image.key, counter=counter, question=text, pin="135790")

    challenge = bridge.issue_challenge(result.serial)
    assert bridge.verify(result.serial, challenge.id, answer(challenge.text, 4)).accepted
    stored = stored_device(bridge, result.serial).counter
    assert stored == 5  # resynchronised past the matched counter
    challenge = bridge.issue_challenge(result.serial)  # an old counter is never accepted again
    assert not bridge.verify(result.serial, challenge.id, answer(challenge.text, 3)).accepted
    challenge = bridge.issue_challenge(result.serial)  # beyond the window: refused
    assert not bridge.verify(result.serial, challenge.id, answer(challenge.text, 11)).accepted
    challenge = bridge.issue_challenge(result.serial)
    assert bridge.verify(result.serial, challenge.id, answer(challenge.text, 10)).accepted
    assert stored_device(bridge, result.serial).counter == 11


def test_ibkey_activation_with_sms_token(bridge: Bridge, tmp_path: Path) -> None:
    result = bridge.provision("alice", "ibkey", image_path=tmp_path / "ik.img")
    assert result.status == "pending"
    assert bridge.devices("alice") == []
    message = bridge.outbox.latest(result.serial)
    assert message is not None
    with pytest.raises(BridgeError, match="PIN"):
        bridge.activate(result.serial, token=message.code)
    assert not bridge.activate(result.serial, token="00000000", pin="4321")
    assert bridge.activate(result.serial, token=message.code, pin="4321")
    assert [d.serial for d in bridge.devices("alice")] == [result.serial]
    image = read_image(tmp_path / "ik.img")
    challenge = bridge.issue_challenge(result.serial)
    response = ocra(image.suite or "", image.key, counter=0, question=challenge.text, pin="4321")
    assert bridge.verify(result.serial, challenge.id, response).accepted
    audit_text = json.dumps([row.to_json() for row in bridge.audit()])
    assert message.code not in audit_text and "4321" not in audit_text


def test_activation_refuses_a_pin_the_app_would_refuse(bridge: Bridge, tmp_path: Path) -> None:
    result = bridge.provision("alice", "ibkey", image_path=tmp_path / "ik.img")
    message = bridge.outbox.latest(result.serial)
    assert message is not None
    for pin in ("x", "1234567", "12 4"):  # the app takes 4-6 letters, digits, specials
        with pytest.raises(BridgeError, match="IB Key PIN"):
            bridge.activate(result.serial, token=message.code, pin=pin)
    assert bridge.device(result.serial).status == "pending"
    assert bridge.activate(result.serial, token=message.code, pin="4321")  # token not used up


def test_an_activation_token_is_no_login_challenge(bridge: Bridge, tmp_path: Path) -> None:
    """Verifying against the activation token's id neither answers it nor uses it up."""
    result = bridge.provision("alice", "ibkey", image_path=tmp_path / "ik.img")
    message = bridge.outbox.latest(result.serial)
    assert message is not None
    verdict = bridge.verify(result.serial, message.challenge_id, message.code)
    assert (verdict.accepted, verdict.reason) == (False, "unknown challenge")
    assert bridge.activate(result.serial, token=message.code, pin="4321")  # still usable
    again = bridge.verify(result.serial, message.challenge_id, "00000000")  # active now
    assert (again.accepted, again.reason) == (False, "unknown challenge")


def test_scc_accepts_both_codes_in_either_case(bridge: Bridge, tmp_path: Path) -> None:
    result = bridge.provision("alice", "scc", image_path=tmp_path / "scc.img")
    key = read_image(tmp_path / "scc.img").key
    challenge = bridge.issue_challenge(result.serial)
    first, second = map(int, challenge.text.split())
    assert first != second and 1 <= first <= 224 and 1 <= second <= 224
    assert bridge.verify(result.serial, challenge.id, scc_response(key, first, second).lower())
    challenge = bridge.issue_challenge(result.serial)
    first, second = map(int, challenge.text.split())
    swapped = scc_response(key, second, first)
    assert not bridge.verify(result.serial, challenge.id, swapped).accepted


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=32))
def test_scc_indices_are_two_distinct_cells(seed: bytes) -> None:
    counter = 0

    def entropy(count: int) -> bytes:  # SHA-256 in counter mode: never repeats
        nonlocal counter
        out = b""
        while len(out) < count:
            out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:count]

    first, second = scc_indices(entropy)
    assert first != second and 1 <= first <= 224 and 1 <= second <= 224


def test_online_scc_expires(bridge: Bridge, clock: FakeClock, tmp_path: Path) -> None:
    result = bridge.provision("alice", "online_scc", image_path=tmp_path / "o.img",
                              valid_until=clock.now + 21 * 86_400)
    info = bridge.device(result.serial)
    assert info.temporary and info.model == "online_scc"
    key = read_image(tmp_path / "o.img").key
    challenge = bridge.issue_challenge(result.serial)
    first, second = map(int, challenge.text.split())
    assert bridge.verify(result.serial, challenge.id, scc_response(key, first, second)).accepted
    clock.advance(21 * 86_400)
    assert bridge.devices("alice") == []
    with pytest.raises(BridgeError, match="expired"):
        bridge.issue_challenge(result.serial)


def test_legacy_dsc_drift_and_replay(bridge: Bridge, clock: FakeClock, tmp_path: Path) -> None:
    result = bridge.provision("alice", "dsc", pin="1234", image_path=tmp_path / "dsc.img")
    key = read_image(tmp_path / "dsc.img").key
    challenge = bridge.issue_challenge(result.serial)
    assert challenge.text == ""
    # The card's clock runs 30 s ahead: inside the window, and the drift is learned.
    code = passcode(key, clock.now + 30)
    assert bridge.verify(result.serial, challenge.id, code).accepted
    assert stored_device(bridge, result.serial).drift == 1
    challenge = bridge.issue_challenge(result.serial)
    replay = bridge.verify(result.serial, challenge.id, code)
    assert (replay.accepted, replay.reason) == (False, "replayed code")
    # Later the card is 60 s ahead: the window is centred on now + learned drift, so it works.
    clock.advance(300)
    challenge = bridge.issue_challenge(result.serial)
    assert bridge.verify(result.serial, challenge.id, passcode(key, clock.now + 60)).accepted
    assert stored_device(bridge, result.serial).drift == 2
    clock.advance(300)
    challenge = bridge.issue_challenge(result.serial)
    assert not bridge.verify(result.serial, challenge.id, passcode(key, clock.now - 600)).accepted


def test_sms_outbox_resend_limit_and_voice(bridge: Bridge, clock: FakeClock) -> None:
    sms = bridge.provision("alice", "sms")
    challenge = bridge.issue_challenge(sms.serial)
    message = bridge.outbox.latest(sms.serial)
    assert message is not None and message.channel == "sms" and message.user == "alice"
    assert len(message.code) == 6 and message.code.isdigit()
    assert (bridge.home / "sms-outbox.jsonl").stat().st_mode & 0o777 == 0o600
    clock.advance(30)
    with pytest.raises(TooSoon) as caught:  # a second SMS code within 2 minutes
        bridge.issue_challenge(sms.serial)
    assert caught.value.exit_code == 1 and caught.value.wait_seconds == 90
    # The SMS did not arrive: the voice callback reads out the same pending code at once.
    again = bridge.issue_challenge(sms.serial, voice=True)
    read_out = bridge.outbox.latest(sms.serial)
    assert again.id == challenge.id
    assert read_out is not None and read_out.channel == "voice" and read_out.code == message.code
    assert bridge.verify(sms.serial, challenge.id, message.code).accepted
    # Once that code is used, a voice call needs a new code, and the resend limit applies.
    clock.advance(89)
    with pytest.raises(TooSoon) as caught:
        bridge.issue_challenge(sms.serial, voice=True)
    assert caught.value.wait_seconds == 1
    clock.advance(1)
    voice = bridge.issue_challenge(sms.serial, voice=True)
    spoken = bridge.outbox.latest(sms.serial)
    assert spoken is not None and spoken.channel == "voice" and voice.id != challenge.id
    assert bridge.verify(sms.serial, voice.id, spoken.code).accepted
    rows = bridge.audit(serial=sms.serial)
    assert any(r.event == "sms.send" and r.outcome == "refused" for r in rows)
    assert message.code not in json.dumps([r.to_json() for r in rows])


def test_unlock_code_for_a_device_mode_card(bridge: Bridge, tmp_path: Path) -> None:
    result = bridge.provision("alice", "dscplus", pin="1234", pin_mode="device",
                              image_path=tmp_path / "d.img")
    key = read_image(tmp_path / "d.img").key
    assert bridge.unlock_code(result.serial, "4711234") == unlock_code(key, "4711234")
    with pytest.raises(BridgeError):
        bridge.unlock_code(result.serial, "47a1234")


def test_device_mode_card_verifies_without_a_host_pin(bridge: Bridge, tmp_path: Path) -> None:
    result = bridge.provision("alice", "dscplus", pin="1234", pin_mode="device",
                              image_path=tmp_path / "d.img")
    assert stored_device(bridge, result.serial).pin_enc is None  # the card keeps its PIN
    image = read_image(tmp_path / "d.img")
    challenge = bridge.issue_challenge(result.serial)
    response = ocra(image.suite or "", image.key, question=challenge.text)
    assert bridge.verify(result.serial, challenge.id, response).accepted


def test_audit_records_every_decision_and_no_secret(bridge: Bridge, tmp_path: Path) -> None:
    serial, key, suite = _dsc(bridge, tmp_path)
    challenge = bridge.issue_challenge(serial)
    right = _answer(key, suite, challenge.text)
    bridge.verify(serial, challenge.id, "12345678")
    bridge.verify(serial, challenge.id, right)
    rows = bridge.audit(serial=serial)
    verdicts = [(r.outcome, r.detail["reason"]) for r in rows if r.event == "verify"]
    assert verdicts == [("refused", "wrong response"), ("refused", "challenge already used")]
    text = json.dumps([r.to_json() for r in bridge.audit()])
    for secret in (right, key.hex(), PIN, "12345678"):
        assert secret not in text


def test_provision_refuses_bad_input_and_changes_nothing(bridge: Bridge, tmp_path: Path) -> None:
    with pytest.raises(BridgeError, match="needs a PIN"):
        bridge.provision("alice", "dscplus", image_path=tmp_path / "x.img")
    with pytest.raises(BridgeError, match="unknown model"):
        bridge.provision("alice", "hotp", image_path=tmp_path / "x.img")
    with pytest.raises(BridgeError, match="no user"):
        bridge.provision("nobody", "scc", image_path=tmp_path / "x.img")
    with pytest.raises(BridgeError, match="cannot make"):
        bridge.provision("alice", "dscplus", pin="12", image_path=tmp_path / "x.img")
    assert not (tmp_path / "x.img").exists()
    assert bridge.all_devices("alice") == []
    (tmp_path / "taken.img").write_bytes(b"keep me")
    with pytest.raises(BridgeError, match="exists"):
        bridge.provision("alice", "scc", image_path=tmp_path / "taken.img")
    assert (tmp_path / "taken.img").read_bytes() == b"keep me"


def test_any_response_gets_a_verdict_or_a_documented_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("any-response")
    clock = FakeClock()
    bridge = open_bridge(folder / "home", clock,
                         BridgeConfig(scrypt_n=FAST.scrypt_n, lockout_after=1000))
    bridge.add_user("alice", "pw")
    serials = [
        bridge.provision("alice", "dscplus", pin=PIN, image_path=folder / "p.img").serial,
        bridge.provision("alice", "scc", image_path=folder / "s.img").serial,
        bridge.provision("alice", "dsc", pin="1234", image_path=folder / "d.img").serial,
        bridge.provision("alice", "ibkey", pin="1234", image_path=folder / "i.img").serial,
    ]

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(serials), st.text(max_size=200))
    def check(serial: str, response: str) -> None:
        challenge = bridge.issue_challenge(serial)
        try:
            verdict = bridge.verify(serial, challenge.id, response)
        except BridgeError:
            assert len(response) > 128
            return
        assert verdict.reason in {"accepted", "wrong response", "replayed code"}
        assert not bridge.verify(serial, challenge.id, response).accepted

    check()


@pytest.mark.parametrize("action", ["unlock", "activate"])
def test_a_device_revoked_meanwhile_stays_revoked(
    sqlite_bridge: Bridge, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    """Another process revoking the device between `unlock`'s (or `activate`'s) status check
    and its write must not bring the device back: the check and the write are atomic.

    SQLite only: the race is staged in one process, where the second bridge fails fast on the
    write lock. On PostgreSQL the check reads the row FOR UPDATE, so the same staging would wait
    on itself; there the concurrency tests with real processes hold the line."""
    bridge = sqlite_bridge
    serial = bridge.provision("alice", "dscplus", image_path=tmp_path / "card.img", pin=PIN).serial
    if action == "activate":  # e.g. an ordered card waiting for the client
        set_device(bridge, serial, clock.now, status="pending")
    other = Bridge.open(tmp_path / "home", clock,
                        config=BridgeConfig(scrypt_n=FAST.scrypt_n, busy_timeout_ms=0))
    read_row = devices_repo.get
    raced: list[bool] = []

    def get_device_then_race(tx, name: str, **kwargs):  # type: ignore[no-untyped-def]
        record = read_row(tx, name, **kwargs)
        if not raced:
            try:  # the other process's revoke, right after the check read the row
                other.revoke(name)
                raced.append(True)
            except OperationalError as exc:  # the write lock is held: it must wait
                assert "locked" in str(exc)
                raced.append(False)
        return record

    monkeypatch.setattr(devices_repo, "get", get_device_then_race)
    if action == "activate":
        assert bridge.activate(serial)
    else:
        bridge.unlock(serial)
    monkeypatch.undo()
    if raced == [True]:
        assert bridge.device(serial).status == "revoked"
    else:
        assert raced == [False]
        other.revoke(serial)  # once the first transaction is over, the revoke goes through
        assert bridge.device(serial).status == "revoked"
    other.close()


def test_the_outbox_stays_readable_past_its_read_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox file only grows; the newest code must still be found once it is larger than
    the part of it the bridge reads."""
    from host_bridge.repos import outbox as sms

    monkeypatch.setattr(sms, "MAX_OUTBOX_BYTES", 1000)
    outbox = sms.Outbox(tmp_path)
    for number in range(40):  # about 170 bytes a line: several times the limit
        outbox.send(sms.Message(float(number), "sms", f"SM{number % 3:010d}", "alice",
                                f"{number:032x}", f"{number:06d}"))
    assert outbox.path.stat().st_size > 5000
    latest = outbox.latest("SM0000000001")
    assert latest is not None and latest.code == "000037"
    assert [m.code for m in outbox.messages()][-1] == "000039"


def test_legacy_dsc_passcode_must_be_used_within_30_seconds(
    bridge: Bridge, clock: FakeClock, tmp_path: Path
) -> None:
    """The seed (DESIGN.md's device table, from the DSC page): "a 6-digit passcode shows about
    15 s and must be used within 30 s". Shown at the start of a step: 29 s later it is accepted,
    31 s later refused (it used to pass 59 s later, the window's previous step)."""
    result = bridge.provision("alice", "dsc", pin="1234", image_path=tmp_path / "dsc.img")
    key = read_image(tmp_path / "dsc.img").key
    clock.advance(-(clock.now % 30))  # the start of a step
    shown = passcode(key, clock.now)
    clock.advance(29)
    assert bridge.verify(result.serial, bridge.issue_challenge(result.serial).id, shown).accepted
    clock.advance(60)
    shown = passcode(key, clock.now - (clock.now % 30))
    clock.advance(31 - clock.now % 30)
    late = bridge.verify(result.serial, bridge.issue_challenge(result.serial).id, shown)
    assert (late.accepted, late.reason) == (False, "passcode expired")
    assert stored_device(bridge, result.serial).failures == 0  # lateness is not a guess


def test_legacy_dsc_30_seconds_count_on_the_learned_drift(
    bridge: Bridge, clock: FakeClock, tmp_path: Path
) -> None:
    """The card's clock runs one step ahead: the drift is learned, kept, and the 30 s are
    measured on the card's time as the host knows it."""
    result = bridge.provision("alice", "dsc", pin="1234", image_path=tmp_path / "dsc.img")
    key = read_image(tmp_path / "dsc.img").key
    clock.advance(-(clock.now % 30))
    card = 30  # the card's clock minus the host's
    assert bridge.verify(result.serial, bridge.issue_challenge(result.serial).id,
                         passcode(key, clock.now + card)).accepted
    assert stored_device(bridge, result.serial).drift == 1
    clock.advance(300)
    shown = passcode(key, clock.now + card)  # the start of the card's step
    clock.advance(29)
    assert bridge.verify(result.serial, bridge.issue_challenge(result.serial).id, shown).accepted
    assert stored_device(bridge, result.serial).drift == 1  # kept
    clock.advance(300 - 29)
    shown = passcode(key, clock.now + card)
    clock.advance(31)
    late = bridge.verify(result.serial, bridge.issue_challenge(result.serial).id, shown)
    assert (late.accepted, late.reason) == (False, "passcode expired")
    assert stored_device(bridge, result.serial).drift == 1
