"""The one list of the scheduling service's routers."""

from __future__ import annotations

from dms.bookings.router import routers as bookings
from dms.db import audit_log
from dms.leaves.router import routers as leaves
from dms.schedules.router import routers as schedules
from dms.visit_records.router import routers as visit_records
from shared.audit_router import audit_router

routers = [*schedules, *bookings, *leaves, *visit_records, audit_router("dms", audit_log, {})]
