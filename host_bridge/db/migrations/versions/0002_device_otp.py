"""Devices keep the OATH OTP they show (`otp`, e.g. `TOTP-SHA256-8`; NULL: the model's own).

A PSKC import brings HOTP and TOTP tokens of any RFC parameters; the legacy DSC's own passcode
(TOTP-SHA1, 6 digits) stays NULL, so every existing row keeps its meaning.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("otp", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("devices", "otp")
