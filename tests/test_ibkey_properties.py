"""IB Key properties: any buttons and API calls at any times keep the app's promises, and every
screen and phase move is one its transition tables allow."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.device import ImageSpec, Reaction
from firmware_model.fsm import DIGIT, TIMEOUT, kind_of
from firmware_model.ibkey import (
    BIOMETRIC,
    PHASE_TRANSITIONS,
    SCREEN_TRANSITIONS,
    IbKey,
    Phase,
    token_hash,
)
from tests.fsm_check import assert_move

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
        "TYPE_BAD_PIN": lambda: app.type_digits("1357", now).then(app.press("OK", now)),
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
        "RESTORE_IOS": lambda: app.restore(BIOMETRIC, now),
        "RESTORE_BAD": lambda: app.restore("0000", now),
        "OFFER_BOB": lambda: app.offer_user("bob", b"bob-key", token_hash(TOKEN, entropy)),
        "ADD_BOB": lambda: app.add_user("bob", TOKEN, PIN, now),
    }
    return calls[action]()


# What each step is in the transition tables: the screen kinds in turn, and the API call (the
# phase table's kind) if any.
KINDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "WAIT": ((), None),
    "TYPE_CHALLENGE": ((*[DIGIT] * 6, "OK"), None),
    "TYPE_PIN": ((*[DIGIT] * 4, "OK"), None),
    "TYPE_BAD_PIN": ((*[DIGIT] * 4, "OK"), None),
    "ACTIVATE": (("activate",), "activate"),
    "ACTIVATE_BAD": (("activate",), "activate"),
    "RESPOND": (("respond",), "respond"),
    "RESPOND_BAD": (("respond",), "respond"),
    "PUSH": (("push",), "push"),
    "APPROVE_PIN": (("approve",), None),
    "APPROVE_BAD": (("approve",), None),
    "APPROVE_BIO": (("approve",), None),
    "DENY_API": (("deny",), None),
    "REINSTALL": (("reinstall",), "reinstall"),
    "BEGIN_RECOVERY": (("begin_recovery",), "begin_recovery"),
    "RECOVER": (("recover",), "recover"),
    "RECOVER_BAD": (("recover",), "recover"),
    "RESTORE_IOS": (("restore",), "restore"),
    "RESTORE_BAD": (("restore",), "restore"),
    "OFFER_BOB": (("offer_user",), "offer_user"),
    "ADD_BOB": (("add_user",), "add_user"),
}
# Steps that let a due push expire first (`advance`): buttons, whole entries, approve and deny.
EXPIRE_FIRST = {"TYPE_CHALLENGE", "TYPE_PIN", "TYPE_BAD_PIN", "APPROVE_PIN", "APPROVE_BAD"}
EXPIRE_FIRST |= {"APPROVE_BIO", "DENY_API", "WAIT"}
PUSH_SECONDS = 120  # the shipped default


class Tables:
    """Holds an app to its transition tables, step by step. It tracks when the pending push
    falls due, so it knows whether a step's `advance` may expire it first (`TIMEOUT`)."""

    def __init__(self) -> None:
        self.push_due = float("inf")

    def step(self, app: IbKey, action: str, now: float) -> Reaction:
        where = (app.screen, app.phase)
        due = app.pending_push is not None and now >= self.push_due
        reaction = act(app, action, now)  # ValueError: the caller checks nothing moved
        if action == "PUSH":
            self.push_due = now + PUSH_SECONDS
        screen_kinds, call = KINDS.get(action) or ((kind_of(action),), None)
        if due and (action in EXPIRE_FIRST or action in IbKey.buttons):
            screen_kinds = (TIMEOUT, *screen_kinds)
        assert_move(SCREEN_TRANSITIONS, where[0], screen_kinds, app.screen)
        assert_move(PHASE_TRANSITIONS, where[1], (call,) if call else (), app.phase)
        return reaction



MACROS = ["TYPE_CHALLENGE", "TYPE_PIN", "TYPE_BAD_PIN"]
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
# Mostly no time between steps (a person tapping), sometimes past a push's expiry.
delays = st.one_of(st.just(0.0), st.just(0.0), st.just(121.0), st.floats(0, 200, allow_nan=False))
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), delays), min_size=20, max_size=60)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["ACTIVATE", "ACTIVATE_BAD"]), steps)
def test_any_steps_keep_the_promises(first: str, plan: list[tuple[str, float]]) -> None:
    app, tables = fresh_app(), Tables()
    now = 1_000.0
    for action, delay in [(first, 0.0), *plan]:
        now += delay
        before = app.to_image()
        pin_failures, recovery_failures = app.pin_failures, app.recovery_failures
        counters = {name: app.counter(name) for name in app.usernames}
        where = (app.screen, app.phase)
        try:
            reaction = tables.step(app, action, now)
        except ValueError:
            # misuse of the API (wrong phase, no push, unknown user...): nothing changed
            assert action in API
            assert app.to_image() == before
            assert (app.screen, app.phase) == where
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


SCREEN_STEPS = [
    *sorted(IbKey.buttons),
    *MACROS,
    *MACROS,
    "PUSH",
    "WAIT",
    "APPROVE_BAD",
    "RESPOND_BAD",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SCREEN_STEPS), delays), min_size=20, max_size=80))
def test_the_screens_of_an_active_app_follow_the_table(plan: list[tuple[str, float]]) -> None:
    """Buttons never raise; with pushes, waits and whole entries mixed in, every screen move
    is one `SCREEN_TRANSITIONS` lists."""
    app, tables = fresh_app(), Tables()
    app.activate("alice", TOKEN, PIN, 0)
    now = 0.0
    for action, delay in plan:
        now += delay
        where = (app.screen, app.phase)
        try:
            reaction = tables.step(app, action, now)
        except ValueError:  # approving with no push waiting: misuse, nothing changes
            assert action == "APPROVE_BAD" and (app.screen, app.phase) == where
            continue
        assert len(reaction.display) <= 32
