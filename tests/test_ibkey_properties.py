"""IB Key properties: any buttons and API calls at any times keep the app's promises."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.device import ImageSpec, Reaction
from firmware_model.ibkey import BIOMETRIC, IbKey, Phase, token_hash

KEY = b"property-key-0123456"
PIN = "2468"
TOKEN = "11223344"
RECOVERY = "55667788"


def entropy(count: int) -> bytes:
    return bytes(range(count))


def fresh_app() -> IbKey:
    spec = ImageSpec(
        model="ibkey",
        serial="IK1",
        key=KEY,
        options={"username": "alice", "activation_token": TOKEN, "pin_retries": 3},
    )
    return IbKey.from_image(IbKey.new_image(spec, entropy), entropy)


def act(app: IbKey, action: str, now: float) -> Reaction:
    """One step: a button, or a call of the high-level API (which may be misuse)."""
    if action in IbKey.buttons:
        return app.press(action, now)
    calls: dict[str, Callable[[], Reaction]] = {
        "WAIT": lambda: app.advance(now),
        # whole entries over the buttons, to reach the PIN screens often
        "TYPE_CHALLENGE": lambda: app.type_digits("123456", now).then(app.press("OK", now)),
        "TYPE_PIN": lambda: app.type_digits(PIN, now).then(app.press("OK", now)),
        "ACTIVATE": lambda: app.activate("alice", TOKEN, PIN, now),
        "ACTIVATE_BAD": lambda: app.activate("alice", "99999999", PIN, now),
        "RESPOND": lambda: app.respond("alice", PIN, "123456", now),
        "RESPOND_BAD": lambda: app.respond("alice", "0000", "123456", now),
        "PUSH": lambda: app.receive_push("p1", "alice", "654321", now),
        "APPROVE_PIN": lambda: app.approve(PIN, now),
        "APPROVE_BAD": lambda: app.approve("1111", now),
        "APPROVE_BIO": lambda: app.approve(BIOMETRIC, now),
        "DENY_API": lambda: app.deny(now),
        "REINSTALL": app.reinstall,
        "BEGIN_RECOVERY": lambda: app.begin_recovery(token_hash(RECOVERY, entropy)),
        "RECOVER": lambda: app.recover(PIN, RECOVERY, now),
        "RECOVER_BAD": lambda: app.recover("0000", RECOVERY, now),
        "OFFER_BOB": lambda: app.offer_user("bob", b"bob-key", token_hash(TOKEN, entropy)),
        "ADD_BOB": lambda: app.add_user("bob", TOKEN, PIN, now),
    }
    return calls[action]()


MACROS = ["TYPE_CHALLENGE", "TYPE_PIN"]
API = [
    "WAIT",
    "ACTIVATE",
    "ACTIVATE_BAD",
    "RESPOND",
    "RESPOND_BAD",
    "PUSH",
    "APPROVE_PIN",
    "APPROVE_BAD",
    "APPROVE_BIO",
    "DENY_API",
    "REINSTALL",
    "BEGIN_RECOVERY",
    "RECOVER",
    "RECOVER_BAD",
    "OFFER_BOB",
    "ADD_BOB",
]
ACTIONS = sorted(IbKey.buttons) + MACROS + API
steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.floats(0, 200, allow_nan=False)),
    max_size=50,
)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["ACTIVATE", "ACTIVATE_BAD"]), steps)
def test_any_steps_keep_the_promises(first: str, plan: list[tuple[str, float]]) -> None:
    app = fresh_app()
    now = 1_000.0
    for action, delay in [(first, 0.0), *plan]:
        now += delay
        before = app.to_image()
        pin_failures, recovery_failures = app.pin_failures, app.recovery_failures
        counters = {name: app.counter(name) for name in app.usernames}
        try:
            reaction = act(app, action, now)
        except ValueError:
            # misuse of the API (wrong phase, no push, unknown user...): nothing durable changed
            assert action in API
            assert app.to_image() == before
            continue
        after = app.to_image()
        if after != before:
            assert reaction.persist, action
        assert reaction.display == app.display
        assert "\n" not in app.display and len(app.display) <= 32
        # failure counters only fall on success: a right PIN, or a recovery
        if app.pin_failures < pin_failures:
            assert app.pin_failures == 0
            assert action in {"RESPOND", "APPROVE_PIN", "RECOVER", "ADD_BOB", "OK", "TYPE_PIN"}
        if app.recovery_failures < recovery_failures:
            assert action == "RECOVER" and app.recovery_failures == 0
        assert app.pin_failures <= 3
        # counters never go back; users never disappear
        for name, counter in counters.items():
            assert app.counter(name) >= counter
        if app.phase is Phase.ACTIVE:
            assert "alice" in app.usernames
        # the image always loads again, equal
        assert IbKey.from_image(after, entropy).to_image() == after


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(IbKey.buttons)), max_size=80))
def test_buttons_alone_never_raise(buttons: list[str]) -> None:
    app = fresh_app()
    app.activate("alice", TOKEN, PIN, 0)
    for n, button in enumerate(buttons):
        reaction = app.press(button, float(n))
        assert len(reaction.display) <= 32
