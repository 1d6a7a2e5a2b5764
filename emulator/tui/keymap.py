"""Keymaps: keyboard keys → device buttons, as data (TOML files), never as `if key == ...` chains.

File format (`keymaps/*.toml`)::

    name = "default"                 # optional; defaults to the file name
    description = "..."              # optional, shown on the help screen

    [keys]
    "0" = "0"                        # key name → button name
    enter = "OK"
    backspace = "BACK"
    p = "POWER"

Key names are Textual's (`enter`, `backspace`, `f5`, `ctrl+x`, `a`, `1`, ...); a single
punctuation character may be written as itself (`"*"` means `asterisk`, `"."` means
`full_stop`). Names are case-insensitive except single letters (`P` is shift+p). A button may
have several keys; a key may have one button. Keys the app itself uses (help, quit, focus
movement) are reserved.

Validation gives one clear line for each problem class: bad TOML, unknown button, unknown key
name, a key bound twice (after normalising: `Enter` and `enter` are the same key), a reserved key.
Errors are `UsageError` (exit 2 at the CLI edge). This module is pure apart from reading the file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from firmware_model.device import CARD_BUTTONS
from slsio.cli import UsageError
from slsio.toml import TomlError, parse_toml, read_toml

DEFAULT_KEYMAP = "default"
MAX_KEYMAP_BYTES = 64 * 1024

# Every button any emulated device has (DESIGN.md: POWER, 0-9, OK, BACK, plus device-specific:
# the legacy DSC's C, IB Key's phone buttons).
KNOWN_BUTTONS: frozenset[str] = CARD_BUTTONS | {"C", "APPROVE", "DENY", "BIOMETRIC", "NEXT"}

# Keys the app binds itself: help, quit, moving focus, leaving a dialog.
RESERVED_KEYS: frozenset[str] = frozenset(
    {"question_mark", "f1", "f2", "f3", "f6", "ctrl+q", "ctrl+c", "tab", "shift+tab", "escape"}
)

_NAMED_KEYS: frozenset[str] = frozenset(
    {
        "enter", "backspace", "space", "delete", "insert", "home", "end", "pageup", "pagedown",
        "up", "down", "left", "right", "tab", "escape",
        # keys of the numeric keypad as the kitty keyboard protocol reports them
        "decimal", "divide", "multiply", "subtract", "add", "separator", "equal", "kp_begin",
        # punctuation, as Textual names it
        "exclamation_mark", "quotation_mark", "number_sign", "dollar_sign", "percent_sign",
        "ampersand", "apostrophe", "left_parenthesis", "right_parenthesis", "asterisk", "plus",
        "comma", "minus", "full_stop", "slash", "colon", "semicolon", "less_than_sign",
        "equals_sign", "greater_than_sign", "question_mark", "at", "left_square_bracket",
        "backslash", "right_square_bracket", "circumflex_accent", "underscore", "grave_accent",
        "left_curly_bracket", "vertical_line", "right_curly_bracket", "tilde",
    }
    | {f"f{number}" for number in range(1, 25)}
)  # fmt: skip
_ALIASES: Mapping[str, str] = {
    "return": "enter",
    "esc": "escape",
    "del": "delete",
    "bs": "backspace",
}
_MODIFIERS = ("ctrl", "alt", "shift", "meta", "super")
# Textual's own short names for some punctuation (see textual.keys.KEY_NAME_REPLACEMENTS).
_UNICODE_NAME_REPLACEMENTS: Mapping[str, str] = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def normalise_key(name: str) -> str:
    """The canonical Textual key name for `name`. Raises `ValueError` if it is not a key."""
    if len(name) == 1:
        if name.isalnum() and name.isascii():
            return name
        if name == " ":
            return "space"
        try:
            unicode_name = unicodedata.name(name).lower().replace("-", "_").replace(" ", "_")
        except ValueError:
            raise ValueError(f"unknown key name {name!r}") from None
        key = _UNICODE_NAME_REPLACEMENTS.get(unicode_name, unicode_name)
        if key not in _NAMED_KEYS:
            raise ValueError(f"unknown key name {name!r}")
        return key
    parts = name.strip().split("+")
    *modifiers, base = parts
    modifiers = [modifier.lower() for modifier in modifiers]
    if any(modifier not in _MODIFIERS for modifier in modifiers) or len(set(modifiers)) != len(
        modifiers
    ):
        raise ValueError(f"unknown key name {name!r}")
    base = base if len(base) == 1 else _ALIASES.get(base.lower(), base.lower())
    if len(base) == 1:
        base = normalise_key(base)
    elif base not in _NAMED_KEYS:
        raise ValueError(f"unknown key name {name!r}")
    ordered = [modifier for modifier in _MODIFIERS if modifier in modifiers]
    return "+".join([*ordered, base])


@dataclass(frozen=True, slots=True)
class Keymap:
    """A validated keymap: `bindings` maps canonical key names to button names."""

    name: str
    bindings: Mapping[str, str]
    description: str = ""
    source: str = ""
    _by_button: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key, button in self.bindings.items():
            if normalise_key(key) != key:
                raise ValueError(f"key {key!r} is not in canonical form")
            if button not in KNOWN_BUTTONS:
                raise ValueError(f"unknown button {button!r}")
            if key in RESERVED_KEYS:
                raise ValueError(f"key {key!r} is reserved")
        frozen = MappingProxyType(dict(self.bindings))
        object.__setattr__(self, "bindings", frozen)
        by_button: dict[str, list[str]] = {}
        for key, button in frozen.items():
            by_button.setdefault(button, []).append(key)
        object.__setattr__(
            self, "_by_button", MappingProxyType({b: tuple(k) for b, k in by_button.items()})
        )

    def button_for(self, key: str) -> str | None:
        """The button `key` presses, or None when the keymap does not bind it."""
        return self.bindings.get(key)

    def keys_for(self, button: str) -> tuple[str, ...]:
        """The keys that press `button`, in file order (empty when none)."""
        return self._by_button.get(button, ())

    def shortcuts(self, buttons: Iterable[str]) -> dict[str, str]:
        """Button → the first key that presses it, for `buttons` other than digits (which are
        typed as themselves in every shipped keymap's spirit): what a faceplate shows."""
        order = {button: index for index, button in enumerate(_BUTTON_ORDER)}
        wanted = sorted(
            (b for b in set(buttons) if not b.isdigit() and self.keys_for(b)),
            key=lambda b: (order.get(b, len(order)), b),
        )
        return {button: self.keys_for(button)[0] for button in wanted}

    def rows(self) -> list[tuple[str, str]]:
        """(button, keys shown as text) for the help screen, buttons in a stable order."""
        order = {button: index for index, button in enumerate(_BUTTON_ORDER)}
        buttons = sorted(self._by_button, key=lambda b: (order.get(b, len(order)), b))
        return [(button, ", ".join(self._by_button[button])) for button in buttons]


_BUTTON_ORDER = ("POWER", *"0123456789", "OK", "BACK", "C", "APPROVE", "DENY", "BIOMETRIC", "NEXT")


def parse_keymap(text: str, *, name: str, source: str = "") -> Keymap:
    """Parse and validate keymap TOML. Raises `UsageError` with one line naming the problem."""
    try:
        document = parse_toml(text, f"keymap {source or name}")
    except TomlError as exc:
        raise UsageError(str(exc)) from None
    return keymap_from(document, name=name, source=source)


def keymap_from(document: Mapping[str, object], *, name: str, source: str = "") -> Keymap:
    """Validate a parsed keymap document. Raises `UsageError` with one line naming the problem."""
    where = source or name
    unknown = set(document) - {"name", "description", "keys"}
    if unknown:
        raise UsageError(f"keymap {where}: unknown setting {sorted(unknown)[0]!r}")
    keys = document.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise UsageError(f"keymap {where}: needs a [keys] table binding at least one key")
    title = document.get("name", name)
    description = document.get("description", "")
    if not isinstance(title, str) or not isinstance(description, str):
        raise UsageError(f"keymap {where}: name and description must be text")
    bindings: dict[str, str] = {}
    written: dict[str, str] = {}
    for raw_key, button in keys.items():
        try:
            key = normalise_key(raw_key)
        except ValueError as exc:
            raise UsageError(f"keymap {where}: {exc}") from None
        if not isinstance(button, str) or button.upper() not in KNOWN_BUTTONS:
            known = ", ".join(_BUTTON_ORDER)
            raise UsageError(
                f"keymap {where}: key {raw_key!r} → unknown button {button!r} (known: {known})"
            )
        if key in bindings:
            raise UsageError(
                f"keymap {where}: key {key!r} bound twice ({written[key]!r} and {raw_key!r})"
            )
        if key in RESERVED_KEYS:
            raise UsageError(
                f"keymap {where}: key {raw_key!r} is reserved by the app (help, quit, focus)"
            )
        bindings[key] = button.upper()
        written[key] = raw_key
    return Keymap(name=title, bindings=bindings, description=description, source=source)


def keymap_dirs() -> list[Path]:
    """Where named keymaps live: the package's data copy, then the source tree's `keymaps/`."""
    package_root = Path(__file__).resolve().parent.parent  # emulator/
    return [package_root / "keymaps", package_root.parent / "keymaps"]


def available_keymaps() -> list[str]:
    """Names of the keymaps shipped with slsemu."""
    names: set[str] = set()
    for folder in keymap_dirs():
        if folder.is_dir():
            names.update(path.stem for path in folder.glob("*.toml"))
    return sorted(names)


def load_keymap(spec: str | None = None) -> Keymap:
    """Load a keymap by NAME (a shipped one) or FILE path; None means the default keymap.

    Raises `UsageError` for a missing or invalid keymap.
    """
    spec = spec or DEFAULT_KEYMAP
    looks_like_path = spec.endswith(".toml") or "/" in spec or "\\" in spec
    candidates: Iterable[Path]
    if looks_like_path:
        candidates = [Path(spec).expanduser()]
    else:
        if not spec.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"bad keymap name {spec!r}")
        candidates = [folder / f"{spec}.toml" for folder in keymap_dirs()]
    for path in candidates:
        if path.is_file():
            try:
                document = read_toml(path, MAX_KEYMAP_BYTES)
            except TomlError as exc:
                raise UsageError(f"keymap {exc}") from None
            return keymap_from(document, name=path.stem, source=str(path))
    if looks_like_path:
        raise UsageError(f"keymap file {spec} not found")
    known = ", ".join(available_keymaps()) or "none installed"
    raise UsageError(f"unknown keymap {spec!r} (known: {known})")
