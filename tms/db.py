"""The statistics service's own metadata: its migrations see only these tables."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata

metadata = service_metadata()


class TmsTable(SQLModel):
    metadata = metadata


# tms writes no business records; its audit log holds exports of reports.
audit_log = audit_table(metadata)
