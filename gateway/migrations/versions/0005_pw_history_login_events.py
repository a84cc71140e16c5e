"""login log events (logout, session expiry, changed passwords); a history of former passwords

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("replaced_at", shared.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_history_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
    )
    with op.batch_alter_table("password_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_history_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("login_log", schema=None) as batch_op:
        # Every row logged before this migration was a login attempt.
        batch_op.add_column(sa.Column("event", sa.String(length=24), nullable=False, server_default="login"))
        batch_op.create_index(batch_op.f("ix_login_log_event"), ["event"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_log_event"))
        batch_op.drop_column("event")
    with op.batch_alter_table("password_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_history_user_id"))
    op.drop_table("password_history")
