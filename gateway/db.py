"""The gateway's own metadata: users, sessions and its audit trail."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from shared.audit import audit_table

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class GatewayTable(SQLModel):
    metadata = metadata


audit_log = audit_table(metadata)
