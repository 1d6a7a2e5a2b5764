"""The one TOML reader: keymaps, `bridge.toml`, `policies.toml` all come through here.

Bounded like every other input: at most `limit` bytes, a regular file only (a FIFO is refused,
never waited on), UTF-8, and nesting at most `firmware_model.bounded.MAX_DEPTH` levels — tomllib
meets `a = [[[[…` with a `RecursionError` and a 5,000-digit integer with a bare `ValueError`;
here every problem is one `TomlError` whose message names the file.
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

from firmware_model.bounded import MAX_DEPTH, check_depth
from slsio.files import read_private_text, read_text

MAX_TOML_BYTES = 64 * 1024


class TomlError(ValueError):
    """A TOML file or text that cannot be used; the message says why (and names the file)."""


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML `text`; `TomlError` ("<where>: bad TOML: …") for anything out of bounds."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(f"{where}: bad TOML: {exc}") from None
    except RecursionError:
        raise TomlError(f"{where}: bad TOML: nested more than {MAX_DEPTH} levels") from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise TomlError(f"{where}: bad TOML: a number with too many digits") from None
    try:
        check_depth(document)
    except ValueError as exc:
        raise TomlError(f"{where}: bad TOML: {exc}") from None
    return document


def read_toml(
    path: str | os.PathLike[str], limit: int = MAX_TOML_BYTES, *, private: bool = False
) -> dict[str, Any]:
    """Read and parse a TOML file. `FileNotFoundError` if it is missing (callers decide whether
    that means "use the defaults"), other `OSError`s as they come, `TomlError` for the rest.
    `private`: the file holds secrets, so one readable by others is refused
    (`slsio.files.read_private`'s `PermissionError`)."""
    try:
        text = read_private_text(path, limit) if private else read_text(path, limit)
    except ValueError as exc:
        raise TomlError(str(exc)) from None
    return parse_toml(text, os.fspath(path))
