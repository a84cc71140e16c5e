"""doctor hours: the times of the morning and afternoon shifts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types  # noqa: F401

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing doctors get the legacy hospital's hours (the monolith's defaults).
HOURS = (("am_start", "08:00"), ("am_end", "12:00"), ("pm_start", "14:00"), ("pm_end", "18:00"))


def upgrade() -> None:
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        for name, default in HOURS:
            batch_op.add_column(sa.Column(name, sa.String(length=5), nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        for name, _ in reversed(HOURS):
            batch_op.drop_column(name)
