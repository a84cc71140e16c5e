"""The gateway's own metadata: users, sessions and its audit trail."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.audit import audit_table
from shared.db import service_metadata

metadata = service_metadata()


class GatewayTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
