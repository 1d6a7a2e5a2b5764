"""Faceplates: what each emulated device looks like in the terminal.

A faceplate is a thin view (Textual's `examples/calculator.py`): it draws a `DeviceView` snapshot
(reactive `view`) and turns mouse clicks on its buttons into `Faceplate.Pressed(button)`
messages. It never calls the device itself; the app forwards the press to the device session and
sets the new snapshot. Which widget draws which model is a table (`FACEPLATES`, keyed by the
model registry's faceplate hint), and so is each keypad's layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from emulator.tui.keypad import Keypad, Rows
from emulator.tui.lcd import render_lcd
from firmware_model.models import PROFILES, FaceKind

Status = Mapping[str, str | int | bool]


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A snapshot of one device for drawing: safe to show (no key, no PIN)."""

    model: str
    serial: str
    display: str
    powered: bool
    buttons: frozenset[str]
    status: Status = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", MappingProxyType(dict(self.status)))


def face_title(view: DeviceView | None, model: str) -> str:
    """The title printed on the device: the registry's faceplate hint for the view's model (or
    `model`'s before a view is set)."""
    return PROFILES[view.model if view is not None else model].faceplate.title


def indicator_text(view: DeviceView) -> str:
    """The indicator line: power, battery, lock — whatever the device reports."""
    parts = ["ON" if view.powered else "OFF"]
    battery = view.status.get("battery")
    if battery is not None and not isinstance(battery, bool):
        parts.append(f"BATT {battery}%" if isinstance(battery, int) else f"BATT {battery}")
    for flag, label in _LOCK_FLAGS.items():
        if view.status.get(flag) is True:
            parts.append(label)
    failures = view.status.get("pin_failures")
    if isinstance(failures, int) and not isinstance(failures, bool) and failures:
        parts.append(f"PIN FAIL {failures}")
    return "  ".join(parts)


# Status flags a device may report → the indicator the faceplate shows for them.
_LOCK_FLAGS: Mapping[str, str] = {
    "locked": "LOCKED",
    "pin_locked": "PIN LOCKED",
    "battery_low": "BATT LOW",
    "battery_empty": "BATT EMPTY",
}


class Faceplate(Vertical, can_focus=True):
    """Base of every faceplate: a reactive `view`, and `Pressed` messages from its keys."""

    # The faceplate's children redraw themselves when the view changes (fixed sizes: no layout).
    view: reactive[DeviceView | None] = reactive(None, repaint=False)

    # Tab from a device goes to the field that waits for its code (the app knows which).
    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "to_answer", "Type the code")]

    class ToAnswer(Message):
        """Tab on a device: the user has the code and wants to type it."""

    def action_to_answer(self) -> None:
        self.post_message(self.ToAnswer())

    class Pressed(Message):
        """A device key was clicked (the app forwards it to the device)."""

        def __init__(self, faceplate: Faceplate, button: str) -> None:
            super().__init__()
            self.faceplate = faceplate
            self.button = button

    def __init__(
        self, view: DeviceView, *, id: str | None = None, shortcuts: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(id=id, classes=f"faceplate model-{view.model}")
        self.set_reactive(Faceplate.view, view)
        self._shortcuts = dict(shortcuts or {})

    def key_hint(self, labels: Mapping[str, str], buttons: tuple[str, ...] | None = None) -> Static:
        """One line naming the keyboard keys for the keys whose label is not their key (the
        keymap's: `p press · enter OK · backspace ◄`)."""
        chosen = [b for b in self._shortcuts if buttons is None or b in buttons]
        text = " · ".join(f"{self._shortcuts[b]} {labels.get(b, b)}" for b in chosen)
        return Static(text, classes="key-hint")

    def keypads(self, rows: Rows, labels: Mapping[str, str], *, gap: bool = True) -> ComposeResult:
        """The device's keys laid out as `rows`: keycaps and one-line keys (CSS shows one)."""
        view = self.view
        buttons = view.buttons if view is not None else frozenset()
        yield Keypad(rows, labels, buttons, self._press, boxed=True, classes="keys")
        yield Keypad(rows, labels, buttons, self._press, boxed=False, gap=gap, classes="keys")

    def _press(self, button: str) -> None:
        self.post_message(Faceplate.Pressed(self, button))

    def power_key(self, labels: Mapping[str, str]) -> ComposeResult:
        """The power key (one line: it sits beside the indicators), if the device has one."""
        view = self.view
        if view is not None and "POWER" in view.buttons:
            yield Keypad(
                (("POWER",),),
                labels,
                view.buttons,
                self._press,
                boxed=False,
                classes="power",
            )

    def key_at(self, button: str) -> tuple[Keypad, tuple[int, int]]:
        """The keypad on screen showing key `button` and the key's offset in it (to click it)."""
        for keypad in self.query(Keypad):
            if keypad.display and keypad.has_key(button):
                return keypad, keypad.key_offset(button)
        raise KeyError(button)


@dataclass(frozen=True, slots=True)
class CardLayout:
    """How a card-shaped device looks: its name, LCD width and keypad."""

    title: str
    lcd_width: int
    keypad: tuple[tuple[str, ...], ...]
    labels: Mapping[str, str] = field(default_factory=dict)


_CARD_KEYPAD = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("BACK", "0", "OK"))
_LEGACY_KEYPAD = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("C", "0", "OK"))
_CARD_LABELS: Mapping[str, str] = {"BACK": "◄", "POWER": "press", "OK": "OK", "C": "C"}

_KEYPADS: Mapping[FaceKind, tuple[tuple[str, ...], ...]] = {
    FaceKind.CARD: _CARD_KEYPAD,
    FaceKind.LEGACY_CARD: _LEGACY_KEYPAD,
}

# model → layout, for every card-shaped model of the registry (title as printed on the card)
CARD_LAYOUTS: Mapping[str, CardLayout] = {
    name: CardLayout(profile.faceplate.title, 8, _KEYPADS[profile.faceplate.kind], _CARD_LABELS)
    for name, profile in PROFILES.items()
    if profile.faceplate.kind in _KEYPADS
}


class DisplayFaceplate(Faceplate):
    """A device with a screen: the screen (`#screen_id`), the display as plain text, indicators."""

    screen_id: ClassVar[str]

    def _screen_text(self) -> str:
        """The screen as the device draws it (plain text here; cards draw segments)."""
        view = self.view
        return view.display if view else ""

    def _plain_text(self) -> str:
        view = self.view
        return f"display: {view.display}" if view and view.display else "display: (blank)"

    def _indicators(self) -> str:
        return indicator_text(self.view) if self.view else ""

    def watch_view(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(f"#{self.screen_id}", Static).update(self._screen_text(), layout=False)
        self.query_one("#plain", Static).update(self._plain_text(), layout=False)
        self.query_one("#indicators", Static).update(self._indicators(), layout=False)


class CardFaceplate(DisplayFaceplate):
    """A credit-card device in its frame: segment LCD in a window, indicators, power key, keys.

    Where there is room the keys sit beside the display as on a card held landscape, else below
    it (`app.tcss`)."""

    screen_id = "lcd"

    def compose(self) -> ComposeResult:
        layout = self.layout_spec
        view = self.view
        self.border_title = layout.title
        self.border_subtitle = view.serial if view else ""
        with Horizontal(classes="card-body"):
            with Vertical(classes="card-left"):
                with Horizontal(classes="card-top"):
                    yield Static(self._indicators(), id="indicators", classes="indicators")
                    yield from self.power_key(layout.labels)
                yield Static(self._screen_text(), id="lcd", classes="lcd")
                yield Static(self._plain_text(), id="plain", classes="plain")
            with Vertical(classes="card-keys"):
                yield from self.keypads(layout.keypad, layout.labels)
        yield self.key_hint(layout.labels)

    @property
    def layout_spec(self) -> CardLayout:
        view = self.view
        return CARD_LAYOUTS[view.model if view is not None else "dscplus"]

    def _screen_text(self) -> str:
        view = self.view
        return "\n".join(render_lcd(view.display if view else "", self.layout_spec.lcd_width))


# Columns the SCC grid may have, most first: 8 x 28 is the printed card; fewer where it does not
# fit (still numbered down the columns). Each divides the card's 224 cells.
SCC_COLUMNS: tuple[int, ...] = (8, 7, 4, 2)
SCC_CELL_WIDTH = 8  # "123 A3D" and a space


class SccFaceplate(Faceplate):
    """The Security Code Card: every cell with its index; the requested cells highlighted."""

    highlight: reactive[tuple[int, ...]] = reactive((), layout=True)
    columns: reactive[int] = reactive(SCC_COLUMNS[0], layout=True)
    visible_rows: reactive[int] = reactive(0)  # grid rows the card has room for (0: unknown)

    def __init__(self, view: DeviceView, grid: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(view, id=id)  # no keyboard keys to name: the codes are typed as text
        self._grid = grid
        self.border_title = face_title(view, "scc")
        self.border_subtitle = view.serial

    def compose(self) -> ComposeResult:
        yield Static(self._asked_text(), id="asked", classes="asked")
        yield Static(self._reader_text(), id="plain", classes="plain")
        # Not a Tab stop: the grid scrolls to the asked cells by itself (and with the mouse wheel);
        # the codes are typed into the login's response field.
        with VerticalScroll(classes="scc-scroll", can_focus=False):
            yield Static(self._grid_text(), id="grid", classes="scc-grid")

    def on_resize(self) -> None:
        room = self.content_size.width + 1
        self.visible_rows = max(0, self.content_size.height - 2)  # under "asked" and "reader"
        self.columns = next(
            (n for n in SCC_COLUMNS if n * SCC_CELL_WIDTH <= room and len(self._grid) % n == 0),
            SCC_COLUMNS[-1],
        )

    def _asked_text(self) -> str:
        if not self.highlight:
            return "cells asked: none (log in with this card)"
        return "cells asked: " + ", ".join(str(index) for index in self.highlight)

    def _reader_text(self) -> str:
        """The card-reader emulation's display (scripts press keys on an SCC to read a cell)."""
        view = self.view
        return f"reader: {view.display}" if view and view.display else "reader: (off)"

    def watch_view(self) -> None:
        if self.is_mounted:
            self.query_one("#plain", Static).update(self._reader_text(), layout=False)

    def _shown_rows(self, rows: int) -> list[int | None]:
        """The grid rows to draw: all, or where they do not fit, the rows around each asked
        cell (None: a gap), so both asked cells are on screen without scrolling."""
        if not self.highlight or not self.visible_rows or rows <= self.visible_rows:
            return list(range(rows))
        wanted = sorted(
            {
                r
                for index in self.highlight
                for r in range((index - 1) % rows - 1, (index - 1) % rows + 2)
            }
            & set(range(rows))
        )
        shown: list[int | None] = []
        for row in wanted:
            if shown and shown[-1] is not None and row != shown[-1] + 1:
                shown.append(None)
            shown.append(row)
        return shown

    def _grid_text(self) -> Text:
        columns = self.columns
        rows = len(self._grid) // columns
        text = Text(no_wrap=True)
        for row in self._shown_rows(rows):
            if row is None:
                text.append("  ⋮\n", style="dim")
                continue
            for column in range(columns):
                index = column * rows + row + 1  # down each column, like the printed card
                style = "bold reverse" if index in self.highlight else ""
                if column:
                    text.append(" ")
                text.append(f"{index:>3} {self._grid[index - 1]}", style=style)
            text.append("\n")
        text.rstrip()
        return text

    def watch_columns(self) -> None:
        self.watch_highlight()

    def watch_visible_rows(self) -> None:
        self.watch_highlight()

    def watch_highlight(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#asked", Static).update(self._asked_text())
        self.query_one("#grid", Static).update(self._grid_text())
        if self.highlight:
            rows = len(self._grid) // self.columns
            first_row = (min(self.highlight) - 1) % rows
            self.query_one(".scc-scroll", VerticalScroll).scroll_to(
                y=max(0, first_row - 2), animate=False
            )


_PHONE_KEYPAD = (
    ("APPROVE", "DENY"),
    ("BIOMETRIC", "NEXT"),
)
_PHONE_DIGITS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("BACK", "0", "OK"))
_PHONE_LABELS: Mapping[str, str] = {
    "APPROVE": "Approve",
    "DENY": "Deny",
    "BIOMETRIC": "Face ID",
    "NEXT": "Next",
    "BACK": "◄",
    "POWER": "app",
}


class PhoneFaceplate(DisplayFaceplate):
    """IB Key (IBKR Mobile) on a phone: the app screen, push approve/deny, PIN and digits."""

    screen_id = "phone-screen"

    def compose(self) -> ComposeResult:
        view = self.view
        self.border_title = face_title(view, "ibkey")
        self.border_subtitle = view.serial if view else ""
        with Vertical(classes="phone"):
            with Horizontal(classes="card-top"):
                yield Static(self._indicators(), id="indicators", classes="indicators")
                yield from self.power_key(_PHONE_LABELS)
            yield Static(self._screen_text(), id="phone-screen", classes="phone-screen")
            yield Static(self._plain_text(), id="plain", classes="plain")
            # No blank rows between the keys: the phone fits a 24-line terminal.
            yield from self.keypads(_PHONE_KEYPAD + _PHONE_DIGITS, _PHONE_LABELS, gap=False)
            yield self.key_hint(_PHONE_LABELS, ("APPROVE", "DENY", "BIOMETRIC", "NEXT"))
            yield Static("▔▔▔▔▔▔", classes="home-bar")

    def _screen_text(self) -> str:
        view = self.view
        if view is None or not view.display:
            return "(app closed)"
        return view.display


# faceplate kind → class (cards share one class; the layout table picks their look)
_FACEPLATE_CLASSES: Mapping[FaceKind, type[Faceplate]] = {
    FaceKind.CARD: CardFaceplate,
    FaceKind.LEGACY_CARD: CardFaceplate,
    FaceKind.SCC_GRID: SccFaceplate,
    FaceKind.PHONE: PhoneFaceplate,
}

# model → faceplate class, for every model of the registry that has something to draw
FACEPLATES: Mapping[str, type[Faceplate]] = {
    name: _FACEPLATE_CLASSES[profile.faceplate.kind]
    for name, profile in PROFILES.items()
    if profile.faceplate.kind in _FACEPLATE_CLASSES
}
