"""line fates: each line is refunded or dispensed, never both

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_fates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("fate", sa.String(length=16), nullable=False),
        sa.Column("claim", sa.String(length=100), nullable=True),
        sa.Column("at", shared.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_fates")),
        sa.UniqueConstraint("source", "order_id", "line_id", name=op.f("uq_line_fates_source_order_id_line_id")),
    )
    with op.batch_alter_table("line_fates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_fates_claim"), ["claim"], unique=False)
    # What earlier versions decided is a fate too: dispensed orders' live lines, and cancelled lines.
    op.execute(
        "INSERT INTO line_fates (source, order_id, line_id, fate, claim, at) "
        "SELECT o.source, o.order_id, l.line_id, "
        "CASE WHEN l.cancelled THEN 'refunded' ELSE 'dispensed' END, NULL, o.updated_at "
        "FROM dispensing_lines l JOIN dispensing_orders o ON o.id = l.dispensing_order_id "
        "WHERE l.cancelled OR o.state = 'dispensed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("line_fates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_fates_claim"))
    op.drop_table("line_fates")
