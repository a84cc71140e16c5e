"""A dispensing order (取药单): a paid prescription as the pharmacy receives it, and its lines.

What the sender describes (patient, doctor, drug names, specs) is frozen on the order as it
arrived: the pharmacy dispenses what was paid, whatever the dictionary says later.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from pms.db import PmsTable
from shared.i18n import Text
from shared.records import INPUT_CONFIG, distinct
from shared.types import UTCDateTime


class State(StrEnum):
    """A dispensing order's state."""

    pending = "pending"
    dispensed = "dispensed"
    cancelled = "cancelled"


class Fate(StrEnum):
    """A line's fate (docs/pharmacy.md, "Never both"): handed out, or refunded at the sender; a
    handed-out line the patient brought back is `returned`, and only then may it be refunded."""

    dispensed = "dispensed"
    returned = "returned"
    refunded = "refunded"


class Source(StrEnum):
    """Who sends orders: outpatient (oms) and inpatient (hms); each gets its report back."""

    oms = "oms"
    hms = "hms"


# As oms prices a line: a whole number 1–9999.
MAX_QUANTITY = 9999


class DispensingOrder(PmsTable, table=True):
    __tablename__ = "dispensing_orders"
    # One dispensing order per sender's order, whichever key it came with.
    __table_args__ = (UniqueConstraint("source", "order_id"), UniqueConstraint("number"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    source: str = Field(sa_type=String(16))
    order_id: int
    order_number: str = Field(sa_type=String(32), index=True)
    visit_number: str = Field(sa_type=String(32), index=True)
    patient_name: str = Field(sa_type=String(50))
    doctor_name: str = Field(sa_type=String(50))
    department_name: str = Field(sa_type=String(50))
    state: str = Field(default=State.pending, sa_type=String(16), index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    dispensed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispensed_by: str | None = Field(default=None, sa_type=String(64))


class DispensingLine(PmsTable, table=True):
    __tablename__ = "dispensing_lines"
    __table_args__ = (UniqueConstraint("dispensing_order_id", "line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dispensing_order_id: int = Field(foreign_key="dispensing_orders.id", index=True)
    # The sender's line and drug ids: what the report back and, later, stock refer to.
    line_id: int
    drug_id: int = Field(index=True)
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))
    quantity: int
    # Refunded at the sender (its fate is `refunded`): shown struck through, never handed out.
    cancelled: bool = False


class DispensingLineBatch(PmsTable, table=True):
    """Which pharmacy batch a dispensed line came from (one row per batch it took): the recall
    list of a batch and the batches a patient received."""

    __tablename__ = "dispensing_line_batches"

    id: int | None = Field(default=None, primary_key=True)
    dispensing_line_id: int = Field(foreign_key="dispensing_lines.id", index=True)
    batch_id: int = Field(index=True)
    batch_no: str = Field(sa_type=String(50))
    expiry_date: dt.date
    quantity: int


class LineFate(PmsTable, table=True):
    """What became of one line of a sender's order: dispensed or refunded, decided once, here
    (a dispensed line brought back becomes `returned`, then `refunded` by the sender's claim, each
    step one conditional UPDATE from the state before).

    The unique index is the rule itself: a refund claim and a dispense both insert the line's
    fate, so whichever commits first wins and the other fails on the index, under any isolation
    level and whether or not the order itself has arrived yet (a refund may be claimed while the
    order is still in the sender's outbox)."""

    __tablename__ = "line_fates"
    __table_args__ = (UniqueConstraint("source", "order_id", "line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=String(16))
    order_id: int
    line_id: int
    fate: str = Field(sa_type=String(16))
    # The sender's refund claim (its Idempotency-Key) that took a refunded line.
    claim: str | None = Field(default=None, sa_type=String(100), index=True)
    at: dt.datetime = Field(sa_type=UTCDateTime)


# --- what the sender posts -----------------------------------------------------------------------


class LineIn(BaseModel):
    model_config = INPUT_CONFIG
    line_id: int = Field(ge=1)
    drug_id: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    spec: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)

    @field_validator("spec", "unit", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        # A drug without a spec or unit may come as null: store "" rather than refuse the order.
        return "" if value is None else value


class DispensingOrderIn(BaseModel):
    model_config = INPUT_CONFIG
    source: Source
    order_id: int = Field(ge=1)
    order_number: str = Field(min_length=1, max_length=32)
    visit_number: str = Field(min_length=1, max_length=32)
    patient_name: str = Field(min_length=1, max_length=50)
    doctor_name: str = Field(default="", max_length=50)
    department_name: str = Field(default="", max_length=50)
    lines: list[LineIn] = Field(min_length=1, max_length=200)

    @field_validator("doctor_name", "department_name", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("lines")
    @classmethod
    def _distinct_lines(cls, lines: list[LineIn]) -> list[LineIn]:
        ids = [line.line_id for line in lines]
        if len(ids) != len(set(ids)):
            raise ValueError(Text("同一处方行出现了两次", "a line_id appears twice"))
        return lines


# --- what the API answers ------------------------------------------------------------------------


class LineBatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    batch_id: int
    batch_no: str
    expiry_date: dt.date
    quantity: int


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    line_id: int
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    quantity: int
    cancelled: bool
    # The batches it was handed out from (first expiry first); empty until dispensed.
    batches: list[LineBatchOut] = []


class RefundClaimIn(BaseModel):
    """The sender asks for these lines' fate to be `refunded` before it pays anything back.

    `payment_id`, `reason` and `cashier` are the sender's: the pharmacy keeps them only to send
    them back with its notice of the claim, so the sender can record a refund it never heard
    the answer to (it crashed, or the answer was lost)."""

    model_config = INPUT_CONFIG
    line_ids: list[int] = Field(min_length=1, max_length=200)
    payment_id: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=200)
    cashier: str = Field(min_length=1, max_length=64)

    @field_validator("line_ids")
    @classmethod
    def _distinct(cls, line_ids: list[int]) -> list[int]:
        return distinct(line_ids, Text("同一明细出现了两次", "a line appears twice"))


class RefundClaimOut(BaseModel):
    claim: str
    source: Source
    order_id: int
    line_ids: list[int]
    claimed_at: dt.datetime


class DispensingOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    source: Source
    order_id: int
    order_number: str
    visit_number: str
    patient_name: str
    doctor_name: str
    department_name: str
    state: State
    lines: list[LineOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    dispensed_at: dt.datetime | None
    dispensed_by: str | None
