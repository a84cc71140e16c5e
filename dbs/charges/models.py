"""The price list (item categories and charge items) and charge (insurance) types."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dbs.db import DbsTable
from dbs.drugs.models import NamedFields
from shared.fields import Money, Ratio
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut
from shared.types import MONEY_COLUMN, RATIO_COLUMN


class ItemCategory(NamedFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "item_categories"
    __table_args__ = (UniqueConstraint("name"),)


class ChargeScope(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    BOTH = "both"


class ChargeItemFields(SQLModel):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    category_id: int = Field(foreign_key="item_categories.id", index=True, ge=1)
    unit_id: int = Field(foreign_key="units.id", index=True, ge=1)
    price: Decimal = Field(sa_type=MONEY_COLUMN)
    scope: ChargeScope = Field(sa_type=String(20))
    needs_exam: bool = False


class ChargeItem(ChargeItemFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "charge_items"
    __table_args__ = (UniqueConstraint("code"), UniqueConstraint("name", "scope"))


class ChargeItemIn(ChargeItemFields):
    model_config = INPUT_CONFIG
    price: Money


class ChargeItemOut(ChargeItemFields, RecordOut):
    category_name: str | None = None
    unit_name: str | None = None


class ChargeTypeFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    reimbursement_ratio: Decimal = Field(sa_type=RATIO_COLUMN)
    description: str | None = Field(default=None, max_length=500)


class ChargeType(ChargeTypeFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "charge_types"
    __table_args__ = (UniqueConstraint("name"),)


class ChargeTypeIn(ChargeTypeFields):
    model_config = INPUT_CONFIG
    reimbursement_ratio: Ratio


class ChargeTypeOut(ChargeTypeFields, RecordOut):
    pass
