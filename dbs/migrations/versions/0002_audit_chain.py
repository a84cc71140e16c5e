"""audit chain: prev_hash and hash on audit_log, and the chain heads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINED = ["audit_log"]
GENESIS = "0" * 64


def upgrade() -> None:
    for name in CHAINED:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
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
    # One head per chain, unsealed: the service's next start chains the rows already there
    # (with the audit key, which a migration does not hold) - shared/audit_chain.py.
    now = datetime.now(UTC)
    op.bulk_insert(
        heads,
        [
            {"name": name, "last_hash": GENESIS, "anchor_hash": GENESIS, "mac": "", "updated_at": now}
            for name in CHAINED
        ],
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    for name in CHAINED:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("hash")
            batch_op.drop_column("prev_hash")
