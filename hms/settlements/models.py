"""Discharge settlements (出院结算) and their reversals (结算冲销)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as Pydantic
from sqlalchemy import String, Text
from sqlmodel import Field

from hms.charges.models import CategoryTotal
from hms.db import HmsTable
from hms.deposits.models import DepositOut
from hms.stays.models import DepositMethod
from shared.fields import Money
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, RATIO_COLUMN, UTCDateTime


class SettlementKind(StrEnum):
    settlement = "settlement"
    reversal = "reversal"


class Settlement(HmsTable, table=True):
    __tablename__ = "settlements"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    kind: str = Field(sa_type=String(20))
    # A reversal names the settlement it reverses; a settlement is reversed once.
    reverses_id: int | None = Field(default=None, unique=True)
    total: Decimal = Field(sa_type=MONEY_COLUMN)
    insured: Decimal = Field(sa_type=MONEY_COLUMN)
    self_pay: Decimal = Field(sa_type=MONEY_COLUMN)
    deposits: Decimal = Field(sa_type=MONEY_COLUMN)
    refunded: Decimal = Field(sa_type=MONEY_COLUMN)
    collected: Decimal = Field(sa_type=MONEY_COLUMN)
    reimbursement_ratio: Decimal = Field(sa_type=RATIO_COLUMN)
    bed_days: int
    method: str = Field(sa_type=String(20))
    # [{"category": "药品费", "amount": "12.00"}, …] as settled.
    categories: str = Field(sa_type=Text)
    reason: str | None = Field(default=None, sa_type=String(200))
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class SettlementIn(BaseModel):
    model_config = INPUT_CONFIG
    # How the refund is paid out or the amount due paid in.
    method: DepositMethod
    # The total the cashier read on the preview: a charge booked since answers 409 account_changed.
    expected_total: Money | None = None


class ReversalIn(BaseModel):
    model_config = INPUT_CONFIG
    reason: str = Pydantic(min_length=1, max_length=200)
    # The bed the stay goes back to; its own bed when not given.
    bed_id: int | None = Pydantic(default=None, ge=1)


class UndispensedDrug(BaseModel):
    """A drug line booked and not yet handed out by the pharmacy: it blocks the settlement."""

    charge_id: int
    order_number: str
    name: str
    spec: str
    unit: str
    quantity: int
    amount: Decimal


class SettlementFigures(BaseModel):
    """What a settlement of the stay writes, computed the same way for the preview and the settlement."""

    stay_id: int
    stay_number: str
    categories: list[CategoryTotal]
    total: Decimal
    reimbursement_ratio: Decimal
    insured: Decimal
    self_pay: Decimal
    deposits: Decimal
    # deposits − self_pay: ≥ 0 is refunded to the patient, < 0 is collected from them.
    balance: Decimal
    refund: Decimal
    due: Decimal
    bed_days: int


class SettlementPreview(SettlementFigures):
    # Of the figures above, the bed-days the settlement will charge on top of what is charged now.
    bed_days_due: int
    bed_days_due_amount: Decimal
    undispensed: list[UndispensedDrug]
    can_settle: bool


class SettlementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    kind: SettlementKind
    stay_id: int
    stay_number: str = ""
    patient_name: str = ""
    department_name: str = ""
    ward_name: str = ""
    bed_number: str = ""
    charge_type_name: str = ""
    admitted_at: datetime | None = None
    # A settlement's moment is the discharge; the stay's own discharged_at is cleared by a reversal.
    discharged_at: datetime | None = None
    reverses_id: int | None
    # The reversal of this settlement, once there is one.
    reversed_by_id: int | None = None
    total: Decimal
    insured: Decimal
    self_pay: Decimal
    deposits: Decimal
    refunded: Decimal
    collected: Decimal
    reimbursement_ratio: Decimal
    bed_days: int
    method: str
    categories: list[CategoryTotal] = []
    reason: str | None
    created_by: str
    created_at: datetime
    deposit_rows: list[DepositOut] = []

    @field_validator("categories", mode="before")
    @classmethod
    def _stored_as_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value
