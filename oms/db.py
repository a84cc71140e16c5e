"""The outpatient service's own metadata: its migrations see only these tables."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata
from shared.feed import feed_table
from shared.idempotency import idempotency_table
from shared.outbox import outbox_table
from shared.sequences import counter_table

metadata = service_metadata()


class OmsTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
counters = counter_table(metadata)
change_feed = feed_table(metadata)
outbox = outbox_table(metadata)
idempotency_keys = idempotency_table(metadata)
