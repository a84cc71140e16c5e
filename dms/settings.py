from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class DmsSettings(ServiceSettings):
    component: ClassVar[str] = "dms"
    port: int = Field(8105, description="Port of the scheduling service.")
