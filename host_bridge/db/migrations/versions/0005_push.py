"""IB Key push on the host: one row per push (its OCRA challenge lives in `challenges`).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_REAL = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "pushes",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("challenge_id", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created", _REAL, nullable=False),
        sa.Column("expires", _REAL, nullable=False),
        sa.Column("answered", _REAL, nullable=True),
        sa.Column("claimed", _REAL, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired', 'failed')",
            name="ck_pushes_status",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("challenge_id"),
    )


def downgrade() -> None:
    op.drop_table("pushes")
