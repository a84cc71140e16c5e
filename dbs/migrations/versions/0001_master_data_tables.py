"""master data tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22 06:21:59.509281
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_request_id"), ["request_id"], unique=False)

    op.create_table(
        "charge_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("reimbursement_ratio", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_types")),
        sa.UniqueConstraint("name", name=op.f("uq_charge_types_name")),
    )
    with op.batch_alter_table("charge_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charge_types_enabled"), ["enabled"], unique=False)

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
        sa.UniqueConstraint("name", name=op.f("uq_departments_name")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_enabled"), ["enabled"], unique=False)

    op.create_table(
        "drug_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_origins")),
        sa.UniqueConstraint("name", name=op.f("uq_drug_origins_name")),
    )
    with op.batch_alter_table("drug_origins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drug_origins_enabled"), ["enabled"], unique=False)

    op.create_table(
        "drug_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_types")),
        sa.UniqueConstraint("name", name=op.f("uq_drug_types_name")),
    )
    with op.batch_alter_table("drug_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drug_types_enabled"), ["enabled"], unique=False)

    op.create_table(
        "item_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_item_categories_name")),
    )
    with op.batch_alter_table("item_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_categories_enabled"), ["enabled"], unique=False)

    op.create_table(
        "registration_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_types")),
        sa.UniqueConstraint("name", name=op.f("uq_registration_types_name")),
    )
    with op.batch_alter_table("registration_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_types_enabled"), ["enabled"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("name", name=op.f("uq_suppliers_name")),
    )
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppliers_enabled"), ["enabled"], unique=False)

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_enabled"), ["enabled"], unique=False)

    op.create_table(
        "warehouses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
        sa.UniqueConstraint("name", name=op.f("uq_warehouses_name")),
    )
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warehouses_enabled"), ["enabled"], unique=False)

    op.create_table(
        "charge_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("needs_exam", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["item_categories.id"], name=op.f("fk_charge_items_category_id_item_categories")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_charge_items_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_items")),
        sa.UniqueConstraint("code", name=op.f("uq_charge_items_code")),
        sa.UniqueConstraint("name", "scope", name=op.f("uq_charge_items_name_scope")),
    )
    with op.batch_alter_table("charge_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charge_items_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_charge_items_enabled"), ["enabled"], unique=False)
        batch_op.create_index(batch_op.f("ix_charge_items_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "doctors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("registration_type_id", sa.Integer(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("introduction", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_doctors_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["registration_type_id"],
            ["registration_types.id"],
            name=op.f("fk_doctors_registration_type_id_registration_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctors")),
        sa.UniqueConstraint("code", name=op.f("uq_doctors_code")),
    )
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_doctors_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_doctors_enabled"), ["enabled"], unique=False)
        batch_op.create_index(batch_op.f("ix_doctors_registration_type_id"), ["registration_type_id"], unique=False)

    op.create_table(
        "drugs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("spec", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("origin_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["origin_id"], ["drug_origins.id"], name=op.f("fk_drugs_origin_id_drug_origins")),
        sa.ForeignKeyConstraint(["type_id"], ["drug_types.id"], name=op.f("fk_drugs_type_id_drug_types")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_drugs_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drugs")),
        sa.UniqueConstraint("code", name=op.f("uq_drugs_code")),
        sa.UniqueConstraint("name", "spec", "origin_id", name=op.f("uq_drugs_name_spec_origin_id")),
    )
    with op.batch_alter_table("drugs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drugs_enabled"), ["enabled"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_origin_id"), ["origin_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_type_id"), ["type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "handlers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UTCDateTime(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_handlers_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handlers")),
        sa.UniqueConstraint("name", "phone", name=op.f("uq_handlers_name_phone")),
    )
    with op.batch_alter_table("handlers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handlers_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handlers_enabled"), ["enabled"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handlers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handlers_enabled"))
        batch_op.drop_index(batch_op.f("ix_handlers_department_id"))

    op.drop_table("handlers")
    with op.batch_alter_table("drugs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drugs_unit_id"))
        batch_op.drop_index(batch_op.f("ix_drugs_type_id"))
        batch_op.drop_index(batch_op.f("ix_drugs_origin_id"))
        batch_op.drop_index(batch_op.f("ix_drugs_enabled"))

    op.drop_table("drugs")
    with op.batch_alter_table("doctors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_doctors_registration_type_id"))
        batch_op.drop_index(batch_op.f("ix_doctors_enabled"))
        batch_op.drop_index(batch_op.f("ix_doctors_department_id"))

    op.drop_table("doctors")
    with op.batch_alter_table("charge_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_items_unit_id"))
        batch_op.drop_index(batch_op.f("ix_charge_items_enabled"))
        batch_op.drop_index(batch_op.f("ix_charge_items_category_id"))

    op.drop_table("charge_items")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warehouses_enabled"))

    op.drop_table("warehouses")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_enabled"))

    op.drop_table("units")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_enabled"))

    op.drop_table("suppliers")
    with op.batch_alter_table("registration_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registration_types_enabled"))

    op.drop_table("registration_types")
    with op.batch_alter_table("item_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_categories_enabled"))

    op.drop_table("item_categories")
    with op.batch_alter_table("drug_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_types_enabled"))

    op.drop_table("drug_types")
    with op.batch_alter_table("drug_origins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_origins_enabled"))

    op.drop_table("drug_origins")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_enabled"))

    op.drop_table("departments")
    with op.batch_alter_table("charge_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_types_enabled"))

    op.drop_table("charge_types")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_request_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_entity"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
