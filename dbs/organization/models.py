"""Departments, registration types, doctors and handlers (经办人)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import ValidationInfo, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dbs.db import DbsTable
from shared.fields import HourMinute, Mobile, Money, Phone
from shared.i18n import Text
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut
from shared.types import MONEY_COLUMN


class DepartmentKind(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    MEDICAL_TECH = "medical_tech"
    ADMINISTRATIVE = "administrative"


class DepartmentFields(SQLModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    kind: DepartmentKind = Field(sa_type=String(20))
    phone: str | None = Field(default=None, max_length=20)
    location: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class Department(DepartmentFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("code"), UniqueConstraint("name"))


class DepartmentIn(DepartmentFields):
    model_config = INPUT_CONFIG
    phone: Phone = None


class DepartmentOut(DepartmentFields, RecordOut):
    pass


class RegistrationTypeFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    fee: Decimal = Field(sa_type=MONEY_COLUMN)
    description: str | None = Field(default=None, max_length=500)


class RegistrationType(RegistrationTypeFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "registration_types"
    __table_args__ = (UniqueConstraint("name"),)


class RegistrationTypeIn(RegistrationTypeFields):
    model_config = INPUT_CONFIG
    fee: Money


class RegistrationTypeOut(RegistrationTypeFields, RecordOut):
    pass


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class DoctorTitle(StrEnum):
    CHIEF = "chief"
    ASSOCIATE_CHIEF = "associate_chief"
    ATTENDING = "attending"
    RESIDENT = "resident"


class DoctorFields(SQLModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    sex: Sex = Field(sa_type=String(10))
    title: DoctorTitle = Field(sa_type=String(20))
    department_id: int = Field(foreign_key="departments.id", index=True, ge=1)
    registration_type_id: int = Field(foreign_key="registration_types.id", index=True, ge=1)
    phone: str | None = Field(default=None, max_length=20)
    introduction: str | None = Field(default=None, max_length=1000)
    # The legacy monolith's hours (table `doctor`); registration closes when a shift has ended.
    am_start: str = Field(default="08:00", max_length=5)
    am_end: str = Field(default="12:00", max_length=5)
    pm_start: str = Field(default="14:00", max_length=5)
    pm_end: str = Field(default="18:00", max_length=5)


# Each time after the one before it ("HH:MM" compares as text); the afternoon may start as the
# morning ends. Checked on the later field so the 422 names the one to correct.
HOURS_ORDER = (
    ("am_end", "am_start", False, Text("上午结束须晚于上午开始", "must be after the morning's start")),
    ("pm_start", "am_end", True, Text("下午开始不能早于上午结束", "must not be before the morning's end")),
    ("pm_end", "pm_start", False, Text("下午结束须晚于下午开始", "must be after the afternoon's start")),
)


class Doctor(DoctorFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "doctors"
    __table_args__ = (UniqueConstraint("code"),)


class DoctorIn(DoctorFields):
    model_config = INPUT_CONFIG
    phone: Mobile = None
    am_start: HourMinute = "08:00"
    am_end: HourMinute = "12:00"
    pm_start: HourMinute = "14:00"
    pm_end: HourMinute = "18:00"

    @field_validator("am_end", "pm_start", "pm_end")
    @classmethod
    def _in_day_order(cls, value: str, info: ValidationInfo) -> str:
        for name, earlier, may_equal, message in HOURS_ORDER:
            before = info.data.get(earlier)
            if (
                name == info.field_name
                and before is not None
                and (value < before or (value == before and not may_equal))
            ):
                raise ValueError(message)
        return value


class DoctorOut(DoctorFields, RecordOut):
    department_name: str | None = None
    registration_type_name: str | None = None


class HandlerFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True, ge=1)


class Handler(HandlerFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "handlers"
    __table_args__ = (UniqueConstraint("name", "phone"),)


class HandlerIn(HandlerFields):
    model_config = INPUT_CONFIG
    phone: Mobile = None


class HandlerOut(HandlerFields, RecordOut):
    department_name: str | None = None
