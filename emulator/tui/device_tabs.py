"""The line of device tabs above the faceplates."""

from __future__ import annotations

from collections.abc import Mapping

from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static


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
