"""The drug dictionary and what describes a drug: origin (产地), type, unit."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from dbs.db import DbsTable
from shared.fields import PositiveMoney
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut
from shared.types import MONEY_COLUMN


class NamedFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=500)


class NamedIn(NamedFields):
    model_config = INPUT_CONFIG


class NamedOut(NamedFields, RecordOut):
    pass


class DrugOrigin(NamedFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "drug_origins"
    __table_args__ = (UniqueConstraint("name"),)


class DrugType(NamedFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "drug_types"
    __table_args__ = (UniqueConstraint("name"),)


class Unit(NamedFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("name"),)


class DrugFields(SQLModel):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    spec: str = Field(default="", max_length=100)
    type_id: int = Field(foreign_key="drug_types.id", index=True, ge=1)
    origin_id: int = Field(foreign_key="drug_origins.id", index=True, ge=1)
    unit_id: int = Field(foreign_key="units.id", index=True, ge=1)
    price: Decimal = Field(sa_type=MONEY_COLUMN)
    low_stock_threshold: int = Field(default=30, ge=0, le=1_000_000)


class Drug(DrugFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "drugs"
    __table_args__ = (UniqueConstraint("code"), UniqueConstraint("name", "spec", "origin_id"))


class DrugIn(DrugFields):
    model_config = INPUT_CONFIG
    spec: str | None = Field(default="", max_length=100)
    price: PositiveMoney

    def model_post_init(self, context: object) -> None:
        # An empty spec is "" (not NULL), so name+spec+origin stays unique in the database too.
        if self.spec is None:
            self.spec = ""


class DrugOut(DrugFields, RecordOut):
    type_name: str | None = None
    origin_name: str | None = None
    unit_name: str | None = None
