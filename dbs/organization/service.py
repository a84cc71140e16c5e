"""The rules of the organisation's master data (the generic ones live in shared.crud)."""

from __future__ import annotations

from dbs.db import audit_log
from dbs.labels import FIELDS
from dbs.organization.models import (
    Department,
    DepartmentIn,
    DepartmentOut,
    Doctor,
    DoctorIn,
    DoctorOut,
    Handler,
    HandlerIn,
    HandlerOut,
    RegistrationType,
    RegistrationTypeIn,
    RegistrationTypeOut,
)
from shared.crud import Reference, Resource
from shared.i18n import Text

DEPARTMENT = Text("科室", "department")
REGISTRATION_TYPE = Text("挂号类型", "registration type")

departments = Resource(
    key="department",
    label=DEPARTMENT,
    table=Department,
    create_schema=DepartmentIn,
    read_schema=DepartmentOut,
    audit_table=audit_log,
    search=("name", "code", "location"),
    unique=(("code",), ("name",)),
    field_labels=FIELDS,
)
registration_types = Resource(
    key="registration_type",
    label=REGISTRATION_TYPE,
    table=RegistrationType,
    create_schema=RegistrationTypeIn,
    read_schema=RegistrationTypeOut,
    audit_table=audit_log,
    field_labels=FIELDS,
)
doctors = Resource(
    key="doctor",
    label=Text("医生", "doctor"),
    table=Doctor,
    create_schema=DoctorIn,
    read_schema=DoctorOut,
    audit_table=audit_log,
    search=("name", "code"),
    unique=(("code",),),
    references=(
        Reference("department_id", Department, DEPARTMENT),
        Reference("registration_type_id", RegistrationType, REGISTRATION_TYPE),
    ),
    field_labels=FIELDS,
    scope_field="department_id",
    pii={"phone": "phone"},
)
handlers = Resource(
    key="handler",
    label=Text("经办人", "handler"),
    table=Handler,
    create_schema=HandlerIn,
    read_schema=HandlerOut,
    audit_table=audit_log,
    search=("name", "phone"),
    unique=(("name", "phone"),),
    references=(Reference("department_id", Department, DEPARTMENT),),
    field_labels=FIELDS,
    scope_field="department_id",
    pii={"phone": "phone"},
)
