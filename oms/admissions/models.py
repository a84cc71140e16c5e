"""Admission requests (待入院): a visit transferred to inpatient care, until the inpatient service
takes the patient in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import String
from sqlmodel import Field

from oms.db import OmsTable
from shared.types import UTCDateTime


class AdmissionState(StrEnum):
    pending = "pending"
    admitted = "admitted"
    cancelled = "cancelled"


class AdmissionRequest(OmsTable, table=True):
    __tablename__ = "admission_requests"
    id: int | None = Field(default=None, primary_key=True)
    # A visit is transferred once (transferred is final), so it has at most one request.
    visit_id: int = Field(foreign_key="visits.id", unique=True)
    visit_number: str = Field(sa_type=String(20))
    patient_id: int = Field(foreign_key="patients.id", index=True)
    patient_name: str = Field(sa_type=String(50))
    department_id: int = Field(index=True)
    department_name: str = Field(sa_type=String(50))
    doctor_id: int
    doctor_name: str = Field(sa_type=String(50))
    note: str | None = Field(default=None, sa_type=String(200))
    state: str = Field(sa_type=String(20), index=True)
    requested_by: str = Field(sa_type=String(64))
    requested_at: datetime = Field(sa_type=UTCDateTime)
    admission_number: str | None = Field(default=None, sa_type=String(30))
    admitted_by: str | None = Field(default=None, sa_type=String(64))
    admitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AdmissionRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    visit_id: int
    visit_number: str
    patient_id: int
    patient_name: str
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    note: str | None
    state: AdmissionState
    requested_by: str
    requested_at: datetime
    admission_number: str | None
    admitted_by: str | None
    admitted_at: datetime | None


class AdmitIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    admission_number: str = Pydantic(min_length=1, max_length=30)
