from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class PmsSettings(ServiceSettings):
    component: ClassVar[str] = "pms"
    port: int = Field(8107, description="Port of the pharmacy service.")
