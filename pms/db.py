"""The pharmacy service's own metadata: its migrations see only these tables."""

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


class PmsTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
# Reports to other services (dispensed → oms), written in the same transaction as the change.
outbox = outbox_table(metadata)
# Orders received from oms's outbox, applied once per Idempotency-Key.
idempotency_keys = idempotency_table(metadata)
# Business numbers (FY20261122-00001) and the feed's order.
counters = counter_table(metadata)
feed = feed_table(metadata)
# The pharmacy's stock by batch and its ledger: shared/stock.py keeps them equal.
stock = stock_tables(metadata)
# The pharmacy's store in those tables (the warehouse's stores are sms's own).
PHARMACY = 1
