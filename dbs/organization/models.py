"""Departments, registration types, doctors and handlers (经办人)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dbs.db import DbsTable
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut
from shared.types import MONEY_COLUMN, Mobile, Money, Phone


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


class Doctor(DoctorFields, RecordColumns, DbsTable, table=True):
    __tablename__ = "doctors"
    __table_args__ = (UniqueConstraint("code"),)


class DoctorIn(DoctorFields):
    model_config = INPUT_CONFIG
    phone: Mobile = None


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
