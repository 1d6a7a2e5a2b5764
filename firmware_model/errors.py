"""The project's few errors, each with one meaning.

Library code raises these; only the edges (CLI, serial server, TUI) turn them into exit codes,
`ERR` lines or messages. Every one is safe to show: messages never carry a secret.
"""

from __future__ import annotations


class SlsError(Exception):
    """Base of every documented error. `exit_code` is what the CLI edge exits with."""

    exit_code: int = 2


class SuiteError(SlsError, ValueError):
    """An OCRA suite is malformed, or an input does not fit the suite."""


class UnknownButton(SlsError, ValueError):
    """A button the device does not have."""


class ImageError(SlsError, ValueError):
    """A device image is damaged, foreign, of an unsupported version, or inconsistent."""


class ScriptError(SlsError, ValueError):
    """A keypress script does not parse. `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class InvalidToken(SlsError):
    """A code was checked and is wrong (a negative answer, not bad input)."""

    exit_code = 1
