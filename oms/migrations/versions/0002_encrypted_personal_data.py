"""patients' ID cards and phones encrypted at rest, with blind indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:00:00.000000

Existing numbers are encrypted in place with the service's field keys (shared/fieldcrypt.py,
given to the migration by shared.migrations); the downgrade decrypts them again.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from shared.fieldcrypt import Keyring, is_sealed
from shared.migrations import data_keyring

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# column: (where its ciphertext belongs, blind index kind, plain length, encrypted length)
COLUMNS = {
    "id_card": ("patients.id_card", "id_card", 18, 156),
    "phone": ("patients.phone", "phone", 20, 164),
}
patients = sa.table(
    "patients",
    sa.column("id", sa.Integer),
    *(sa.column(name, sa.String) for name in COLUMNS),
    *(sa.column(f"{name}_index", sa.String) for name in COLUMNS),
)


def _rewrite(change: Callable[[str, str], dict[str, str]]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(patients.c.id, *(patients.c[n] for n in COLUMNS))).all()
    for row in rows:
        values = {}
        for name in COLUMNS:
            value = row._mapping[name]
            if value:
                values.update(change(name, value))
        if values:
            connection.execute(sa.update(patients).where(patients.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_phone")
        batch_op.drop_constraint("uq_patients_id_card", type_="unique")
        for name, (_, _, plain, sealed) in COLUMNS.items():
            batch_op.alter_column(name, existing_type=sa.String(plain), type_=sa.String(sealed), existing_nullable=True)
            batch_op.add_column(sa.Column(f"{name}_index", sa.String(length=64), nullable=True))

    keyring: Keyring | None = None

    def encrypt(name: str, value: str) -> dict[str, str]:
        nonlocal keyring
        if is_sealed(value):
            return {}
        # Loaded only when there is something to encrypt: an empty database needs no keys.
        keyring = keyring or data_keyring()
        place, kind, _, _ = COLUMNS[name]
        return {name: keyring.encrypt(value, place), f"{name}_index": keyring.index(kind, value)}

    _rewrite(encrypt)
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_phone_index", ["phone_index"], unique=False)
        batch_op.create_unique_constraint("uq_patients_id_card_index", ["id_card_index"])


def downgrade() -> None:
    keyring: Keyring | None = None

    def decrypt(name: str, value: str) -> dict[str, str]:
        nonlocal keyring
        if not is_sealed(value):
            return {}
        keyring = keyring or data_keyring()
        return {name: keyring.decrypt(value, COLUMNS[name][0])}

    _rewrite(decrypt)
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint("uq_patients_id_card_index", type_="unique")
        batch_op.drop_index("ix_patients_phone_index")
        for name, (_, _, plain, sealed) in COLUMNS.items():
            batch_op.drop_column(f"{name}_index")
            batch_op.alter_column(name, existing_type=sa.String(sealed), type_=sa.String(plain), existing_nullable=True)
        batch_op.create_unique_constraint("uq_patients_id_card", ["id_card"])
        batch_op.create_index("ix_patients_phone", ["phone"], unique=False)
