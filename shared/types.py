"""Column types with the platform's rules: times stored as UTC, money as exact decimals.

The hospital's clock is shared/clock.py; validated input fields (money, phones) shared/fields.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite and MySQL DATETIME keep no zone), read back as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # MySQL's plain DATETIME drops the microseconds; keep them, as SQLite does.
        if dialect.name == "mysql":
            return dialect.type_descriptor(MYSQL_DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC with a zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


MONEY_COLUMN = Numeric(12, 2, asdecimal=True)
RATIO_COLUMN = Numeric(5, 2, asdecimal=True)
