"""Low-stock thresholds (库存下限) and what the alerts (库存不足, 过期提醒) answer."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import String
from sqlmodel import Field

from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime
from sms.db import SmsTable
from sms.stock.models import StockRow


class Threshold(SmsTable, table=True):
    """A drug's own low-stock threshold; a drug without a row uses the `low_stock_threshold` setting."""

    __tablename__ = "stock_thresholds"

    drug_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    threshold: int
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(sa_type=String(64))


class ThresholdIn(BaseModel):
    model_config = INPUT_CONFIG
    threshold: int = Field(ge=0, le=1_000_000)


class ThresholdOut(BaseModel):
    drug_id: int
    threshold: int
    # True: the drug has no threshold of its own and this is the setting's.
    default: bool


class LowStockRow(BaseModel):
    drug_id: int
    drug_code: str
    drug_name: str
    drug_spec: str
    unit_name: str | None
    # Unexpired units (in the warehouse asked for, or in all): what can still be sent out.
    quantity: int
    threshold: int
    shortfall: int


class ExpiryStatus(StrEnum):
    expired = "expired"  # 已过期: may only be disposed of
    expiring = "expiring"  # 即将过期


class ExpiryRow(StockRow):
    status: ExpiryStatus
    # Days until the expiry date (negative: days since it passed).
    days_left: int
