"""Bounds on structured data from outside (JSON, TOML): nesting depth and number size.

Python's parsers meet hostile input with errors that are not their documented ones: a
100,000-deep array is a `RecursionError`, an integer of more than 4,300 digits a plain
`ValueError` from `int()`. Here both become one `ValueError` with a clear message, and the depth
of what does parse is bounded, so code that walks a value recursively (checksums, `summary()`,
model checks) can never run out of stack. Pure: image decoding (`firmware_model.image`),
`--option` values (`emulator`) and the one TOML reader (`slsio.toml`) all use it.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
"""How deeply lists and objects may nest in anything read from outside (images, options, TOML).
Nothing the project writes needs more than 6 levels."""


def depth(value: Any) -> int:
    """How deeply lists, tuples and dicts nest in `value` (a scalar: 0, `[]`: 1). Iterative."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        pending.extend((child, level) for child in children)
    return deepest


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """`ValueError` if `value` nests more than `limit` levels deep."""
    if depth(value) > limit:
        raise ValueError(f"nested too deeply (more than {limit} levels)")


def loads_json(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """`json.loads`, with every failure one `ValueError` whose message says what is wrong.

    `json.JSONDecodeError` (a `ValueError`) for text that is not JSON, so a caller can tell
    "not JSON at all" from "JSON, but out of bounds".
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"nested too deeply (more than {limit} levels)") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise ValueError("a number with too many digits") from None
    check_depth(value, limit)
    return value
