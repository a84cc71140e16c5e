from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class BedDayRule(StrEnum):
    # 算入不算出: every night spent is a day, the admission day counts and the discharge day does not
    # (a stay that ends the day it began is still one day).
    in_not_out = "in_not_out"
    # 算入又算出: the discharge day counts too.
    in_and_out = "in_and_out"


class HmsSettings(ServiceSettings):
    component: ClassVar[str] = "hms"
    port: int = Field(8102, description="Port of the inpatient service.")
    hospital_name: str = Field("HAMP 示范医院", description="The hospital's name printed on settlements.")
    bed_day_rule: BedDayRule = Field(
        BedDayRule.in_not_out,
        description="How bed-days are counted: in_not_out (算入不算出) or in_and_out (算入又算出).",
    )
    bed_day_interval_seconds: float = Field(
        300.0, ge=1, description="How often every stay's bed-days are accrued (also on transfer and settlement)."
    )
    low_balance_threshold: Decimal = Field(
        Decimal("500.00"), ge=0, description="A stay whose deposit balance is below this is listed as low (催款)."
    )
    exam_file_max_bytes: int = Field(10 * 1024 * 1024, description="Largest examination report file accepted.")
