from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class TmsSettings(ServiceSettings):
    component: ClassVar[str] = "tms"
    port: int = Field(8103, description="Port of the statistics service.")
    hospital_name: str = Field("HAMP 示范医院", description="The hospital's name printed on reports.")
    feed_sources: list[str] = Field(
        ["oms", "hms", "pms", "sms"], description="The services whose change feeds statistics are built from."
    )
    feed_poll_seconds: float = Field(
        5.0, gt=0, description="How often each change feed is polled when it had nothing new (statistics' delay)."
    )
    feed_page_size: int = Field(
        1000, ge=1, le=1000, description="Changes read and applied per transaction while catching up."
    )
    expiry_warning_days: int = Field(
        90, ge=1, description="Batches expiring within this many days count as expiring in the stock reports."
    )
