"""Pharmacy (pms) and warehouse (sms) facts: every stock movement valued at purchase price, daily
rollups of them, and tms's own quantity of every batch, kept from the movements, for the stock
value and expiring value now. Money in integer fen."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlmodel import Field

from shared.types import UTCDateTime
from tms.db import TmsTable


class StoreMovement(TmsTable, table=True):
    """One change's movement of one kind (a pharmacy return sent to disposal is two: it came back
    and it left), its value and quantity signed as stock moved: + in, - out."""

    __tablename__ = "st_movements"
    __table_args__ = (UniqueConstraint("source", "seq", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=String(16))  # pms: the pharmacy; sms: the warehouses
    seq: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=String(24))
    entity_id: str = Field(sa_type=String(64))
    number: str = Field(sa_type=String(40))
    at: datetime = Field(sa_type=UTCDateTime)
    day: date
    value: int = Field(sa_type=BigInteger)
    quantity: int = Field(sa_type=BigInteger)


class StoreDay(TmsTable, table=True):
    __tablename__ = "st_days"
    __table_args__ = (Index("ix_st_days_source_month", "source", "month"),)
    day: date = Field(primary_key=True)
    source: str = Field(sa_type=String(16), primary_key=True)
    kind: str = Field(sa_type=String(24), primary_key=True)
    month: int  # yyyymm of `day`
    value: int = Field(default=0, sa_type=BigInteger)  # signed as stock moved
    quantity: int = Field(default=0, sa_type=BigInteger)
    movements: int = 0


class StockBatch(TmsTable, table=True):
    """A batch as the feeds moved it: in pms and sms a batch is one drug's batch number in one store
    (the pharmacy; a warehouse), its expiry and purchase price set when it first arrived."""

    __tablename__ = "st_batches"
    __table_args__ = (Index("ix_st_batches_source_expiry", "source", "expiry_date"),)
    source: str = Field(sa_type=String(16), primary_key=True)
    store_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    drug_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    batch_no: str = Field(sa_type=String(50), primary_key=True)
    expiry_date: date
    unit_cost: int = Field(sa_type=BigInteger)  # purchase price, fen
    quantity: int = Field(default=0, sa_type=BigInteger)
