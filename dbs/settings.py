from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class DbsSettings(ServiceSettings):
    component: ClassVar[str] = "dbs"
    port: int = Field(8104, description="Port of the master-data service.")
