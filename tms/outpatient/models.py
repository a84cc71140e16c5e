"""Outpatient facts (from oms's feed) and their daily rollups. Money in integer fen."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, SmallInteger, String
from sqlmodel import Field

from shared.types import UTCDateTime
from tms.db import TmsTable


class OutpatientVisit(TmsTable, table=True):
    """One registration (挂号), as registered; `state` follows its later changes."""

    __tablename__ = "op_visits"
    __table_args__ = (Index("ix_op_visits_registered_day_hour", "registered_day", "hour"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # oms's visit id
    seq: int = Field(sa_type=BigInteger, unique=True)
    number: str = Field(sa_type=String(20))
    visit_date: date
    registered_at: datetime = Field(sa_type=UTCDateTime)
    registered_day: date
    hour: int = Field(sa_type=SmallInteger)
    department_id: int
    doctor_id: int
    registration_type_id: int | None = None
    fee: int = Field(sa_type=BigInteger)
    state: str = Field(sa_type=String(20))


class OutpatientPayment(TmsTable, table=True):
    """One payment or refund (a refund's amounts negative), on the hospital's day it was taken."""

    __tablename__ = "op_payments"
    __table_args__ = (Index("ix_op_payments_day_hour", "day", "hour"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # oms's payment id
    seq: int = Field(sa_type=BigInteger, unique=True)
    number: str = Field(sa_type=String(20))
    refund: bool
    category: str = Field(sa_type=String(20))  # registration, drug, item: what was paid for
    method: str = Field(sa_type=String(20))
    amount: int = Field(sa_type=BigInteger)
    insured: int = Field(sa_type=BigInteger)
    at: datetime = Field(sa_type=UTCDateTime)
    day: date
    hour: int = Field(sa_type=SmallInteger)
    visit_id: int
    department_id: int
    doctor_id: int
    cashier: str = Field(sa_type=String(64))


class OutpatientMoneyDay(TmsTable, table=True):
    __tablename__ = "op_money_days"
    __table_args__ = (Index("ix_op_money_days_month", "month"),)
    day: date = Field(primary_key=True)
    department_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    doctor_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    method: str = Field(sa_type=String(20), primary_key=True)
    category: str = Field(sa_type=String(20), primary_key=True)
    month: int  # yyyymm of `day`
    paid: int = Field(default=0, sa_type=BigInteger)
    refunded: int = Field(default=0, sa_type=BigInteger)  # as a positive amount
    insured: int = Field(default=0, sa_type=BigInteger)  # net of refunds
    payments: int = 0
    refunds: int = 0


class OutpatientMoneyMonth(TmsTable, table=True):
    """The daily rollup again by month: a report over two years reads 24 months, not 730 days."""

    __tablename__ = "op_money_months"
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    department_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    doctor_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    method: str = Field(sa_type=String(20), primary_key=True)
    category: str = Field(sa_type=String(20), primary_key=True)
    paid: int = Field(default=0, sa_type=BigInteger)
    refunded: int = Field(default=0, sa_type=BigInteger)
    insured: int = Field(default=0, sa_type=BigInteger)
    payments: int = 0
    refunds: int = 0


class OutpatientVisitDay(TmsTable, table=True):
    __tablename__ = "op_visit_days"
    __table_args__ = (Index("ix_op_visit_days_month", "month"),)
    day: date = Field(primary_key=True)  # the visit date
    department_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    doctor_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    month: int
    visits: int = 0
    cancelled: int = 0


class OutpatientVisitMonth(TmsTable, table=True):
    __tablename__ = "op_visit_months"
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    department_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    doctor_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    visits: int = 0
    cancelled: int = 0


class CashierDay(TmsTable, table=True):
    __tablename__ = "op_cashier_days"
    day: date = Field(primary_key=True)
    cashier: str = Field(sa_type=String(64), primary_key=True)
    method: str = Field(sa_type=String(20), primary_key=True)
    paid: int = Field(default=0, sa_type=BigInteger)
    refunded: int = Field(default=0, sa_type=BigInteger)
    payments: int = 0
    refunds: int = 0
