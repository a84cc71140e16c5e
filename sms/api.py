"""The one list of the warehouse service's routers."""

from __future__ import annotations

from shared.audit_router import audit_router
from shared.feed import feed_router
from shared.i18n import Text
from shared.outbox_admin import outbox_router
from shared.stock import stock_audit_router
from sms.alerts.router import routers as alerts
from sms.db import audit_log, feed, outbox
from sms.db import stock as stock_tables
from sms.disposals.router import routers as disposals
from sms.inbound.router import routers as inbound
from sms.outbound.router import routers as outbound
from sms.purchases.router import routers as purchases
from sms.returns.router import routers as returns
from sms.shortages.router import routers as shortages
from sms.stock.router import routers as stock
from sms.stocktakes.router import routers as stocktakes

# What sms sends (outbound/service.py), as the 消息队列 page names it.
OUTBOX_KINDS: dict[str, Text] = {
    r"/api/pms/deliveries": Text("出库单发往药房", "Outbound order, delivered to the pharmacy")
}

routers = [
    *inbound,
    # Before the stock routes: /stock/audit is not a batch.
    stock_audit_router("sms", stock_tables),
    *stock,
    *alerts,
    *purchases,
    *stocktakes,
    *disposals,
    *outbound,
    *shortages,
    *returns,
    feed_router("sms", feed),
    audit_router("sms", audit_log, {}),
    outbox_router("sms", outbox, audit_log, OUTBOX_KINDS),
]
