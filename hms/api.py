"""The one list of the inpatient service's routers."""

from __future__ import annotations

from hms.charges.router import routers as charges
from hms.db import audit_log, feed, outbox
from hms.deposits.router import routers as deposits
from hms.drugs.router import routers as drugs
from hms.settlements.router import routers as settlements
from hms.stays.router import routers as stays
from hms.wards.router import routers as wards
from shared.audit_router import audit_router
from shared.feed import feed_router
from shared.i18n import Text
from shared.outbox_admin import outbox_router

# What hms sends (drugs/, stays/service.py), as the 消息队列 page names it.
OUTBOX_KINDS = {
    r"/api/pms/dispensing-orders": Text("住院药品医嘱发往药房", "Inpatient drug order, sent to the pharmacy"),
    r"/api/oms/admission-requests/\d+/admit": Text("入院登记回报门诊", "Admission, reported to outpatients"),
}

routers = [
    *wards,
    *stays,
    *deposits,
    *charges,
    *drugs,
    *settlements,
    feed_router("hms", feed),
    audit_router("hms", audit_log, {}),
    outbox_router("hms", outbox, audit_log, OUTBOX_KINDS),
]
