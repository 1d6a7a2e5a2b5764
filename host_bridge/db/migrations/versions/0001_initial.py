"""Initial schema: the store as the first, hand-written schema (`schema_version` 1) made it.

A store made by that code is adopted by stamping it with this revision
(`host_bridge.db.migrate`). Frozen: change the schema with a new revision, never here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from host_bridge.db.schema import AUDIT_GUARD_POSTGRESQL, AUDIT_GUARD_SQLITE

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.Float(precision=53), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=True),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "devices",
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("suite", sa.Text(), nullable=True),
        sa.Column("key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("counter", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pin_mode", sa.Text(), nullable=True),
        sa.Column("pin_enc", sa.LargeBinary(), nullable=True),
        sa.Column("time_step", sa.Integer(), nullable=True),
        sa.Column("drift", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("temporary", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("valid_until", sa.Float(precision=53), nullable=True),
        sa.Column("replaced_by", sa.Text(), nullable=True),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.Column("activated", sa.Float(precision=53), nullable=True),
        sa.Column("updated", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'locked', 'revoked', 'replaced')",
            name="ck_devices_status",
        ),
        sa.CheckConstraint("counter >= 0", name="ck_devices_counter"),
        sa.CheckConstraint("failures >= 0", name="ck_devices_failures"),
        sa.CheckConstraint("temporary IN (0, 1)", name="ck_devices_temporary"),
        sa.PrimaryKeyConstraint("serial"),
    )
    op.create_table(
        "holidays",
        sa.Column("date", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("date"),
    )
    op.create_table(
        "meta",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("pw_hash", sa.LargeBinary(), nullable=False),
        sa.Column("pw_salt", sa.LargeBinary(), nullable=False),
        sa.Column("pw_n", sa.Integer(), nullable=False),
        sa.Column("pw_r", sa.Integer(), nullable=False),
        sa.Column("pw_p", sa.Integer(), nullable=False),
        sa.Column("date_of_birth", sa.Text(), nullable=True),
        sa.Column("citizenship", sa.Text(), nullable=True),
        sa.Column("residence", sa.Text(), nullable=True),
        sa.Column("id_type", sa.Text(), nullable=True),
        sa.Column("id_number", sa.Text(), nullable=True),
        sa.Column("entity", sa.Text(), nullable=True),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("equity_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("opt_out", sa.Text(), server_default=sa.text("'none'"), nullable=False),
        sa.Column("primary_user", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint("opt_out IN ('none', 'partial', 'full')", name="ck_users_opt_out"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 64", name="ck_users_name"),
        sa.CheckConstraint("primary_user IN (0, 1)", name="ck_users_primary_user"),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "challenges",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.Column("expires", sa.Float(precision=53), nullable=False),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("used_at", sa.Float(precision=53), nullable=True),
        sa.CheckConstraint("used IN (0, 1)", name="ck_challenges_used"),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["devices.serial"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "device_users",
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default=sa.text("'owner'"), nullable=False),
        sa.Column("added", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'shared')", name="ck_device_users_role"),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["devices.serial"],
        ),
        sa.ForeignKeyConstraint(
            ["user"],
            ["users.name"],
        ),
        sa.PrimaryKeyConstraint("serial", "user"),
    )
    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("pin_enc", sa.LargeBinary(), nullable=True),
        sa.Column("ordered", sa.Float(precision=53), nullable=False),
        sa.Column("shipped", sa.Float(precision=53), nullable=True),
        sa.Column("auto_activate_by", sa.Float(precision=53), nullable=True),
        sa.Column("hold_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("hold_released", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "status IN ('ordered', 'shipped', 'activated', 'returned', 'lost')",
            name="ck_orders_status",
        ),
        sa.CheckConstraint("hold_cents >= 0", name="ck_orders_hold_cents"),
        sa.CheckConstraint("hold_released IN (0, 1)", name="ck_orders_hold_released"),
        sa.ForeignKeyConstraint(
            ["user"],
            ["users.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "share_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("requester", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.Column("decided", sa.Float(precision=53), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'refused', 'cancelled')",
            name="ck_share_requests_status",
        ),
        sa.ForeignKeyConstraint(
            ["owner"],
            ["users.name"],
        ),
        sa.ForeignKeyConstraint(
            ["requester"],
            ["users.name"],
        ),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["devices.serial"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "temp_access",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=True),
        sa.Column("code_salt", sa.LargeBinary(), nullable=True),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("issued", sa.Float(precision=53), nullable=False),
        sa.Column("full_until", sa.Float(precision=53), nullable=False),
        sa.Column("portal_until", sa.Float(precision=53), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.CheckConstraint("kind IN ('temporary_code', 'online_scc')", name="ck_temp_access_kind"),
        sa.CheckConstraint(
            "status IN ('active', 'expired', 'revoked', 'replaced')", name="ck_temp_access_status"
        ),
        sa.ForeignKeyConstraint(
            ["user"],
            ["users.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "withdrawals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_withdrawals_amount_cents"),
        sa.ForeignKeyConstraint(
            ["user"],
            ["users.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("users_account", "users", ["account"], unique=False)
    op.create_index("users_entity", "users", ["entity"], unique=False)
    op.create_index(
        "challenges_activation",
        "challenges",
        ["serial", "created"],
        unique=False,
        sqlite_where=sa.text("kind = 'activation'"),
        postgresql_where=sa.text("kind = 'activation'"),
    )
    op.create_index(
        "challenges_sms",
        "challenges",
        ["serial", "created"],
        unique=False,
        sqlite_where=sa.text("kind = 'sms'"),
        postgresql_where=sa.text("kind = 'sms'"),
    )
    op.create_index("device_users_user", "device_users", ["user"], unique=False)
    op.create_index("temp_access_user", "temp_access", ["user", "issued"], unique=False)
    op.create_index(
        "withdrawals_account", "withdrawals", ["account", "business_date"], unique=False
    )

    guard = AUDIT_GUARD_SQLITE if op.get_bind().dialect.name == "sqlite" else AUDIT_GUARD_POSTGRESQL
    for statement in guard:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the initial schema is not downgraded")
