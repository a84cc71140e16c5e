"""pharmacy stock: batches and their ledger (shared/stock.py), deliveries, the batches a line took

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:00:37
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_drugs",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_drugs")),
    )
    with op.batch_alter_table("batch_drugs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_drugs_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_drugs_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_drugs_name"), ["name"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("outbound_number", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("shortage_request_id", sa.Integer(), nullable=True),
        sa.Column("received_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("number", name=op.f("uq_deliveries_number")),
        sa.UniqueConstraint("outbound_id", name=op.f("uq_deliveries_outbound_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_outbound_number"), ["outbound_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_received_at"), ["received_at"], unique=False)

    op.create_table(
        "stock_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("purchase_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_stock_batches_quantity"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_batches")),
        sa.UniqueConstraint("store_id", "drug_id", "batch_no", name="uq_stock_batches_store_drug_batch"),
    )
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.create_index("ix_stock_batches_fefo", ["store_id", "drug_id", "expiry_date"], unique=False)

    op.create_table(
        "delivery_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("purchase_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_delivery_lines_delivery_id_deliveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_lines")),
    )
    with op.batch_alter_table("delivery_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_lines_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_lines_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("movement", sa.String(length=24), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("at", shared.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["stock_batches.id"], name=op.f("fk_stock_movements_batch_id_stock_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_movement"), ["movement"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_reference"), ["reference"], unique=False)

    op.create_table(
        "dispensing_line_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispensing_line_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispensing_line_id"],
            ["dispensing_lines.id"],
            name=op.f("fk_dispensing_line_batches_dispensing_line_id_dispensing_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispensing_line_batches")),
    )
    with op.batch_alter_table("dispensing_line_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispensing_line_batches_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dispensing_line_batches_dispensing_line_id"), ["dispensing_line_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dispensing_line_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispensing_line_batches_dispensing_line_id"))
        batch_op.drop_index(batch_op.f("ix_dispensing_line_batches_batch_id"))

    op.drop_table("dispensing_line_batches")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movements_reference"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_movement"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_drug_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_batch_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_at"))

    op.drop_table("stock_movements")
    with op.batch_alter_table("delivery_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_lines_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_lines_batch_id"))

    op.drop_table("delivery_lines")
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_batches_fefo")

    op.drop_table("stock_batches")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_received_at"))
        batch_op.drop_index(batch_op.f("ix_deliveries_outbound_number"))

    op.drop_table("deliveries")
    with op.batch_alter_table("batch_drugs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_drugs_name"))
        batch_op.drop_index(batch_op.f("ix_batch_drugs_drug_id"))
        batch_op.drop_index(batch_op.f("ix_batch_drugs_code"))

    op.drop_table("batch_drugs")
