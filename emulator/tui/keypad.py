"""A device's keys drawn as text: raised keycaps where there is room, one-line keys where not.

One widget per block of keys rather than one `Button` per key: a faceplate has up to 19 keys,
and fewer widgets make the app start and redraw faster. A click on a key calls `on_key(name)`.
A key the device lacks is left blank. Each faceplate has both styles; `app.tcss` shows the
one that fits the terminal (`.keypad.boxed` on tall screens, `.keypad.flat` on short ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from textual.widgets import Static

Rows = tuple[tuple[str, ...], ...]


def _label(labels: Mapping[str, str], name: str) -> str:
    return labels.get(name, name)


class Keypad(Static):
    """Keys laid out as `rows`; `boxed`: each key a 3-line keycap, else one reverse-video line
    per key (`gap`: a blank line between rows)."""

    def __init__(
        self,
        rows: Rows,
        labels: Mapping[str, str],
        buttons: frozenset[str],
        on_key: Callable[[str], None],
        *,
        boxed: bool,
        gap: bool = True,
        classes: str = "",
    ) -> None:
        width = max(len(_label(labels, name)) for row in rows for name in row) + 2
        self._cells: dict[str, tuple[int, int]] = {}
        self._press = on_key
        lines: list[str] = []
        for y, row in enumerate(rows):
            layers: list[list[str]] = [[] for _ in range(3 if boxed else 1)]  # this row's lines
            for column, name in enumerate(row):
                label = _label(labels, name).center(width)
                faces: tuple[str, ...]
                present = name in buttons
                if boxed:
                    faces = ("╭" + "─" * width + "╮", f"│[b]{label}[/b]│", "╰" + "─" * width + "╯")
                    self._cells[name] = (column * (width + 3) + 1 + width // 2, y * 3 + 1)
                else:
                    faces = (f"[reverse]{label}[/reverse]",)
                    step = 2 if gap else 1
                    self._cells[name] = (column * (width + 1) + width // 2, y * step)
                for layer, face in zip(layers, faces, strict=True):
                    blank = " " * (width + (2 if boxed else 0))
                    layer.append(f"[@click=key('{name}')]{face}[/]" if present else blank)
                if not present:
                    del self._cells[name]
            lines.extend(" ".join(layer) for layer in layers)
            if gap and not boxed and y < len(rows) - 1:
                lines.append("")
        style = "boxed" if boxed else "flat"
        super().__init__("\n".join(lines), classes=f"keypad {style} {classes}".strip())

    def has_key(self, button: str) -> bool:
        """Whether this keypad shows key `button`."""
        return button in self._cells

    def key_offset(self, button: str) -> tuple[int, int]:
        """Where key `button` is drawn in this widget (x, y): for clicking it in tests."""
        return self._cells[button]

    def action_key(self, button: str) -> None:
        """A click on a key."""
        self._press(button)
