"""Secret options in tests, the way the console scripts take them: never on argv.

`env_secret("--pin", "1234")` puts the value in this process's environment (inherited by the
subprocesses it starts) under a name derived from the value, and returns
`("--pin-env", NAME)` to splice into an argv: `[..., *env_secret("--pin", "1234"), ...]`. The same
value always gets the same name, so calling it again changes nothing.
"""

from __future__ import annotations

import hashlib
import os


def env_secret(flag: str, value: str) -> tuple[str, str]:
    """`flag`'s `-env` form for `value` (see the module docstring)."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    name = f"SLSTEST_SECRET_{digest[:16]}"
    os.environ[name] = value
    return (f"{flag}-env", name)
