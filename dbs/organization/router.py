from __future__ import annotations

from dbs.organization import service
from shared.crud_router import crud_router

TAG = "organisation 科室与人员"

routers = [
    crud_router(service.departments, "dbs", "departments", TAG),
    crud_router(service.registration_types, "dbs", "registration-types", TAG),
    crud_router(service.doctors, "dbs", "doctors", TAG),
    crud_router(service.handlers, "dbs", "handlers", TAG),
]
