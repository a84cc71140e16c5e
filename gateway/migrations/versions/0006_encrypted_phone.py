"""users' phones encrypted at rest, with a blind index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:00:00.000000

Existing phones are encrypted in place with the gateway's field keys (shared/fieldcrypt.py,
given to the migration by shared.migrations); the downgrade decrypts them again.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from shared.fieldcrypt import Keyring, is_sealed
from shared.migrations import data_keyring

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE = "users.phone"
PLAIN, SEALED = 20, 164
users = sa.table(
    "users", sa.column("id", sa.Integer), sa.column("phone", sa.String), sa.column("phone_index", sa.String)
)


def _rewrite(change: Callable[[str], dict[str, str]]) -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(users.c.id, users.c.phone).where(users.c.phone.is_not(None))).all():
        values = change(row.phone) if row.phone else {}
        if values:
            connection.execute(sa.update(users).where(users.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(PLAIN), type_=sa.String(SEALED), existing_nullable=True)
        batch_op.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_users_phone_index", ["phone_index"], unique=False)

    keyring: Keyring | None = None

    def encrypt(phone: str) -> dict[str, str]:
        nonlocal keyring
        if is_sealed(phone):
            return {}
        # Loaded only when there is something to encrypt: an empty database needs no keys.
        keyring = keyring or data_keyring()
        return {"phone": keyring.encrypt(phone, PLACE), "phone_index": keyring.index("phone", phone)}

    _rewrite(encrypt)


def downgrade() -> None:
    keyring: Keyring | None = None

    def decrypt(phone: str) -> dict[str, str]:
        nonlocal keyring
        if not is_sealed(phone):
            return {}
        keyring = keyring or data_keyring()
        return {"phone": keyring.decrypt(phone, PLACE)}

    _rewrite(decrypt)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_phone_index")
        batch_op.drop_column("phone_index")
        batch_op.alter_column("phone", existing_type=sa.String(SEALED), type_=sa.String(PLAIN), existing_nullable=True)
