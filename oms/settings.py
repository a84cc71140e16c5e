from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class OmsSettings(ServiceSettings):
    component: ClassVar[str] = "oms"
    port: int = Field(8101, description="Port of the outpatient service.")
    hospital_name: str = Field("HAMP 示范医院", description="The hospital's name printed on receipts.")
    exam_file_max_bytes: int = Field(10 * 1024 * 1024, description="Largest examination report file accepted.")
