from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class SmsSettings(ServiceSettings):
    component: ClassVar[str] = "sms"
    port: int = Field(8106, description="Port of the warehouse service.")
    low_stock_threshold: int = Field(
        30,
        ge=0,
        description="Low-stock threshold of a drug that has none of its own (库存不足): an alert when its "
        "unexpired stock in the warehouse falls below it (the legacy system's fixed 30).",
    )
    expiry_warning_days: int = Field(
        90,
        ge=0,
        le=3650,
        description="Expiry alerts (过期提醒) list batches that expire within this many days unless the "
        "request names its own `days`.",
    )
