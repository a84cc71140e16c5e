"""Fields every managed record has, for tables and for what the API answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from shared.types import UTCDateTime


class RecordColumns(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    enabled: bool = Field(default=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecordOut(BaseModel):
    id: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


# What a client sends: surrounding blanks dropped; read-only fields it echoes back are ignored.
INPUT_CONFIG = ConfigDict(str_strip_whitespace=True, extra="ignore")
