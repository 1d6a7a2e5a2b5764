"""The host bridge's errors. Each has one meaning; the CLI edge maps them to exit codes.

Refused codes are *not* errors: `Bridge.verify` returns a `Verdict`. These are for input that is
wrong (unknown user, duplicate serial, malformed PSKC file) or a store that cannot be used
(missing/wrong master key, schema newer than this build). Messages never carry a secret.
"""

from __future__ import annotations

from firmware_model.errors import SlsError


class BridgeError(SlsError, ValueError):
    """Bad input to the bridge (unknown user or device, duplicate, invalid value): exit 2."""


class StoreError(SlsError):
    """The store or its master key cannot be used (missing, wrong, damaged, too new): exit 2."""


class StoreEmpty(StoreError):
    """The store a command would use holds no schema: `slsbridge init` was never run on it, or
    `SLSEMU_HOME` (`SLSEMU_STORE`) is not the one used before. Only `init` creates a store; every
    other command stops here with this one line (exit 2) and creates nothing."""

    def __init__(self, store: str) -> None:
        self.store = store
        super().__init__(
            f"the store {store} is empty (not initialised): run `slsbridge init` first, or set "
            "SLSEMU_HOME to the data folder used before"
        )


class PskcError(BridgeError):
    """A PSKC file is malformed or unsupported; nothing was imported."""


class NotUsable(BridgeError):
    """A well-formed request the bridge refuses: the device is locked, not active or expired.

    A negative answer (exit 1), not bad input.
    """

    exit_code = 1


class Refused(SlsError):
    """A policy refused an action (a Temporary Code, an Online SCC, an order): a negative answer."""

    exit_code = 1


class NotFound(BridgeError):
    """Bad input naming something the store does not have: an unknown user or device."""


class Locked(Refused):
    """A secret's failure budget is spent: refused without comparing, until an admin unlocks it."""


STORE_CHECK_HINT = "; run `slsbridge store check`"
"""What a damaged store's message points to."""


class StoreDamaged(StoreError):
    """A value read from the store is none the bridge writes: a damaged page or row, a row edited
    past the schema's constraints, a missing schema revision (exit 2, one line)."""

    def __init__(self, what: str, store: str | None = None) -> None:
        self.what, self.store = what, store
        where = f" {store}" if store else ""
        super().__init__(f"the store{where} is damaged ({what}){STORE_CHECK_HINT}")
