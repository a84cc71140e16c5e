"""The scheduling service's own metadata: its migrations see only these tables."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata

metadata = service_metadata()


class DmsTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
