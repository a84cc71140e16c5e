"""Warehouses and suppliers."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from dbs.db import DbsTable
from shared.fields import Phone
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut


class WarehouseFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    location: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class Warehouse(WarehouseFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "warehouses"
    __table_args__ = (UniqueConstraint("name"),)


class WarehouseIn(WarehouseFields):
    model_config = INPUT_CONFIG


class WarehouseOut(WarehouseFields, RecordOut):
    pass


class SupplierFields(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    contact: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)


class Supplier(SupplierFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("name"),)


class SupplierIn(SupplierFields):
    model_config = INPUT_CONFIG
    phone: Phone = None


class SupplierOut(SupplierFields, RecordOut):
    pass
