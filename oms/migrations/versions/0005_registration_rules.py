"""registration rules: one active registration per patient, doctor and shift; pending admissions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# oms.visits.models.RELEASED_STATES, as it was when this migration was written.
RELEASED = ("cancelled", "no_show")


def _hold_registrations() -> None:
    """Existing active visits take their key; where the old rules let a patient register twice,
    the earliest visit holds it and the later ones stay as they are, without a key."""
    visits = sa.table(
        "visits",
        sa.column("id", sa.Integer),
        sa.column("patient_id", sa.Integer),
        sa.column("doctor_id", sa.Integer),
        sa.column("visit_date", sa.Date),
        sa.column("shift", sa.String),
        sa.column("state", sa.String),
        sa.column("active_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(visits.c.id, visits.c.patient_id, visits.c.doctor_id, visits.c.visit_date, visits.c.shift)
        .where(visits.c.state.not_in(RELEASED))
        .order_by(visits.c.id)
    ).all()
    taken: set[str] = set()
    for row in rows:
        key = f"{row.patient_id}:{row.doctor_id}:{row.visit_date.isoformat()}:{row.shift}"
        if key not in taken:
            taken.add(key)
            bind.execute(sa.update(visits).where(visits.c.id == row.id).values(active_key=key))


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_key", sa.String(length=80), nullable=True))
    _hold_registrations()
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_visits_active_key"), ["active_key"])

    op.create_table(
        "admission_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("visit_number", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("patient_name", sa.String(length=50), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_name", sa.String(length=50), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("doctor_name", sa.String(length=50), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("admission_number", sa.String(length=30), nullable=True),
        sa.Column("admitted_by", sa.String(length=64), nullable=True),
        sa.Column("admitted_at", shared.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_admission_requests_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_admission_requests_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_requests")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_admission_requests_visit_id")),
    )
    with op.batch_alter_table("admission_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admission_requests_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_admission_requests_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_admission_requests_state"), ["state"], unique=False)


def downgrade() -> None:
    # The table's indexes go with it (MariaDB refuses to drop one a foreign key needs first).
    op.drop_table("admission_requests")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_visits_active_key"), type_="unique")
        batch_op.drop_column("active_key")
