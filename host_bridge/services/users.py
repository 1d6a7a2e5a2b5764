"""Users: creation, lookup, password checks."""

from __future__ import annotations

from host_bridge.domain import Guessed, Identification, OptOut, UserRecord
from host_bridge.errors import BridgeError
from host_bridge.inputs import check_identification, check_name
from host_bridge.passwords import PasswordHash, check_password, hash_password
from host_bridge.repos import users
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.guesses import GuessService


class UserService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.guesses = GuessService(ctx)
        self._unknown = PasswordHash(b"\0" * 32, b"\0" * 16, ctx.config.scrypt)

    @unit_of_work
    def add_user(
        self,
        name: str,
        password: str,
        *,
        identification: Identification | None = None,
        entity: str | None = None,
        account: str | None = None,
        equity_cents: int = 0,
        balance_cents: int = 0,
        primary: bool = False,
    ) -> UserRecord:
        """Create a user. The account defaults to one of its own, named after the user."""
        check_name(name)
        if account is not None:
            check_name(account, "account")
        if entity is not None:
            check_name(entity, "entity")
        if equity_cents < 0 or balance_cents < 0:
            raise BridgeError("equity and balance must not be negative")
        check_identification(identification or Identification())
        try:
            hashed = hash_password(password, self.ctx.config.scrypt)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        record = UserRecord(
            name=name, password=hashed, identification=identification or Identification(),
            entity=entity, account=account or name, equity_cents=equity_cents,
            balance_cents=balance_cents, opt_out=OptOut.NONE, primary_user=primary,
            created=self.ctx.clock(),
        )
        with self.ctx.db.transaction() as tx:
            users.insert_user(tx, record)
            self.ctx.audit("user.add", "ok", user=name, primary=primary)
        return record

    def user(self, name: str) -> UserRecord:
        """The user `name` (`BridgeError` if unknown)."""
        with self.ctx.db.read() as tx:
            return users.get(tx, name)

    def check_password(self, name: str, password: str, *, caller: str | None = None) -> bool:
        """Whether `password` is `name`'s password. Unknown users cost the same time as known.
        `caller` (a network front door's API key or client) is named in the audit row.

        Charged to `name`'s password budget before it is compared (`GuessService`): `Locked`
        (exit 1) once `lockout_after` wrong passwords in a row spent it."""

        def compare() -> bool:
            try:
                stored = self.user(name).password
            except BridgeError:
                check_password(self._unknown, password)
                return False
            return check_password(stored, password)

        def record(ok: bool | None, failures: int) -> None:
            outcome = "ok" if ok else "refused"
            extra = {"reason": "locked"} if ok is None else {}
            if caller:
                extra["caller"] = caller
            self.ctx.audit("login.password", outcome, user=name, failures=failures, **extra)

        return self.guesses.guess(Guessed.PASSWORD, name, compare, record)
