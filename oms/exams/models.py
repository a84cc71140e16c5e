"""Examination results of paid item lines whose charge item needs an examination."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, Text
from sqlmodel import Field

from oms.db import OmsTable
from shared.types import UTCDateTime


class ExamState(StrEnum):
    """The lines a list of examinations shows: to do (paid) or done (examined)."""

    paid = "paid"
    examined = "examined"


class ExamResult(OmsTable, table=True):
    __tablename__ = "exam_results"
    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="order_lines.id", unique=True)
    visit_id: int = Field(foreign_key="visits.id", index=True)
    text: str = Field(sa_type=Text)
    examined_by: str = Field(sa_type=String(64))
    examined_at: datetime = Field(sa_type=UTCDateTime)


class ExamFile(OmsTable, table=True):
    __tablename__ = "exam_files"
    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="exam_results.id", index=True)
    key: str = Field(sa_type=String(255), unique=True)
    filename: str = Field(sa_type=String(200))
    content_type: str = Field(sa_type=String(50))
    size: int
    sha256: str = Field(sa_type=String(64))


class ExamFileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class ExamResultOut(BaseModel):
    text: str
    examined_by: str
    examined_at: datetime
    files: list[ExamFileOut]


class ExamOut(BaseModel):
    line_id: int
    order_id: int
    visit_id: int
    visit_number: str
    patient_name: str
    name: str
    state: str
    result: ExamResultOut | None
