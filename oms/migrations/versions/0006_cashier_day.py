"""the cashier's day: insured shares on payments, settlements (交班/日结)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _split_existing_payments() -> None:
    """Rows from before the split: a 医保 payment then charged the whole amount to insurance, so
    it stays all insured (no ratio was known); any other payment is all the patient's own."""
    payments = sa.table(
        "payments",
        sa.column("method", sa.String),
        sa.column("amount", sa.Numeric),
        sa.column("insured_amount", sa.Numeric),
        sa.column("self_amount", sa.Numeric),
        sa.column("self_method", sa.String),
    )
    insured = payments.c.method == "insurance"
    op.execute(sa.update(payments).where(insured).values(insured_amount=payments.c.amount, self_amount=0,
                                                         self_method="cash"))  # fmt: skip
    op.execute(sa.update(payments).where(~insured).values(insured_amount=0, self_amount=payments.c.amount,
                                                          self_method=payments.c.method))  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "cashier_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("cashier", sa.String(length=64), nullable=False),
        sa.Column("cashier_name", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("cutoff", shared.types.UTCDateTime(), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("net", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cashier_settlements")),
        sa.UniqueConstraint("number", name=op.f("uq_cashier_settlements_number")),
    )
    with op.batch_alter_table("cashier_settlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cashier_settlements_business_date"), ["business_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_cashier_settlements_cashier"), ["cashier"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charge_type_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("charge_type_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("insured_ratio", sa.Numeric(precision=5, scale=2), nullable=True))
        batch_op.add_column(sa.Column("insured_amount", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column("self_amount", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column("self_method", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("settlement_id", sa.Integer(), nullable=True))
    _split_existing_payments()
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("insured_amount", existing_type=sa.Numeric(precision=12, scale=2), nullable=False)
        batch_op.alter_column("self_amount", existing_type=sa.Numeric(precision=12, scale=2), nullable=False)
        batch_op.alter_column("self_method", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_index(batch_op.f("ix_payments_settlement_id"), ["settlement_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_payments_settlement_id_cashier_settlements"),
            "cashier_settlements",
            ["settlement_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payments_settlement_id_cashier_settlements"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_payments_settlement_id"))
        batch_op.drop_column("settlement_id")
        batch_op.drop_column("self_method")
        batch_op.drop_column("self_amount")
        batch_op.drop_column("insured_amount")
        batch_op.drop_column("insured_ratio")
        batch_op.drop_column("charge_type_name")
        batch_op.drop_column("charge_type_id")
    with op.batch_alter_table("cashier_settlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cashier_settlements_cashier"))
        batch_op.drop_index(batch_op.f("ix_cashier_settlements_business_date"))
    op.drop_table("cashier_settlements")
