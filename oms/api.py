"""The one list of the outpatient service's routers."""

from __future__ import annotations

from oms.db import audit_log, change_feed
from oms.exams.router import routers as exams
from oms.orders.router import routers as orders
from oms.patients.router import routers as patients
from oms.patients.service import PERSONAL as PATIENT_PERSONAL
from oms.payments.router import routers as payments
from oms.visits.router import routers as visits
from shared.audit_router import audit_router
from shared.feed import feed_router

# In the order a desk clerk works.
routers = [
    *patients,
    *visits,
    *orders,
    *payments,
    *exams,
    feed_router("oms", change_feed),
    audit_router("oms", audit_log, {**PATIENT_PERSONAL}),
]
