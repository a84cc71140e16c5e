"""Visits: a patient's registration with a doctor's shift, and where the visit stands."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import Date, String
from sqlmodel import Field

from oms.db import OmsTable
from shared.types import MONEY_COLUMN, UTCDateTime


class VisitState(StrEnum):
    registered = "registered"
    in_consultation = "in_consultation"
    paid = "paid"
    dispensed = "dispensed"
    no_show = "no_show"
    cancelled = "cancelled"
    transferred = "transferred"


# States a visit leaves for these, by hand (payment and dispensing move it on their own).
MANUAL_TRANSITIONS: dict[VisitState, frozenset[VisitState]] = {
    VisitState.registered: frozenset({VisitState.in_consultation, VisitState.no_show}),
    VisitState.in_consultation: frozenset({VisitState.transferred}),
    VisitState.paid: frozenset({VisitState.transferred}),
}
# States in which a visit takes no new prescriptions or payments.
CLOSED_STATES = frozenset({VisitState.no_show, VisitState.cancelled, VisitState.transferred})
# States that gave the place up: the patient may register with the same doctor and shift again.
# Every other state holds the registration, even when it is over (dispensed, transferred): a
# patient seen once is seen again on the same visit, not on a second registration.
RELEASED_STATES = frozenset({VisitState.cancelled, VisitState.no_show})


class Visit(OmsTable, table=True):
    __tablename__ = "visits"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    patient_id: int = Field(foreign_key="patients.id", index=True)
    patient_name: str = Field(sa_type=String(50))
    department_id: int = Field(index=True)
    department_name: str = Field(sa_type=String(50))
    doctor_id: int = Field(index=True)
    doctor_name: str = Field(sa_type=String(50))
    registration_type_id: int
    registration_type_name: str = Field(sa_type=String(50))
    schedule_id: int = Field(index=True)
    booking_key: str = Field(sa_type=String(120), unique=True)
    # "patient:doctor:date:shift" while the visit holds its registration, NULL once it gave the
    # place up (RELEASED_STATES): the unique index, not a query, refuses a second active one.
    active_key: str | None = Field(default=None, sa_type=String(80), unique=True)
    visit_date: date = Field(sa_type=Date, index=True)
    shift: str = Field(sa_type=String(10))
    queue_no: int
    fee: Decimal = Field(sa_type=MONEY_COLUMN)
    fee_paid: bool = False
    state: str = Field(sa_type=String(20), index=True)
    state_reason: str | None = Field(default=None, sa_type=String(200))
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class VisitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    patient_id: int
    patient_name: str
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    registration_type_id: int
    registration_type_name: str
    schedule_id: int
    visit_date: date
    shift: str
    queue_no: int
    fee: Decimal
    fee_paid: bool
    state: VisitState
    state_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class PaymentMethod(StrEnum):
    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"
    insurance = "insurance"


class SelfMethod(StrEnum):
    """How the patient pays their own share of a 医保 payment (any method but 医保)."""

    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    patient_id: int = Pydantic(ge=1)
    schedule_id: int = Pydantic(ge=1)
    payment_method: PaymentMethod | None = None
    # With 医保 (payments.PaymentIn): the patient's charge type and how they pay their own share.
    charge_type_id: int | None = Pydantic(default=None, ge=1)
    self_method: SelfMethod = SelfMethod.cash


class TransitionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    to: VisitState
    reason: str | None = Pydantic(default=None, max_length=200)


class CancelIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    reason: str = Pydantic(min_length=1, max_length=200)


class RegistrationDoctor(BaseModel):
    schedule_id: int
    doctor_id: int
    doctor_name: str
    shift: str
    quota: int
    booked: int
    free: int
    registration_type_id: int
    registration_type_name: str
    fee: Decimal


class DepartmentChoice(BaseModel):
    id: int
    code: str
    name: str


class RegistrationTypeChoice(BaseModel):
    id: int
    name: str
    fee: Decimal
