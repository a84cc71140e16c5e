"""The one list of the outpatient service's routers."""

from __future__ import annotations

from oms.admissions.router import routers as admissions
from oms.catalog.router import routers as catalog
from oms.contacts.router import routers as contacts
from oms.db import audit_log, change_feed, outbox
from oms.exams.router import routers as exams
from oms.orders.router import routers as orders
from oms.patients.router import routers as patients
from oms.patients.service import PERSONAL as PATIENT_PERSONAL
from oms.payments.router import routers as payments
from oms.settlements.router import routers as settlements
from oms.visits.router import routers as visits
from shared.audit_router import audit_router
from shared.feed import feed_router
from shared.i18n import Text
from shared.outbox_admin import outbox_router

# What oms sends (payments/service.py, visits/service.py), as the 消息队列 page names it.
OUTBOX_KINDS = {
    r"/api/pms/dispensing-orders": Text("处方送药房发药", "Prescription sent to the pharmacy"),
    r"/api/pms/dispensing-orders/by-source/oms/\d+/cancel": Text("退费撤销发药", "Dispensing cancelled by a refund"),
    r"/api/dms/bookings/[^/]+/release": Text("释放挂号号源", "Appointment slot released"),
}

# In the order a desk clerk works.
routers = [
    *patients,
    *contacts,  # before visits: /visits/contacts is not /visits/{visit_id}
    *visits,
    *admissions,
    *catalog,
    *orders,
    *payments,
    *settlements,
    *exams,
    feed_router("oms", change_feed),
    audit_router("oms", audit_log, {**PATIENT_PERSONAL}),
    outbox_router("oms", outbox, audit_log, OUTBOX_KINDS),
]
