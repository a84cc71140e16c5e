"""What the pharmacy (pms) tells the service that sent it drugs — oms for a prescription, hms for a
ward's drug order — through its outbox. One contract, received the same by both
(docs/pharmacy.md, "Never both")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DispensedIn(BaseModel):
    """The pharmacy handed these lines out (`line_ids`: the sender's line ids; a report from before
    the pharmacy named them — absent — means every line not refunded)."""

    model_config = ConfigDict(extra="ignore")
    dispensing_number: str | None = Field(default=None, max_length=32)
    dispensed_at: datetime | None = None
    dispensed_by: str | None = Field(default=None, max_length=64)
    line_ids: list[int] | None = Field(default=None, max_length=200)


class ClaimedIn(BaseModel):
    """The pharmacy claimed these lines for the sender (a refund, a credit): the sender records what
    it never heard the answer to; `payment_id`, `reason` and `cashier` are the sender's own."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    claim: str = Field(min_length=1, max_length=100)
    order_id: int = Field(ge=1)
    payment_id: int = Field(ge=1)
    line_ids: list[int] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=200)
    cashier: str = Field(min_length=1, max_length=64)
