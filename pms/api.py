"""The one list of the pharmacy service's routers."""

from __future__ import annotations

from pms.db import audit_log, feed, outbox
from pms.dispensing.router import routers as dispensing
from shared.audit_router import audit_router
from shared.feed import feed_router
from shared.i18n import Text
from shared.outbox_admin import outbox_router

# What pms sends (dispensing/service.py), as the 消息队列 page names it.
OUTBOX_KINDS = {r"/api/oms/orders/\d+/dispensed": Text("发药完成回报门诊", "Dispensed, reported to outpatients")}

routers = [
    *dispensing,
    feed_router("pms", feed),
    audit_router("pms", audit_log, {}),
    outbox_router("pms", outbox, audit_log, OUTBOX_KINDS),
]
