"""Secret options in tests, the way the console scripts take them: never on argv.

`env_secret("--pin", "1234")` puts the value in this process's environment (inherited by the
subprocesses it starts) under a name derived from the value, and returns
`("--pin-env", NAME)` to splice into an argv: `[..., *env_secret("--pin", "1234"), ...]`. The same
value always gets the same name, so calling it again changes nothing.

`shown(secret, text)`: whether `secret` appears in `text` as a token of its own. A plain
substring test flakes on output that carries random digits (timestamps, ids, serials,
challenges): an audit row's `"at": 1796318374.0624683` contains the PIN "2468".
"""

from __future__ import annotations

import hashlib
import os
import re


def env_secret(flag: str, value: str) -> tuple[str, str]:
    """`flag`'s `-env` form for `value` (see the module docstring)."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    name = f"SLSTEST_SECRET_{digest[:16]}"
    os.environ[name] = value
    return (f"{flag}-env", name)


def shown(secret: str, text: str) -> bool:
    """Whether `secret` appears in `text` with no letter or digit right before or after it
    (a leaked PIN or code is printed as a value of its own; see the module docstring)."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None
