"""The one list of the master-data service's routers."""

from __future__ import annotations

from dbs.charges.router import routers as charges
from dbs.db import audit_log
from dbs.drugs.router import routers as drugs
from dbs.logistics.router import routers as logistics
from dbs.organization import service as organization_service
from dbs.organization.router import routers as organization
from shared.audit_router import audit_router

# Resources with personal fields, masked in the audit log too.
PERSONAL = {r.key: r.pii for r in (organization_service.doctors, organization_service.handlers)}

routers = [*organization, *drugs, *charges, *logistics, audit_router("dbs", audit_log, PERSONAL)]
