from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class DmsSettings(ServiceSettings):
    component: ClassVar[str] = "dms"
    port: int = Field(8105, description="Port of the scheduling service.")
    masterdata_ttl_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a booking may use doctors and registration types (hours, fee) read from dbs "
        "before asking again; a change in dbs reaches bookings within this time (0: ask every time).",
    )
