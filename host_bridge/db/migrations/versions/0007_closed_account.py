"""A closed account keeps the USD 20 hold (issue 11 point 4, KB1943 note 2: "if you close your
account without returning it to IBKR, we will use that amount"): `closed` joins the reasons of
`device_reports` and the states of `orders`. And an index on `users.date_of_birth`: the accounts
that may hold the USD 20 are found with one indexed query (same account, entity or date of birth)
instead of reading every user.

A CHECK constraint cannot be altered in place on SQLite, so there both tables are rebuilt in
batch mode (copy, drop, rename: the rows are kept) from their full definition below, not from
reflection: a store adopted from the hand-written schema has *unnamed* CHECKs, which reflection
would silently leave out. PostgreSQL (always made by Alembic, named constraints) drops and adds
the constraint.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None

_REASONS = "'lost', 'stolen', 'damaged', 'inoperable'"
_STATES = "'ordered', 'shipped', 'activated', 'returned', 'lost'"
_REAL = sa.Float(precision=53)


def _tables(reasons: str, states: str) -> tuple[sa.Table, sa.Table]:
    """`orders` and `device_reports` as of this revision, with the given CHECK value lists."""
    md = sa.MetaData()
    sa.Table("users", md, sa.Column("name", sa.Text(), primary_key=True))
    sa.Table("devices", md, sa.Column("serial", sa.Text(), primary_key=True))
    orders = sa.Table(
        "orders", md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("user", sa.Text(), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text()),
        sa.Column("pin_enc", sa.LargeBinary()),
        sa.Column("ordered", _REAL, nullable=False),
        sa.Column("shipped", _REAL),
        sa.Column("auto_activate_by", _REAL),
        sa.Column("hold_cents", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("hold_released", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("hold_account", sa.Text()),
        sa.Column("ship_estimate", sa.Text()),
        sa.Column("replaces", sa.Text()),
        sa.Column("notified", sa.Text()),
        sa.CheckConstraint(f"status IN ({states})", name="ck_orders_status"),
        sa.CheckConstraint("hold_cents >= 0", name="ck_orders_hold_cents"),
        sa.CheckConstraint("hold_released IN (0, 1)", name="ck_orders_hold_released"),
        sqlite_autoincrement=True,
    )
    reports = sa.Table(
        "device_reports", md,
        sa.Column("serial", sa.Text(), sa.ForeignKey("devices.serial"), primary_key=True),
        sa.Column("user", sa.Text(), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reported", _REAL, nullable=False),
        sa.CheckConstraint(f"reason IN ({reasons})", name="ck_device_reports_reason"),
    )
    return orders, reports


def _recheck(reasons: str, states: str) -> None:
    orders, reports = _tables(reasons, states)
    if op.get_bind().dialect.name == "sqlite":
        for table in (reports, orders):
            with op.batch_alter_table(
                table.name, copy_from=table, recreate="always",
                table_kwargs={"sqlite_autoincrement": True} if table is orders else {},
            ):
                pass  # the rebuilt table is `copy_from`: the new CHECK, every row copied
        return
    for table, name, column, values in (
        (reports, "ck_device_reports_reason", "reason", reasons),
        (orders, "ck_orders_status", "status", states),
    ):
        op.drop_constraint(name, table.name, type_="check")
        op.create_check_constraint(name, table.name, f"{column} IN ({values})")


def upgrade() -> None:
    _recheck(f"{_REASONS}, 'closed'", f"{_STATES}, 'closed'")
    op.create_index("users_date_of_birth", "users", ["date_of_birth"])


def downgrade() -> None:  # refused by the CHECK while a `closed` row is there (nothing changes)
    op.drop_index("users_date_of_birth", table_name="users")
    _recheck(_REASONS, _STATES)
