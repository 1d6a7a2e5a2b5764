"""Keypress scripts: a small line format, a pure parser and a pure runner.

Theory of operation: `parse_script(text)` turns the text into a `Script` — a tuple of frozen
statements, each remembering its 1-based line number — or raises `ScriptError(line, message)` for
the first bad line. Nothing is run while parsing, so a bad script changes nothing.

`run_script(script, target, variables)` walks the statements in order against a `ScriptTarget`
(in-process device session, serial line, or TUI: the same file runs on all three). Before the first
key press it checks that every `${NAME}` is given (from `variables`) or captured by an earlier
line, so a forgotten `--set` is bad input that touches nothing. A failed `expect` is recorded as a
`Failure` and stops the run (later lines would type a challenge at a PIN prompt and burn PIN
tries); `keep_going=True` runs on to show every mismatch. An error from the target (an unknown
button, a device that cannot type) always stops the run with `ScriptError` naming the line.

Format, one statement a line (`#` starts a comment, blank lines are ignored):

    press BUTTON            press and release a button (POWER, 0-9, OK, BACK, ...)
    hold BUTTON SECONDS     hold a button down for a while
    type DIGITS             press each digit in turn (`type ${CHALLENGE}` types a variable)
    wait SECONDS            let the device clock run (suffix s, m, h or d: `wait 21d`)
    expect "TEXT"           the display is exactly TEXT (`expect ""`: the display is blank)
    expect /REGEX/          the display fully matches REGEX (`\\/` for a slash)
    capture NAME            remember the display as NAME (printed as NAME=VALUE; usable as ${NAME})
    capture NAME /REGEX/    remember the part of the display REGEX's first group matches (or the
                            whole match if it has no group); no match (or a first group that
                            took no part in it) is a failed expectation

`${NAME}` may appear in `type` and in `expect`; `$$` is a literal `$`. In a regex, a variable
matches its value literally. Strings know two escapes: `\\"` and `\\\\`.
"""

from __future__ import annotations

from firmware_model.script_parser import (
    parse_line,
    parse_script,
)
from firmware_model.script_runner import (
    Failure,
    ScriptResult,
    ScriptTarget,
    Step,
    format_step,
    quote,
    run_script,
)
from firmware_model.script_statements import (
    BUTTON_RE,
    KEYWORDS,
    MAX_BUTTON_CHARS,
    MAX_LINE_CHARS,
    MAX_NAME_CHARS,
    MAX_SECONDS,
    NAME_RE,
    Capture,
    ExpectRegex,
    ExpectText,
    Hold,
    Press,
    Ref,
    Script,
    Statement,
    Template,
    Type,
    Wait,
    describe,
)

__all__ = [
    "BUTTON_RE",
    "KEYWORDS",
    "MAX_BUTTON_CHARS",
    "MAX_LINE_CHARS",
    "MAX_NAME_CHARS",
    "MAX_SECONDS",
    "NAME_RE",
    "Capture",
    "ExpectRegex",
    "ExpectText",
    "Failure",
    "Hold",
    "Press",
    "Ref",
    "Script",
    "ScriptResult",
    "ScriptTarget",
    "Statement",
    "Step",
    "Template",
    "Type",
    "Wait",
    "describe",
    "format_step",
    "parse_line",
    "parse_script",
    "quote",
    "run_script",
]
