"""Seed fidelity (issue 11, points 1-4): what DSC+ orders carry (the account holding the USD 20,
the estimated shipment date, the DSC+ a replacement replaces, the last auto-activation notice),
loss reports (`device_reports`), the notices a user sees (`notices`) and what a challenge was
issued for (`challenge_purposes`: a sharing consent, a Soft PIN change).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

_ORDER_COLUMNS = ("hold_account", "ship_estimate", "replaces", "notified")


def upgrade() -> None:
    for name in _ORDER_COLUMNS:
        op.add_column("orders", sa.Column(name, sa.Text(), nullable=True))
    op.create_table(
        "device_reports",
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reported", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint(
            "reason IN ('lost', 'stolen', 'damaged', 'inoperable')",
            name="ck_device_reports_reason",
        ),
        sa.ForeignKeyConstraint(["serial"], ["devices.serial"]),
        sa.ForeignKeyConstraint(["user"], ["users.name"]),
        sa.PrimaryKeyConstraint("serial"),
    )
    op.create_table(
        "notices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(precision=53), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user"], ["users.name"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "challenge_purposes",
        sa.Column("challenge_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("challenge_id"),
    )


def downgrade() -> None:
    op.drop_table("challenge_purposes")
    op.drop_table("notices")
    op.drop_table("device_reports")
    with op.batch_alter_table("orders") as batch:
        for name in reversed(_ORDER_COLUMNS):
            batch.drop_column(name)
