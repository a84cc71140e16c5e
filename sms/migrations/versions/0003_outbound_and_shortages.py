"""outbound orders (出库单) with the batches they took, and shortage requests (报缺) received from pms

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:05:40.828907
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shortage_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pms_request_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("received_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("fulfilled_at", shared.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_requests")),
        sa.UniqueConstraint("pms_request_id", name=op.f("uq_shortage_requests_pms_request_id")),
    )
    with op.batch_alter_table("shortage_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_requests_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_requests_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_requests_state"), ["state"], unique=False)

    op.create_table(
        "outbound_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_name", sa.String(length=50), nullable=False),
        sa.Column("shortage_request_id", sa.Integer(), nullable=True),
        sa.Column("pms_shortage_request_id", sa.Integer(), nullable=True),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["shortage_request_id"],
            ["shortage_requests.id"],
            name=op.f("fk_outbound_orders_shortage_request_id_shortage_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_outbound_orders_number")),
    )
    with op.batch_alter_table("outbound_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_orders_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbound_orders_shortage_request_id"), ["shortage_request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbound_orders_warehouse_id"), ["warehouse_id"], unique=False)

    op.create_table(
        "shortage_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("pms_line_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("remark", sa.String(length=200), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["shortage_requests.id"], name=op.f("fk_shortage_lines_request_id_shortage_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_lines")),
    )
    with op.batch_alter_table("shortage_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_lines_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_lines_request_id"), ["request_id"], unique=False)

    op.create_table(
        "outbound_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("drug_code", sa.String(length=30), nullable=False),
        sa.Column("drug_name", sa.String(length=100), nullable=False),
        sa.Column("drug_spec", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("chosen_batch_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["outbound_orders.id"], name=op.f("fk_outbound_lines_order_id_outbound_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_lines")),
    )
    with op.batch_alter_table("outbound_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_lines_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "outbound_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("purchase_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["outbound_lines.id"], name=op.f("fk_outbound_batches_line_id_outbound_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_batches")),
    )
    with op.batch_alter_table("outbound_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_batches_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_batches_batch_no"), ["batch_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_batches_line_id"), ["line_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_batches_line_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_batches_batch_no"))
        batch_op.drop_index(batch_op.f("ix_outbound_batches_batch_id"))

    op.drop_table("outbound_batches")
    with op.batch_alter_table("outbound_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_lines_drug_id"))

    op.drop_table("outbound_lines")
    with op.batch_alter_table("shortage_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_lines_request_id"))
        batch_op.drop_index(batch_op.f("ix_shortage_lines_drug_id"))

    op.drop_table("shortage_lines")
    with op.batch_alter_table("outbound_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_orders_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_orders_shortage_request_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_orders_created_at"))

    op.drop_table("outbound_orders")
    with op.batch_alter_table("shortage_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_requests_state"))
        batch_op.drop_index(batch_op.f("ix_shortage_requests_received_at"))
        batch_op.drop_index(batch_op.f("ix_shortage_requests_number"))

    op.drop_table("shortage_requests")
