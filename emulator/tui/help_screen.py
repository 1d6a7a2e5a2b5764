"""The help screen: the app's keys and the active keymap's bindings (F1, or `?` outside text)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from emulator.tui.keymap import Keymap


class HelpScreen(ModalScreen[None]):
    """The active key bindings (keymap and app keys)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, keymap: Keymap) -> None:
        super().__init__(id="help")
        self._keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            title = f"Keymap: {self._keymap.name}"
            if self._keymap.description:
                title += f" — {self._keymap.description}"
            yield Static(title, id="help-title")
            yield Static(
                "Esc or F1 closes; arrows scroll. Device keys act on the device shown (not while "
                "typing in a text field); a click on a key works too.",
                id="help-hint",
            )
            table: DataTable[str] = DataTable(id="help-table", cursor_type="none")
            table.add_columns("device button / app", "keys")
            for keys, what in _APP_KEYS:  # first: they work everywhere
                table.add_row(what, keys)
            for button, keys in self._keymap.rows():
                table.add_row(button, keys)
            yield table


_APP_KEYS: tuple[tuple[str, str], ...] = (
    ("f1 (? outside text fields)", "(app) this help"),
    ("f2", "(app) next device"),
    ("f3", "(app) log out"),
    ("f6", "(app) IB Key activation / recovery"),
    ("tab / shift+tab", "(app) move focus"),
    ("ctrl+q", "(app) quit"),
)
