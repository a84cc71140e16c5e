"""Fields every managed record has, for tables and for what the API answers."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, inspect
from sqlmodel import Field, SQLModel

from shared.i18n import Text
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


def table_of(model: type[SQLModel]) -> Table:
    """The table a ``table=True`` model is mapped to: its ``__table__``, which SQLModel does not
    declare, so a type checker cannot see it."""
    return cast(Table, inspect(model).local_table)


def distinct(values: list[int], what: Text) -> list[int]:
    """`values`, refused when one appears twice (a ValueError, which pydantic reports on the field
    being validated with `what` as its message)."""
    if len(values) != len(set(values)):
        raise ValueError(what)
    return values
