from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, String
from sqlmodel import Field

from shared.types import UTCDateTime
from tms.db import TmsTable


class FeedCursor(TmsTable, table=True):
    """How far one source's change feed has been applied (docs/statistics.md, Ingestion)."""

    __tablename__ = "feed_cursors"
    source: str = Field(sa_type=String(16), primary_key=True)
    # The last seq applied: moved only in the transaction that applied the changes up to it.
    after: int = Field(default=0, sa_type=BigInteger)
    # The source's newest seq when last read: `head - after` changes are still to apply.
    head: int = Field(default=0, sa_type=BigInteger)
    polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last poll that found nothing more to read: the facts are complete up to this moment.
    current_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the last poll failed, as a code (unavailable, failed) put in words when read.
    error: str | None = Field(default=None, sa_type=String(200))
    error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FeedState(BaseModel):
    source: str
    name: str
    after: int
    head: int
    behind: int
    polled_at: datetime | None
    current_at: datetime | None
    error: str | None
    error_at: datetime | None
