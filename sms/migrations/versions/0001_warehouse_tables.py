"""warehouse tables

Revision ID: 0001
Revises:
Create Date: 2026-11-28 18:02:45.153642
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINED = ["audit_log"]
GENESIS = "0" * 64


def upgrade() -> None:
    heads = op.create_table(
        "audit_chain",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_id", sa.BigInteger(), nullable=True),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", shared.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_chain")),
    )
    # One head per chain before the first writers race to lock them (shared/audit_chain.py).
    now = datetime.now(UTC)
    op.bulk_insert(
        heads,
        [
            {"name": name, "last_hash": GENESIS, "anchor_hash": GENESIS, "mac": "", "updated_at": now}
            for name in CHAINED
        ],
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_request_id"), ["request_id"], unique=False)

    op.create_table(
        "change_feed",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_feed")),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("at", shared.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_at"), ["at"], unique=False)

    op.create_table(
        "inbound_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_name", sa.String(length=50), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("supplier_name", sa.String(length=100), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=False),
        sa.Column("handler_name", sa.String(length=50), nullable=False),
        sa.Column("remark", sa.String(length=500), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("reversed_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("posted_at", shared.types.UTCDateTime(), nullable=True),
        sa.Column("posted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["inbound_orders.id"], name=op.f("fk_inbound_orders_reverses_id_inbound_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_inbound_orders_number")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_inbound_orders_reverses_id")),
    )
    with op.batch_alter_table("inbound_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_orders_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_orders_posted_at"), ["posted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_orders_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_orders_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_orders_warehouse_id"), ["warehouse_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", shared.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("resolved_at", shared.types.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)

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
        "stock_thresholds",
        sa.Column("drug_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("drug_id", name=op.f("pk_stock_thresholds")),
    )
    op.create_table(
        "inbound_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("drug_id", sa.Integer(), nullable=False),
        sa.Column("drug_code", sa.String(length=30), nullable=False),
        sa.Column("drug_name", sa.String(length=100), nullable=False),
        sa.Column("drug_spec", sa.String(length=100), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("purchase_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["inbound_orders.id"], name=op.f("fk_inbound_lines_order_id_inbound_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_lines")),
    )
    with op.batch_alter_table("inbound_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_lines_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_lines_drug_id"), ["drug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_lines_order_id"), ["order_id"], unique=False)

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


def downgrade() -> None:
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movements_reference"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_movement"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_drug_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_batch_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_at"))

    op.drop_table("stock_movements")
    with op.batch_alter_table("inbound_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_lines_drug_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_lines_batch_id"))

    op.drop_table("inbound_lines")
    op.drop_table("stock_thresholds")
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_batches_fefo")

    op.drop_table("stock_batches")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))

    op.drop_table("outbox")
    with op.batch_alter_table("inbound_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_orders_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_orders_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_orders_state"))
        batch_op.drop_index(batch_op.f("ix_inbound_orders_posted_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_orders_created_at"))

    op.drop_table("inbound_orders")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("counters")
    op.drop_table("change_feed")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_request_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_entity"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_chain")
