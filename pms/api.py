"""The one list of the pharmacy service's routers."""

from __future__ import annotations

from pms.db import audit_log, feed, outbox
from pms.db import stock as stock_tables
from pms.dispensing.router import routers as dispensing
from pms.returns.router import routers as returns
from pms.shortages.router import routers as shortages
from pms.stock.router import routers as stock
from shared.audit_router import audit_router
from shared.feed import feed_router
from shared.i18n import Text
from shared.outbox_admin import outbox_router
from shared.stock import stock_audit_router

# What pms sends (dispensing/, shortages/, returns/service.py), as the 消息队列 page names it.
OUTBOX_KINDS = {
    r"/api/oms/orders/\d+/dispensed": Text("发药完成回报门诊", "Dispensed, reported to outpatients"),
    r"/api/hms/orders/\d+/dispensed": Text("发药完成回报住院", "Dispensed, reported to inpatients"),
    r"/api/oms/refunds/claimed": Text("退费确认回报门诊", "Refund claim, reported to outpatients"),
    r"/api/hms/refunds/claimed": Text("退药退费回报住院", "Drug return claim, reported to inpatients"),
    r"/api/sms/shortage-requests": Text("报缺单发往仓库", "Shortage request, sent to the warehouse"),
    r"/api/sms/returns": Text("退库单发往仓库", "Return, sent to the warehouse"),
}

routers = [
    *dispensing,
    *returns,
    # Before the stock routes: /stock/audit is not a batch.
    stock_audit_router("pms", stock_tables),
    *stock,
    *shortages,
    feed_router("pms", feed),
    audit_router("pms", audit_log, {}),
    outbox_router("pms", outbox, audit_log, OUTBOX_KINDS),
]
