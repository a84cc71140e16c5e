"""A stay (住院档案): one admission of a patient, from 入院登记 to 出院结算, with its transfers.

The stay carries its account's two running sums, `deposit_total` and `charge_total`, changed only
in the transaction that writes the deposit or the charge, by an UPDATE guarded on the stay being
`admitted` (docs/inpatient.md, "The account adds up").
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
from shared.fields import PositiveMoney
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, RATIO_COLUMN, UTCDateTime


class StayState(StrEnum):
    admitted = "admitted"  # 在院: the account is open
    settled = "settled"  # 已出院结算: read-only, corrected only by a reversing settlement


class DepositMethod(StrEnum):
    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"
    transfer = "transfer"  # 转账


class Stay(HmsTable, table=True):
    __tablename__ = "stays"
    # An outpatient transfer is admitted once, and a patient is in hospital once at a time: the
    # indexes decide, whatever oms has heard yet and however two clerks interleave.
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("admission_request_id"),
        UniqueConstraint("open_patient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20))
    state: str = Field(sa_type=String(20), index=True)
    # The patient in oms's patient library; what the ward shows of them is frozen here, nothing more
    # (the ID card and phone stay in oms).
    patient_id: int = Field(index=True)
    patient_name: str = Field(sa_type=String(50), index=True)
    # The patient's id while the stay is admitted, None once settled (NULLs never collide).
    open_patient_id: int | None = Field(default=None)
    sex: str | None = Field(default=None, sa_type=String(10))
    age: int | None = None
    admission_request_id: int | None = Field(default=None)
    visit_number: str | None = Field(default=None, sa_type=String(20))
    department_id: int = Field(index=True)
    department_name: str = Field(sa_type=String(50))
    doctor_id: int
    doctor_name: str = Field(sa_type=String(50))
    ward_id: int = Field(index=True)
    ward_name: str = Field(sa_type=String(50))
    bed_id: int
    bed_number: str = Field(sa_type=String(20))
    diagnosis: str = Field(sa_type=String(200))
    charge_type_id: int
    charge_type_name: str = Field(sa_type=String(50))
    # Frozen at admission, like an outpatient payment's: the account reads the same all stay long.
    reimbursement_ratio: Decimal = Field(sa_type=RATIO_COLUMN)
    deposit_total: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY_COLUMN)
    charge_total: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY_COLUMN)
    admitted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    admitted_by: str = Field(sa_type=String(64))
    discharged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set by a settlement's reversal (the day it was reversed): the patient was gone between the
    # settlement and then, so no bed-day before it is owed that was not charged already.
    bed_days_from: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Transfer(HmsTable, table=True):
    """转科/转床: one row per move, the stay's history of departments and beds."""

    __tablename__ = "transfers"
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    from_department_id: int
    from_department_name: str = Field(sa_type=String(50))
    from_ward_name: str = Field(sa_type=String(50))
    from_bed_id: int
    from_bed_number: str = Field(sa_type=String(20))
    from_doctor_name: str = Field(sa_type=String(50))
    to_department_id: int
    to_department_name: str = Field(sa_type=String(50))
    to_ward_name: str = Field(sa_type=String(50))
    to_bed_id: int
    to_bed_number: str = Field(sa_type=String(20))
    to_doctor_name: str = Field(sa_type=String(50))
    reason: str = Field(sa_type=Text)
    transferred_by: str = Field(sa_type=String(64))
    transferred_at: datetime = Field(sa_type=UTCDateTime)


class DepositIn(BaseModel):
    model_config = INPUT_CONFIG
    amount: PositiveMoney
    method: DepositMethod
    remark: str | None = Pydantic(default=None, max_length=200)


class AdmissionIn(BaseModel):
    """入院登记: from an outpatient transfer (`admission_request_id`: patient, department and doctor
    come from it unless given) or directly (`patient_id` of oms's library, department, doctor)."""

    model_config = INPUT_CONFIG
    admission_request_id: int | None = Pydantic(default=None, ge=1)
    patient_id: int | None = Pydantic(default=None, ge=1)
    department_id: int | None = Pydantic(default=None, ge=1)
    doctor_id: int | None = Pydantic(default=None, ge=1)
    bed_id: int = Pydantic(ge=1)
    diagnosis: str = Pydantic(min_length=1, max_length=200)
    charge_type_id: int = Pydantic(ge=1)
    deposit: DepositIn | None = None


class TransferIn(BaseModel):
    model_config = INPUT_CONFIG
    bed_id: int = Pydantic(ge=1)
    # Another department (转科) needs its doctor; the same department may keep the doctor.
    department_id: int | None = Pydantic(default=None, ge=1)
    doctor_id: int | None = Pydantic(default=None, ge=1)
    reason: str = Pydantic(min_length=1, max_length=200)


class TransferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    stay_id: int
    from_department_name: str
    from_ward_name: str
    from_bed_number: str
    from_doctor_name: str
    to_department_name: str
    to_ward_name: str
    to_bed_number: str
    to_doctor_name: str
    reason: str
    transferred_by: str
    transferred_at: datetime


class StayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    state: StayState
    patient_id: int
    patient_name: str
    sex: str | None
    age: int | None
    admission_request_id: int | None
    visit_number: str | None
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    ward_id: int
    ward_name: str
    bed_id: int
    bed_number: str
    diagnosis: str
    charge_type_id: int
    charge_type_name: str
    reimbursement_ratio: Decimal
    deposit_total: Decimal
    charge_total: Decimal
    # What the patient pays of the charges (the insured share taken off) and what is left of the deposits.
    self_pay: Decimal = Decimal("0.00")
    balance: Decimal = Decimal("0.00")
    low_balance: bool = False
    admitted_at: datetime
    admitted_by: str
    discharged_at: datetime | None
    updated_at: datetime
