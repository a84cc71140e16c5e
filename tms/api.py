"""The one list of the statistics service's routers."""

from __future__ import annotations

from shared.audit_router import audit_router
from tms.db import audit_log
from tms.ingest.router import router as feeds
from tms.reports.router import router as reports

routers = [feeds, reports, audit_router("tms", audit_log, {})]
