"""IB Key: activation, challenge/response with a durable counter, push, add user, recovery."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_model.device import ImageSpec
from firmware_model.errors import ImageError, UnknownButton
from firmware_model.events import (
    Activated,
    PinLocked,
    PinRejected,
    PushApproved,
    PushDenied,
    PushExpired,
    PushReplaced,
    Recovered,
    ResponseComputed,
    UserAdded,
)
from firmware_model.ibkey import (
    BIOMETRIC,
    IBKEY_SUITE,
    IbKey,
    Phase,
    Screen,
    check_pin_rules,
    ibkey_response,
    pin_sha1,
    token_hash,
)
from firmware_model.image import DeviceImage, decode_image, encode_image
from firmware_model.models import load_device, new_image
from firmware_model.ocra import ocra

Entropy = Callable[[int], bytes]
KEY = bytes.fromhex("3132333435363738393031323334353637383930")
BOB_KEY = bytes(range(1, 33))
TOKEN = "48213307"
PIN = "1234"
T = 1_700_000_000.0


def expected(key: bytes, counter: int, challenge: str, pin: str = PIN) -> str:
    return ocra(
        "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1", key, counter=counter, question=challenge, pin=pin
    )


def awaiting(entropy: Entropy, **options: object) -> IbKey:
    spec = ImageSpec(
        model="ibkey",
        serial="IK0000000001",
        key=KEY,
        options={"username": "alice", "activation_token": TOKEN, **options},
    )
    device = load_device(new_image(spec, entropy), entropy)
    assert isinstance(device, IbKey)
    return device


def active(entropy: Entropy, **options: object) -> IbKey:
    """An activated app, closed again (activation leaves it open on its confirmation)."""
    app = awaiting(entropy, **options)
    assert app.activate("alice", TOKEN, PIN, T).display == "IB Key activated"
    assert app.press("POWER", T).display == ""
    return app


def reload(app: IbKey, entropy: Entropy) -> IbKey:
    return IbKey.from_image(decode_image(encode_image(app.to_image())), entropy)


# --- activation ----------------------------------------------------------------------------------


def test_awaiting_activation_does_nothing_else(entropy: Entropy) -> None:
    app = awaiting(entropy)
    assert app.phase is Phase.AWAITING_ACTIVATION
    assert app.press("POWER", T).display == "Activate IB Key first"
    assert app.press("1", T).display == "Activate IB Key first"
    with pytest.raises(ValueError, match="cannot respond"):
        app.respond("alice", PIN, "123456", T)
    with pytest.raises(ValueError, match="cannot push"):
        app.receive_push("p1", "alice", "123456", T)


def test_activation(entropy: Entropy) -> None:
    app = awaiting(entropy)
    reaction = app.activate("alice", TOKEN, PIN, T)
    assert reaction.display == "IB Key activated"
    assert reaction.persist and reaction.events == (Activated("alice"),)
    assert app.phase is Phase.ACTIVE
    assert app.usernames == ("alice",) and app.counter("alice") == 0
    enrolment = app.enrolment("alice")
    assert enrolment.pin_hash == pin_sha1(PIN) and enrolment.counter == 0
    assert enrolment.serial == "IK0000000001"
    assert PIN not in repr(enrolment) and pin_sha1(PIN).hex() not in repr(enrolment)
    assert reload(app, entropy).phase is Phase.ACTIVE


def test_wrong_activation_token_counts_then_voids(entropy: Entropy) -> None:
    app = awaiting(entropy, token_retries=2)
    reaction = app.activate("alice", "11111111", PIN, T)
    assert reaction.display == "Wrong token, 1 left" and reaction.persist
    app = reload(app, entropy)
    assert app.activate("alice", "22222222", PIN, T).display == "Token void: ask for a new one"
    app = reload(app, entropy)
    assert app.pending_usernames == ()
    with pytest.raises(ValueError, match="waiting for activation"):
        app.activate("alice", TOKEN, PIN, T)
    assert app.press("POWER", T).display == "Activation void: provision again"


@pytest.mark.parametrize("pin", ["123", "1234567", "12 4", "12é4", ""])
def test_bad_pins_are_refused_and_change_nothing(entropy: Entropy, pin: str) -> None:
    app = awaiting(entropy)
    before = app.to_image()
    with pytest.raises(ValueError, match="PIN"):
        app.activate("alice", TOKEN, pin, T)
    assert app.to_image() == before


@pytest.mark.parametrize("pin", ["1234", "ab#9", "Zz!?09", "abcd"])
def test_pins_of_letters_digits_and_specials(pin: str) -> None:
    assert check_pin_rules(pin) == pin


def test_activation_for_unknown_user_is_misuse(entropy: Entropy) -> None:
    with pytest.raises(ValueError, match="bob"):
        awaiting(entropy).activate("bob", TOKEN, PIN, T)


def test_letter_pin_through_the_api(entropy: Entropy) -> None:
    app = awaiting(entropy)
    app.activate("alice", TOKEN, "Ab#1x", T)
    reaction = app.respond("alice", "Ab#1x", "123456", T)
    assert reaction.events == (ResponseComputed("alice", expected(KEY, 0, "123456", "Ab#1x")),)


def test_image_made_active_with_a_pin(entropy: Entropy) -> None:
    spec = ImageSpec(model="ibkey", serial="IK2", key=KEY, pin="9876", options={"counter": 7})
    app = IbKey.from_image(IbKey.new_image(spec, entropy), entropy)
    assert app.phase is Phase.ACTIVE and app.usernames == ("user",)
    assert app.counter("user") == 7
    assert app.respond("user", "9876", "000001", T).display == (
        f"Response: {expected(KEY, 7, '000001', '9876')}"
    )


# --- challenge / response -------------------------------------------------------------------------


def test_manual_challenge_response_with_buttons(entropy: Entropy) -> None:
    app = active(entropy)
    assert app.press("POWER", T).display == "alice challenge: _"
    app.type_digits("12345", T)
    assert app.press("OK", T).display == "alice challenge: 12345"  # needs 6 digits
    assert app.press("6", T).display == "alice challenge: 123456"
    assert app.press("7", T).display == "alice challenge: 123456"
    assert app.press("OK", T).display == "alice PIN: "
    app.type_digits("12", T)
    assert app.press("BACK", T).display == "alice PIN: *"
    app.type_digits("234", T)
    assert app.display == "alice PIN: ****"
    reaction = app.press("OK", T)
    assert reaction.display == f"Response: {expected(KEY, 0, '123456')}"
    assert reaction.persist
    assert app.counter("alice") == 1
    assert app.press("OK", T).display == "alice challenge: _"
    assert app.press("POWER", T).display == ""
    assert not app.powered


def test_counter_increases_and_is_persisted(entropy: Entropy) -> None:
    app = active(entropy)
    for counter, challenge in enumerate(["000000", "999999", "123456", "654321"]):
        reaction = app.respond("alice", PIN, challenge, T + counter)
        response = expected(KEY, counter, challenge)
        assert reaction.display == f"Response: {response}"
        assert reaction.events == (ResponseComputed("alice", response),)
        assert reaction.persist
        assert ibkey_response(KEY, counter, challenge, PIN) == response
        app = reload(app, entropy)
        assert app.counter("alice") == counter + 1


def test_biometric_response(entropy: Entropy) -> None:
    app = active(entropy)
    app.press("POWER", T)
    app.type_digits("555555", T)
    app.press("OK", T)
    assert app.press("BIOMETRIC", T).display == f"Response: {expected(KEY, 0, '555555')}"


def test_biometric_can_be_disabled(entropy: Entropy) -> None:
    app = active(entropy, biometric=False)
    with pytest.raises(ValueError, match="biometric"):
        app.respond("alice", BIOMETRIC, "123456", T)
    app.press("POWER", T)
    app.type_digits("555555", T)
    app.press("OK", T)
    assert app.press("BIOMETRIC", T).display == "alice PIN: "  # ignored


def test_bad_challenges_are_misuse(entropy: Entropy) -> None:
    app = active(entropy)
    for challenge in ["12345", "1234567", "12345a"]:
        with pytest.raises(ValueError, match="6 digits"):
            app.respond("alice", PIN, challenge, T)
    assert app.counter("alice") == 0 and app.pin_failures == 0


def test_wrong_pin_counts_and_locks(entropy: Entropy) -> None:
    app = active(entropy, pin_retries=3)
    app.press("POWER", T)
    app.type_digits("111111", T)
    app.press("OK", T)
    app.type_digits("9999", T)
    reaction = app.press("OK", T)
    assert reaction.display == "Wrong PIN, 2 tries left"
    assert reaction.persist and reaction.events == (PinRejected(1),)
    assert app.press("OK", T).display == "alice PIN: "  # back to the PIN screen
    app = reload(app, entropy)
    assert app.pin_failures == 1
    assert app.respond("alice", "0000", "111111", T).display == "Wrong PIN, 1 tries left"
    reaction = app.respond("alice", "0000", "111111", T)
    assert reaction.display == "PIN locked: recover IB Key"
    assert reaction.events == (PinLocked(),)
    assert app.pin_locked
    # locked: the right PIN and biometrics no longer help, and nothing more is counted
    assert app.respond("alice", PIN, "111111", T).display == "PIN locked: recover IB Key"
    assert app.respond("alice", BIOMETRIC, "111111", T).display == "PIN locked: recover IB Key"
    assert app.pin_failures == 3 and app.counter("alice") == 0
    app = reload(app, entropy)
    assert app.press("POWER", T).display == "PIN locked: recover IB Key"


def test_right_pin_resets_failures(entropy: Entropy) -> None:
    app = active(entropy)
    app.respond("alice", "0000", "111111", T)
    assert app.pin_failures == 1
    app.respond("alice", PIN, "111111", T)
    assert app.pin_failures == 0


# --- push ----------------------------------------------------------------------------------------


def test_push_approved_with_pin_buttons(entropy: Entropy) -> None:
    app = active(entropy)
    reaction = app.receive_push("push-1", "alice", "424242", T)
    assert reaction.display == "Login request for alice" and app.powered
    assert app.press("APPROVE", T).display == "PIN to approve: "
    app.type_digits(PIN, T)
    reaction = app.press("OK", T)
    assert reaction.display == "Approved"
    assert reaction.events == (PushApproved("push-1", expected(KEY, 0, "424242")),)
    assert reaction.persist and app.counter("alice") == 1
    assert app.pending_push is None


def test_next_on_a_push_opens_the_challenge_screen_and_keeps_the_push(entropy: Entropy) -> None:
    app = active(entropy)
    app.receive_push("push-1", "alice", "424242", T)
    assert app.press("NEXT", T).display == "alice challenge: _"
    assert app.screen is Screen.CHALLENGE and app.pending_push == "push-1"
    reaction = app.approve(PIN, T)  # the push can still be answered
    assert reaction.events == (PushApproved("push-1", expected(KEY, 0, "424242")),)


def test_back_after_a_wrong_pin_returns_where_the_pin_was_asked(entropy: Entropy) -> None:
    app = active(entropy)
    app.press("POWER", T)
    app.type_digits("123456", T)
    app.press("OK", T)
    app.type_digits("9999", T)
    assert app.press("OK", T).display.startswith("Wrong PIN")
    assert app.press("BACK", T).display == "alice PIN: "
    app.receive_push("push-2", "alice", "424242", T)
    app.press("APPROVE", T)
    app.type_digits("9999", T)
    assert app.press("OK", T).display.startswith("Wrong PIN")
    assert app.press("OK", T).display == "PIN to approve: "


def test_push_approved_by_api_with_biometric(entropy: Entropy) -> None:
    app = active(entropy)
    app.respond("alice", PIN, "000000", T)  # counter 0 used
    app.receive_push("p2", "alice", "131313", T)
    reaction = app.approve(BIOMETRIC, T + 1)
    assert reaction.events == (PushApproved("p2", expected(KEY, 1, "131313")),)


def test_push_denied(entropy: Entropy) -> None:
    app = active(entropy)
    app.receive_push("p3", "alice", "131313", T)
    reaction = app.press("DENY", T)
    assert reaction.display == "Denied" and reaction.events == (PushDenied("p3"),)
    assert not reaction.persist and app.counter("alice") == 0
    with pytest.raises(ValueError, match="no push"):
        app.deny(T)


def test_push_with_wrong_pin_stays_pending(entropy: Entropy) -> None:
    app = active(entropy)
    app.receive_push("p4", "alice", "131313", T)
    assert app.approve("0000", T).display == "Wrong PIN, 4 tries left"
    assert app.pending_push == "p4"
    assert app.press("OK", T).display == "PIN to approve: "
    assert app.press("BIOMETRIC", T).display == "Approved"


def test_push_expires(entropy: Entropy) -> None:
    app = active(entropy, push_seconds=60)
    app.receive_push("p5", "alice", "131313", T)
    assert app.advance(T + 59).display == "Login request for alice"
    reaction = app.approve(PIN, T + 60)
    assert reaction.events == (PushExpired("p5"),)
    assert reaction.display == "Login request expired"
    assert app.counter("alice") == 0
    with pytest.raises(ValueError, match="no push"):
        app.approve(PIN, T + 61)


def test_push_survives_closing_the_app(entropy: Entropy) -> None:
    app = active(entropy)
    app.receive_push("p6", "alice", "131313", T)
    app.press("POWER", T)
    assert app.press("POWER", T).display == "Login request for alice"


def test_next_leaves_a_push_for_the_manual_challenge(entropy: Entropy) -> None:
    # "Click here if you do not receive the notification": the app's Authenticate screen while
    # the push is still pending; the push can still be approved after the app is reopened.
    app = active(entropy)
    app.receive_push("p7", "alice", "131313", T)
    assert app.press("NEXT", T).display == "alice challenge: _"
    app.type_digits("424242", T)
    app.press("OK", T)
    app.type_digits(PIN, T)
    assert app.press("OK", T).display == f"Response: {expected(KEY, 0, '424242')}"
    assert app.pending_push == "p7"
    assert app.press("OK", T).display == "Login request for alice"


def test_newer_push_replaces_older(entropy: Entropy) -> None:
    app = active(entropy)
    app.receive_push("p7", "alice", "131313", T)
    assert app.receive_push("p8", "alice", "242424", T).events == (PushReplaced("p7"),)
    assert app.pending_push == "p8"


@pytest.mark.parametrize(
    ("push_id", "user", "challenge"),
    [
        ("", "alice", "123456"),
        ("p 1", "alice", "123456"),
        ("p", "bob", "123456"),
        ("p", "alice", "12345"),
    ],
)
def test_bad_pushes_are_misuse(entropy: Entropy, push_id: str, user: str, challenge: str) -> None:
    with pytest.raises(ValueError):
        active(entropy).receive_push(push_id, user, challenge, T)


# --- several users -------------------------------------------------------------------------------


def test_add_user(entropy: Entropy) -> None:
    app = active(entropy)
    app.offer_user("bob", BOB_KEY, token_hash("55554444", entropy))
    assert app.pending_usernames == ("bob",)
    app = reload(app, entropy)
    assert app.add_user("bob", "55554444", "0000", T).display == "Wrong PIN, 4 tries left"
    assert app.pending_usernames == ("bob",)
    assert app.add_user("bob", "00000000", PIN, T).display == "Wrong token, 2 left"
    reaction = app.add_user("bob", "55554444", PIN, T)
    assert reaction.display == "User bob added" and reaction.events == (UserAdded("bob"),)
    assert reaction.persist
    app = reload(app, entropy)
    assert app.usernames == ("alice", "bob")
    # each user has an own key and an own counter
    bob = app.respond("bob", PIN, "123123", T).events
    assert bob == (ResponseComputed("bob", expected(BOB_KEY, 0, "123123")),)
    assert app.counter("bob") == 1 and app.counter("alice") == 0
    assert app.enrolment("bob").pin_hash == pin_sha1(PIN)


def test_next_switches_user(entropy: Entropy) -> None:
    app = active(entropy)
    app.offer_user("bob", BOB_KEY, token_hash("55554444", entropy))
    app.add_user("bob", "55554444", PIN, T)
    assert app.press("OK", T).display == "alice challenge: _"
    app.type_digits("12", T)
    assert app.press("NEXT", T).display == "bob challenge: _"
    app.type_digits("777777", T)
    app.press("OK", T)
    app.type_digits(PIN, T)
    assert app.press("OK", T).display == f"Response: {expected(BOB_KEY, 0, '777777')}"
    app.press("OK", T)
    assert app.press("NEXT", T).display == "alice challenge: _"


def test_offer_user_refuses_duplicates(entropy: Entropy) -> None:
    app = active(entropy)
    with pytest.raises(ValueError, match="already"):
        app.offer_user("alice", BOB_KEY, token_hash("55554444", entropy))


# --- reinstall and recovery ----------------------------------------------------------------------


def test_reinstall_and_recover(entropy: Entropy) -> None:
    app = active(entropy)
    app.respond("alice", PIN, "000000", T)
    reaction = app.reinstall()
    assert reaction.persist and app.phase is Phase.NEEDS_RECOVERY and not app.powered
    app = reload(app, entropy)
    assert app.press("POWER", T).display == "Recover IB Key first"
    with pytest.raises(ValueError, match="cannot respond"):
        app.respond("alice", PIN, "000000", T)
    assert app.recover(PIN, "31313131", T).display == "Start recovery: get the SMS"
    app.begin_recovery(token_hash("31313131", entropy))
    assert app.recover("0000", "31313131", T).display == "Recovery failed, 2 left"
    assert app.recovery_failures == 1
    app = reload(app, entropy)
    reaction = app.recover(PIN, "31313131", T)
    assert reaction.display == "IB Key recovered" and reaction.events == (Recovered(),)
    assert app.phase is Phase.ACTIVE and app.recovery_failures == 0
    # keys and counters survived
    assert app.counter("alice") == 1
    assert app.respond("alice", PIN, "000000", T).events == (
        ResponseComputed("alice", expected(KEY, 1, "000000")),
    )


def test_ios_recovery_needs_no_sms(entropy: Entropy) -> None:
    """KB2748, Apple iOS: "Tap Yes", "provide the security element originally used to secure the
    app (Fingerprint, Face ID, PIN)", "Tap Done" — no SMS on iOS."""
    app = active(entropy)
    app.respond("alice", PIN, "000000", T)
    app.reinstall()
    app = reload(app, entropy)
    with pytest.raises(ValueError, match="cannot restore"):
        active(entropy).restore(PIN, T)  # an app that was not reinstalled needs no recovery
    wrong = app.restore("0000", T)
    assert wrong.persist and app.pin_failures == 1 and app.phase is Phase.NEEDS_RECOVERY
    reaction = app.restore(BIOMETRIC, T)  # fingerprint / Face ID
    assert reaction.display == "IB Key recovered" and reaction.events == (Recovered(),)
    assert app.phase is Phase.ACTIVE and app.pin_failures == 0 and app.counter("alice") == 1
    app.reinstall()
    assert app.restore(PIN, T).display == "IB Key recovered"  # or the PIN


def test_recovery_is_limited(entropy: Entropy) -> None:
    app = active(entropy, recovery_retries=2, token_retries=5)
    app.reinstall()
    app.begin_recovery(token_hash("31313131", entropy))
    assert app.recover(PIN, "99999999", T).display == "Recovery failed, 1 left"
    assert app.recover("9999", "31313131", T).display == "Recovery locked: activate again"
    assert app.recovery_locked
    app = reload(app, entropy)
    assert app.recover(PIN, "31313131", T).display == "Recovery locked: activate again"
    assert app.press("POWER", T).display == ""
    assert app.press("POWER", T).display == "Recovery locked: activate again"


def test_locked_pin_is_recovered_in_place(entropy: Entropy) -> None:
    app = active(entropy, pin_retries=1)
    app.respond("alice", "0000", "111111", T)
    assert app.pin_locked
    app.begin_recovery(token_hash("31313131", entropy))
    app = reload(app, entropy)
    app.recover(PIN, "31313131", T)
    assert not app.pin_locked and app.pin_failures == 0
    assert app.respond("alice", PIN, "111111", T).persist


def test_recovery_needs_a_reason(entropy: Entropy) -> None:
    app = active(entropy)
    with pytest.raises(ValueError, match="needs no recovery"):
        app.begin_recovery(token_hash("31313131", entropy))
    with pytest.raises(ValueError, match="needs no recovery"):
        app.recover(PIN, "31313131", T)


# --- images and buttons --------------------------------------------------------------------------


def test_image_round_trip_keeps_everything(entropy: Entropy) -> None:
    app = active(entropy)
    app.offer_user("bob", BOB_KEY, token_hash("55554444", entropy))
    app.respond("alice", "0000", "111111", T)
    app.respond("alice", PIN, "111111", T)
    again = reload(app, entropy)
    assert again.to_image() == app.to_image()
    assert again.usernames == ("alice",) and again.pending_usernames == ("bob",)
    assert again.counter("alice") == 1
    assert app.to_image().suite == IBKEY_SUITE


def test_summary_shows_no_secret(entropy: Entropy) -> None:
    app = active(entropy)
    app.offer_user("bob", BOB_KEY, token_hash("55554444", entropy))
    text = str(app.to_image().summary())
    for secret in (KEY.hex(), BOB_KEY.hex(), pin_sha1(PIN).hex(), PIN):
        assert secret not in text


def _edit(image: DeviceImage, **state: object) -> DeviceImage:
    return image.with_state({**image.state, **state})


def test_inconsistent_images_are_refused(entropy: Entropy) -> None:
    image = active(entropy).to_image()
    users = image.state["users"]
    bad_images = [
        _edit(image, phase="asleep"),
        _edit(image, pin_failures=6),
        _edit(image, pin_failures=-1),
        _edit(image, users=[]),
        _edit(image, users=[{**users[0], "counter": -1}]),
        _edit(image, users=[users[0], users[0]]),
        _edit(image, users=[{**users[0], "key": "00"}]),
        _edit(image, ocra_pin_hash="00"),
        _edit(image, pin=None),
        _edit(image, recovery_token=token_hash("31313131", entropy).to_json() | {"failures": 0}),
        _edit(image, phase="awaiting_activation"),
        image.with_state({k: v for k, v in image.state.items() if k != "pending"}),
        DeviceImage(
            "ibkey", "IK1", KEY, "OCRA-1:HOTP-SHA1-8:QN06-PSHA1", image.config, image.state
        ),
        DeviceImage(
            "ibkey", "IK1", KEY, IBKEY_SUITE, {**image.config, "biometric": 1}, image.state
        ),
    ]
    for bad in bad_images:
        with pytest.raises(ImageError):
            IbKey.from_image(bad, entropy)


@pytest.mark.parametrize(
    ("pin", "options", "message"),
    [
        (None, {}, "activation_token option or a PIN"),
        ("12", {}, "PIN"),
        ("1234", {"activation_token": TOKEN}, "no PIN yet"),
        (None, {"activation_token": "x"}, "token"),
        (None, {"activation_token": TOKEN, "username": "a b"}, "username"),
        ("1234", {"counter": -1}, "counter"),
        ("1234", {"pin_retries": 0}, "pin_retries"),
        ("1234", {"shoe_size": 44}, "unknown"),
    ],
)
def test_new_image_refuses_bad_specs(
    entropy: Entropy, pin: str | None, options: dict[str, object], message: str
) -> None:
    spec = ImageSpec(model="ibkey", serial="IK1", key=KEY, pin=pin, options=options)
    with pytest.raises(ValueError, match=message):
        IbKey.new_image(spec, entropy)


def test_phone_buttons(entropy: Entropy) -> None:
    app = active(entropy)
    assert IbKey.buttons >= {"POWER", "OK", "BACK", "APPROVE", "DENY", "BIOMETRIC", "NEXT", "0"}
    with pytest.raises(UnknownButton):
        app.press("C", T)
    assert app.press("APPROVE", T).display == ""  # closed: nothing happens
    app.press("POWER", T)
    assert app.press("DENY", T).display == "alice challenge: _"  # means nothing here
    status = app.status()
    assert status["phase"] == "active" and status["screen"] == Screen.CHALLENGE.value
    assert status["selected_user"] == "alice" and status["pin_locked"] is False


def test_no_repr_inside_the_app_shows_a_key(entropy: Entropy) -> None:
    """What a traceback with locals would print of the app's parts never carries a user key."""
    app = active(entropy)
    app.offer_user("bob", BOB_KEY, token_hash("55554444", entropy))  # a pending user, too
    seen = repr(app.to_image()) + "".join(repr(value) for value in vars(app).values())
    for key in (KEY, BOB_KEY):
        assert key.hex() not in seen and repr(key) not in seen


def test_a_trailing_newline_makes_a_name_token_or_push_id_invalid(entropy: Entropy) -> None:
    with pytest.raises(ValueError, match="SMS token"):
        token_hash(TOKEN + "\n", entropy)
    with pytest.raises(ValueError, match="username"):
        awaiting(entropy, username="alice\n")
    app = active(entropy)
    with pytest.raises(ValueError, match="push id"):
        app.receive_push("p1\n", "alice", "123456", T)
    with pytest.raises(ValueError, match="username"):
        app.offer_user("bob\n", BOB_KEY, token_hash("55554444", entropy))
    assert app.pending_usernames == () and app.pending_push is None
