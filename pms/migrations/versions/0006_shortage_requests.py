"""shortage requests (报缺): requests and their lines

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 18:03:56.160056
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shortage_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message_key", sa.String(length=100), nullable=False),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", shared.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("fulfilled_at", shared.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_shortage_requests_number")),
    )
    with op.batch_alter_table("shortage_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_requests_state"), ["state"], unique=False)

    op.create_table(
        "shortage_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("remark", sa.String(length=200), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["shortage_requests.id"], name=op.f("fk_shortage_lines_request_id_shortage_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_lines")),
    )
    with op.batch_alter_table("shortage_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_lines_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_lines_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shortage_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_lines_request_id"))
        batch_op.drop_index(batch_op.f("ix_shortage_lines_drug_id"))

    op.drop_table("shortage_lines")
    with op.batch_alter_table("shortage_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_requests_state"))
        batch_op.drop_index(batch_op.f("ix_shortage_requests_created_at"))

    op.drop_table("shortage_requests")
