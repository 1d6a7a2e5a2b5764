"""Users: identity, password hash, account, opt-out mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc, insert, or_, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import users
from host_bridge.domain import Identification, OptOut, UserRecord
from host_bridge.errors import BridgeError, NotFound
from host_bridge.passwords import PasswordHash, ScryptParams
from host_bridge.repos._rows import blob, decoding, flag, integer, opt, real, text

_COLUMNS = (
    users.c.name, users.c.pw_hash, users.c.pw_salt, users.c.pw_n, users.c.pw_r, users.c.pw_p,
    users.c.date_of_birth, users.c.citizenship, users.c.residence, users.c.id_type,
    users.c.id_number, users.c.entity, users.c.account, users.c.equity_cents,
    users.c.balance_cents, users.c.opt_out, users.c.primary_user, users.c.created,
)


def insert_user(tx: Tx, user: UserRecord) -> None:
    """Add a user. Raises `BridgeError` if the name is taken."""
    ident, pw = user.identification, user.password
    if exists(tx, user.name):
        raise BridgeError(f"user {user.name!r} already exists")
    try:
        tx.conn.execute(insert(users).values(
            name=user.name, pw_hash=pw.digest, pw_salt=pw.salt, pw_n=pw.params.n,
            pw_r=pw.params.r, pw_p=pw.params.p, date_of_birth=ident.date_of_birth,
            citizenship=ident.citizenship, residence=ident.residence, id_type=ident.id_type,
            id_number=ident.id_number, entity=user.entity, account=user.account,
            equity_cents=user.equity_cents, balance_cents=user.balance_cents,
            opt_out=user.opt_out.value, primary_user=int(user.primary_user), created=user.created,
        ))
    except exc.IntegrityError:
        raise BridgeError(f"user {user.name!r} already exists") from None


def exists(tx: Tx, name: str) -> bool:
    return tx.conn.execute(select(users.c.name).where(users.c.name == name)).first() is not None


def get(tx: Tx, name: str, *, lock: bool = False) -> UserRecord:
    """The user called `name`. Raises `BridgeError` if there is none."""
    query = select(*_COLUMNS).where(users.c.name == name)
    row = tx.conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"no user {name!r}")
    return _user(row)


def names(tx: Tx) -> list[str]:
    return list(tx.conn.execute(select(users.c.name).order_by(users.c.name)).scalars())


def kin(
    tx: Tx, account: str, entities: Sequence[str], dates_of_birth: Sequence[str]
) -> list[UserRecord]:
    """The users (by name) of `account`, of one of `entities`, or born on one of
    `dates_of_birth` (as stored): the candidates for "the same entity or the same individual",
    read with one indexed-column query rather than every user."""
    clause = or_(
        users.c.account == account,
        users.c.entity.in_(list(entities)),
        users.c.date_of_birth.in_(list(dates_of_birth)),
    )
    rows = tx.conn.execute(select(*_COLUMNS).where(clause).order_by(users.c.name))
    return [_user(row) for row in rows]


def lock_account(tx: Tx, account: str) -> None:
    """Hold the account's user rows until the end of the transaction (PostgreSQL: FOR UPDATE),
    so two withdrawals on one account are serialised."""
    tx.conn.execute(
        select(users.c.name).where(users.c.account == account).with_for_update()
    ).all()


def primary_of(tx: Tx, account: str) -> str | None:
    """The account's primary user, if it has one."""
    found = tx.conn.execute(
        select(users.c.name)
        .where(users.c.account == account, users.c.primary_user == 1)
        .order_by(users.c.name)
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def set_opt_out(tx: Tx, account: str, mode: OptOut) -> None:
    """The opt-out mode is an account setting, kept on every user row of the account."""
    tx.conn.execute(update(users).where(users.c.account == account).values(opt_out=mode.value))


def _user(row: Sequence[Any]) -> UserRecord:
    with decoding(f"users row {str(row[0])[:40]!r}"):
        params = ScryptParams(integer(row[3]), integer(row[4]), integer(row[5]))
        return UserRecord(
            name=text(row[0]),
            password=PasswordHash(blob(row[1]), blob(row[2]), params),
            identification=Identification(*(opt(text, value) for value in row[6:11])),
            entity=opt(text, row[11]),
            account=text(row[12]),
            equity_cents=integer(row[13]),
            balance_cents=integer(row[14]),
            opt_out=OptOut(row[15]),
            primary_user=flag(row[16]),
            created=real(row[17]),
        )
