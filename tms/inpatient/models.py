"""Inpatient facts (from hms's feed) and their daily rollups. Money in integer fen.

Every fact is kept per department: the department the stay was in when the thing happened (an
admission its admitting department, a bed-day the department that night, a discharge the one it
left from), except a credit, which lowers the department of the charge it credits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, String
from sqlmodel import Field

from shared.types import UTCDateTime
from tms.db import TmsTable

NO_AUTO = {"autoincrement": False}


class InpatientStay(TmsTable, table=True):
    """One admission (入院登记), in its admitting department."""

    __tablename__ = "ip_stays"
    id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)  # hms's stay id
    seq: int = Field(sa_type=BigInteger, unique=True)
    number: str = Field(sa_type=String(20))
    admitted_at: datetime = Field(sa_type=UTCDateTime)
    day: date
    department_id: int
    doctor_id: int
    charge_type_id: int


class InpatientTransfer(TmsTable, table=True):
    """One transfer (转科/转床); only one between departments moves a patient out of one and into another."""

    __tablename__ = "ip_transfers"
    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs=NO_AUTO)
    stay_id: int = Field(index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    day: date
    from_department_id: int
    to_department_id: int


class InpatientCharge(TmsTable, table=True):
    """An item or a bed-day booked to a stay, or a credit of one (amount negative)."""

    __tablename__ = "ip_charges"
    id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)  # hms's charge id
    seq: int = Field(sa_type=BigInteger, unique=True)
    stay_id: int
    kind: str = Field(sa_type=String(10))  # item, bed_day
    category: str = Field(sa_type=String(50))  # hms's category: 床位费, or the item's dbs category
    quantity: int
    amount: int = Field(sa_type=BigInteger)
    # The service date of a bed-day; the hospital's day it was booked (or credited) otherwise.
    day: date
    department_id: int
    reverses_id: int | None = None


class InpatientDrugOrder(TmsTable, table=True):
    """A drug order booked (药品记账), or lines of it credited (amount negative)."""

    __tablename__ = "ip_drug_orders"
    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs=NO_AUTO)
    order_id: int = Field(index=True)
    credit: bool
    category: str = Field(sa_type=String(50))
    amount: int = Field(sa_type=BigInteger)
    day: date
    department_id: int


class InpatientSettlement(TmsTable, table=True):
    """A discharge settlement (出院结算), or its reversal (amounts negative)."""

    __tablename__ = "ip_settlements"
    id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)  # hms's settlement id
    seq: int = Field(sa_type=BigInteger, unique=True)
    number: str = Field(sa_type=String(20))
    reversal: bool
    reverses_id: int | None = None
    at: datetime = Field(sa_type=UTCDateTime)
    day: date
    department_id: int
    charge_type_id: int | None = None
    total: int = Field(sa_type=BigInteger)
    insured: int = Field(sa_type=BigInteger)
    self_pay: int = Field(sa_type=BigInteger)


class InpatientDeposit(TmsTable, table=True):
    """A deposit row (预交款, or a settlement's refund or collection, or their reversal)."""

    __tablename__ = "ip_deposits"
    id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)  # hms's deposit id
    seq: int = Field(sa_type=BigInteger, unique=True)
    number: str = Field(sa_type=String(20))
    kind: str = Field(sa_type=String(30))
    method: str = Field(sa_type=String(20))
    amount: int = Field(sa_type=BigInteger)
    day: date
    department_id: int


class InpatientBed(TmsTable, table=True):
    """A bed as hms last published it: its department and whether it is open (counted for occupancy)."""

    __tablename__ = "ip_beds"
    id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)  # hms's bed id
    seq: int = Field(sa_type=BigInteger, unique=True)  # the change it is as of
    ward_id: int
    department_id: int
    open: bool


# --- daily rollups -------------------------------------------------------------------------------


class InpatientDay(TmsTable, table=True):
    """Per day and department: the counts, the bed-days and what settlements and deposits took."""

    __tablename__ = "ip_days"
    __table_args__ = (Index("ix_ip_days_month", "month"),)
    day: date = Field(primary_key=True)
    department_id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)
    month: int  # yyyymm of `day`
    admissions: int = 0
    discharges: int = 0  # settlements less their reversals
    transfers_in: int = 0
    transfers_out: int = 0
    bed_days: int = 0
    deposits: int = Field(default=0, sa_type=BigInteger)  # 预交款 paid in
    insured: int = Field(default=0, sa_type=BigInteger)  # settlements', reversals netted
    self_pay: int = Field(default=0, sa_type=BigInteger)


class InpatientMoneyDay(TmsTable, table=True):
    """Per day, department and hms category: charged, and credited (as a positive amount)."""

    __tablename__ = "ip_money_days"
    __table_args__ = (Index("ix_ip_money_days_month", "month"),)
    day: date = Field(primary_key=True)
    department_id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)
    kind: str = Field(sa_type=String(10), primary_key=True)  # drug, item, bed_day
    category: str = Field(sa_type=String(50), primary_key=True)
    month: int
    charged: int = Field(default=0, sa_type=BigInteger)
    credited: int = Field(default=0, sa_type=BigInteger)


class InpatientBedCount(TmsTable, table=True):
    """Per day and department: how the number of open beds changed that day (+ opened, − closed).
    The open beds on a day are the sum of the changes up to it: a bed counts for a day when it is
    open at the day's end, as a bed-day is the night's."""

    __tablename__ = "ip_bed_counts"
    day: date = Field(primary_key=True)
    department_id: int = Field(primary_key=True, sa_column_kwargs=NO_AUTO)
    beds: int = 0
