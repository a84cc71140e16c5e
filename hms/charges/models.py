"""The stay's account (费用明细): one row per thing charged — a drug booked, a charge item, a bed-day —
at the price frozen when it was booked; a credit (a drug returned, an item cancelled) is its own
row with the opposite amount naming the row it reverses (`reverses_id`, unique: once).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field

from hms.db import HmsTable
from hms.deposits.models import DepositOut
from hms.stays.models import StayOut
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime


class ChargeKind(StrEnum):
    drug = "drug"
    item = "item"
    bed_day = "bed_day"


class ChargeState(StrEnum):
    booked = "booked"  # charged (a drug: sent to the pharmacy, not yet dispensed)
    dispensed = "dispensed"  # a drug the pharmacy handed out
    examined = "examined"  # an item needing an examination, with its result
    returned = "returned"  # a dispensed drug given back and credited
    cancelled = "cancelled"  # credited before it was dispensed or done
    credit = "credit"  # the credit row itself


# The category a bed-day and a drug are totalled under; an item's is its dbs item category.
DRUG_CATEGORY = "药品费"
BED_CATEGORY = "床位费"


class Charge(HmsTable, table=True):
    __tablename__ = "charges"
    # One bed-day per stay and day, whoever accrues it (NULL for other kinds never collides);
    # one credit per row credited.
    __table_args__ = (UniqueConstraint("stay_id", "service_date"), UniqueConstraint("reverses_id"))
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    kind: str = Field(sa_type=String(10))
    category: str = Field(sa_type=String(50))
    # The drug's or charge item's id in dbs, the bed's id for a bed-day.
    item_id: int
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(default="", sa_type=String(100))
    unit: str = Field(default="", sa_type=String(50))
    unit_price: Decimal = Field(sa_type=MONEY_COLUMN)
    # Signed: a credit has the negative quantity and amount.
    quantity: int
    amount: Decimal = Field(sa_type=MONEY_COLUMN)
    state: str = Field(sa_type=String(20), index=True)
    # A drug's order to the pharmacy.
    order_id: int | None = Field(default=None, foreign_key="drug_orders.id", index=True)
    usage: str | None = Field(default=None, sa_type=String(200))
    # A bed-day's date at the hospital.
    service_date: date | None = None
    reverses_id: int | None = Field(default=None)
    reason: str | None = Field(default=None, sa_type=String(200))
    needs_exam: bool = False
    exam_result: str | None = Field(default=None, sa_type=Text)
    report_key: str | None = Field(default=None, sa_type=String(200))
    report_name: str | None = Field(default=None, sa_type=String(200))
    examined_by: str | None = Field(default=None, sa_type=String(64))
    examined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ChargeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    stay_id: int
    kind: ChargeKind
    category: str
    item_id: int
    code: str
    name: str
    spec: str
    unit: str
    unit_price: Decimal
    quantity: int
    amount: Decimal
    state: ChargeState
    order_id: int | None
    usage: str | None
    service_date: date | None
    reverses_id: int | None
    reason: str | None
    needs_exam: bool
    exam_result: str | None
    report_name: str | None
    examined_by: str | None
    examined_at: datetime | None
    created_by: str
    created_at: datetime


class CategoryTotal(BaseModel):
    category: str
    amount: Decimal


class ExamState(StrEnum):
    pending = "pending"  # booked, waiting for its result
    examined = "examined"


class ItemLineIn(BaseModel):
    model_config = INPUT_CONFIG  # a price sent along is ignored: dbs prices the line
    charge_item_id: int = Pydantic(ge=1)
    quantity: int = Pydantic(ge=1, le=9999, strict=True)


class ItemsIn(BaseModel):
    """项目记账: charge items booked to a stay."""

    model_config = INPUT_CONFIG
    lines: list[ItemLineIn] = Pydantic(min_length=1, max_length=50)


class CancelIn(BaseModel):
    model_config = INPUT_CONFIG
    reason: str = Pydantic(min_length=1, max_length=200)


class ExamOut(ChargeOut):
    """An item that needs an examination, with whom and where it is for (the exam work list)."""

    stay_number: str
    patient_name: str
    department_name: str
    ward_name: str
    bed_number: str


class AccountFigures(BaseModel):
    charge_total: Decimal
    insured: Decimal
    self_pay: Decimal
    deposit_total: Decimal
    balance: Decimal


class AccountOut(BaseModel):
    """费用明细: every row of the stay's account, and the sums they add up to."""

    stay: StayOut
    charges: list[ChargeOut]
    categories: list[CategoryTotal]
    deposits: list[DepositOut]
    figures: AccountFigures
