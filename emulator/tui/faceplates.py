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
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

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


class Keypad(Static):
    """A block of device keys drawn as text; a click on a key posts `Faceplate.Pressed`.

    One widget per block rather than one `Button` per key: a faceplate has up to 19 keys, and
    fewer widgets make the app start and redraw faster. A key the device lacks is left blank.
    """

    def __init__(
        self,
        faceplate: Faceplate,
        rows: tuple[tuple[str, ...], ...],
        labels: Mapping[str, str],
        buttons: frozenset[str],
        *,
        classes: str = "keypad",
    ) -> None:
        width = max(len(labels.get(name, name)) for row in rows for name in row) + 2
        self._cells: dict[str, tuple[int, int]] = {}
        lines = []
        for y, row in enumerate(rows):
            parts = []
            for column, name in enumerate(row):
                label = labels.get(name, name).center(width)
                if name in buttons:
                    self._cells[name] = (column * (width + 1) + width // 2, y * 2)
                    parts.append(f"[@click=key('{name}')][reverse]{label}[/reverse][/]")
                else:
                    parts.append(" " * width)
            lines.append(" ".join(parts))
        super().__init__("\n\n".join(lines), classes=classes)
        self._faceplate = faceplate

    def has_key(self, button: str) -> bool:
        """Whether this keypad shows key `button`."""
        return button in self._cells

    def key_offset(self, button: str) -> tuple[int, int]:
        """Where key `button` is drawn in this widget (x, y): for clicking it in tests."""
        return self._cells[button]

    def action_key(self, button: str) -> None:
        """A click on a key."""
        self.post_message(Faceplate.Pressed(self._faceplate, button))


class Faceplate(Vertical, can_focus=True):
    """Base of every faceplate: a reactive `view`, and `Pressed` messages from its keys."""

    # The faceplate's children redraw themselves when the view changes (fixed sizes: no layout).
    view: reactive[DeviceView | None] = reactive(None, repaint=False)

    class Pressed(Message):
        """A device key was clicked (the app forwards it to the device)."""

        def __init__(self, faceplate: Faceplate, button: str) -> None:
            super().__init__()
            self.faceplate = faceplate
            self.button = button

    def __init__(self, view: DeviceView, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"faceplate model-{view.model}")
        self.set_reactive(Faceplate.view, view)

    def keypad(
        self,
        rows: tuple[tuple[str, ...], ...],
        labels: Mapping[str, str],
        classes: str = "keypad",
    ) -> Keypad:
        """The device's keys laid out as `rows`."""
        view = self.view
        buttons = view.buttons if view is not None else frozenset()
        return Keypad(self, rows, labels, buttons, classes=classes)

    def key_at(self, button: str) -> tuple[Keypad, tuple[int, int]]:
        """The keypad showing key `button` and the key's offset in it (to click it)."""
        for keypad in self.query(Keypad):
            if keypad.has_key(button):
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
    """A credit-card device: segment LCD, the display as plain text, indicators, keys."""

    screen_id = "lcd"

    def compose(self) -> ComposeResult:
        layout = self.layout_spec
        view = self.view
        serial = view.serial if view else ""
        yield Static(f"{layout.title}  ·  {serial}", classes="card-title")
        with Horizontal(classes="card-top"):
            yield Static(self._indicators(), id="indicators", classes="indicators")
            if view is not None and "POWER" in view.buttons:
                yield self.keypad((("POWER",),), layout.labels, classes="keypad power")
        yield Static(self._screen_text(), id="lcd", classes="lcd")
        yield Static(self._plain_text(), id="plain", classes="plain")
        yield self.keypad(layout.keypad, layout.labels)

    @property
    def layout_spec(self) -> CardLayout:
        view = self.view
        return CARD_LAYOUTS[view.model if view is not None else "dscplus"]

    def _screen_text(self) -> str:
        view = self.view
        return "\n".join(render_lcd(view.display if view else "", self.layout_spec.lcd_width))


class SccFaceplate(Faceplate):
    """The Security Code Card: every cell with its index; the requested cells highlighted."""

    highlight: reactive[tuple[int, ...]] = reactive((), layout=True)
    COLUMNS: ClassVar[int] = 7  # 7 x 32 fits beside the login pane (the print has 8 x 28)

    def __init__(self, view: DeviceView, grid: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(view, id=id)
        self._grid = grid

    def compose(self) -> ComposeResult:
        view = self.view
        serial = view.serial if view else ""
        yield Static(f"{face_title(view, 'scc')}  ·  {serial}", classes="card-title")
        yield Static(self._asked_text(), id="asked", classes="plain")
        yield Static(self._reader_text(), id="plain", classes="plain")
        # Not a Tab stop: the grid scrolls to the asked cells by itself (and with the mouse wheel),
        # so Tab from the card goes straight to the response field, as on the other cards.
        with VerticalScroll(classes="scc-scroll", can_focus=False):
            yield Static(self._grid_text(), id="grid", classes="scc-grid")

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

    def _grid_text(self) -> Text:
        rows = len(self._grid) // self.COLUMNS
        text = Text(no_wrap=True)
        for row in range(rows):
            for column in range(self.COLUMNS):
                index = column * rows + row + 1  # down each column, like the printed card
                style = "bold reverse" if index in self.highlight else ""
                if column:
                    text.append(" ")
                text.append(f"{index:>3} {self._grid[index - 1]}", style=style)
            text.append("\n")
        text.rstrip()
        return text

    def watch_highlight(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#asked", Static).update(self._asked_text())
        self.query_one("#grid", Static).update(self._grid_text())
        if self.highlight:
            rows = len(self._grid) // self.COLUMNS
            first_row = (min(self.highlight) - 1) % rows
            self.query_one(".scc-scroll", VerticalScroll).scroll_to(y=max(0, first_row - 2))


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
        serial = view.serial if view else ""
        with Vertical(classes="phone"):
            yield Static(f"{face_title(view, 'ibkey')}  {serial}", classes="phone-title")
            yield Static(self._indicators(), id="indicators", classes="indicators")
            if view is not None and "POWER" in view.buttons:
                yield self.keypad((("POWER",),), _PHONE_LABELS, classes="keypad power")
            yield Static(self._screen_text(), id="phone-screen", classes="phone-screen")
            yield Static(self._plain_text(), id="plain", classes="plain")
            yield self.keypad(_PHONE_KEYPAD + _PHONE_DIGITS, _PHONE_LABELS)

    def _screen_text(self) -> str:
        view = self.view
        if view is None or not view.display:
            return "(app closed)"
        return view.display


class DeviceTabs(Static):
    """One line naming the devices, the shown one highlighted; a click asks to show another.

    (Lighter than Textual's `TabbedContent`, which alone would double the app's start-up work.)
    """

    active: reactive[str] = reactive("", repaint=False)

    class Chosen(Message):
        """The user clicked the tab of device `serial`."""

        def __init__(self, serial: str) -> None:
            super().__init__()
            self.serial = serial

    def __init__(self, labels: Mapping[str, str], active: str, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._labels = dict(labels)
        self.set_reactive(DeviceTabs.active, active)
        self.update(self._markup(), layout=False)

    def _markup(self) -> str:
        tabs = []
        for serial, label in self._labels.items():
            style = "reverse bold" if serial == self.active else "underline"
            tabs.append(f"[@click=show('{serial}')][{style}] {label} [/{style}][/]")
        return " ".join(tabs)

    def watch_active(self) -> None:
        self.update(self._markup(), layout=False)

    def action_show(self, serial: str) -> None:
        """A click on a tab."""
        self.post_message(self.Chosen(serial))


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
