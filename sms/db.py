"""The warehouse service's own metadata: its migrations see only these tables."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata
from shared.feed import feed_table
from shared.idempotency import idempotency_table
from shared.outbox import outbox_table
from shared.sequences import counter_table
from shared.stock import stock_tables

metadata = service_metadata()


class SmsTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
# Messages to other services (outbound orders → pms), written in the same transaction as the change.
outbox = outbox_table(metadata)
# Messages received from other services' outboxes, applied once per Idempotency-Key.
idempotency_keys = idempotency_table(metadata)
# Business numbers (RK20261128-00001) and the feed's order.
counters = counter_table(metadata)
feed = feed_table(metadata)
# Stock by batch in each warehouse (store_id = the dbs warehouse id) and its ledger (操作记录).
stock = stock_tables(metadata)
