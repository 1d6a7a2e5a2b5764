"""The HTTP front door: API keys (stored hashed), rate-limit windows and privacyIDEA-protocol
transactions (one row per challenge a `/validate/check` password step issued).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

_REAL = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("created", _REAL, nullable=False),
        sa.Column("revoked", _REAL, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("window_start", _REAL, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_table(
        "validate_transactions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("challenge_id", sa.Text(), nullable=False),
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("expires", _REAL, nullable=False),
        sa.PrimaryKeyConstraint("id", "challenge_id"),
    )


def downgrade() -> None:
    op.drop_table("validate_transactions")
    op.drop_table("rate_limits")
    op.drop_table("api_keys")
