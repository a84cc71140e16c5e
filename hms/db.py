"""The inpatient service's own metadata: its migrations see only these tables."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata
from shared.feed import feed_table
from shared.idempotency import idempotency_table
from shared.outbox import outbox_table
from shared.sequences import counter_table

metadata = service_metadata()


class HmsTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
# Business numbers (ZY20261128-00001) and the feed's order.
counters = counter_table(metadata)
feed = feed_table(metadata)
# Drug orders to the pharmacy and admissions reported to oms, written in the same transaction.
outbox = outbox_table(metadata)
# Reports received from pms's outbox, applied once per Idempotency-Key.
idempotency_keys = idempotency_table(metadata)
