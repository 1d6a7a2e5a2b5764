"""Failure budgets for the secrets a person types (issue 9): `guess_budget`, one row per user and
secret (password, Temporary Code, IB Key activation token) once it was first guessed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guess_budget",
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint(
            "secret IN ('password', 'temporary_code', 'activation_token')",
            name="ck_guess_budget_secret",
        ),
        sa.CheckConstraint("failures >= 0", name="ck_guess_budget_failures"),
        sa.ForeignKeyConstraint(["user"], ["users.name"]),
        sa.PrimaryKeyConstraint("secret", "user"),
    )


def downgrade() -> None:
    op.drop_table("guess_budget")
