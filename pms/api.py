"""The one list of the pharmacy service's routers."""

from __future__ import annotations

from pms.db import audit_log, feed
from pms.dispensing.router import routers as dispensing
from shared.audit_router import audit_router
from shared.feed import feed_router

routers = [*dispensing, feed_router("pms", feed), audit_router("pms", audit_log, {})]
