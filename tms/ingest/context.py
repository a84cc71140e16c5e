"""What a fact handler is given: the changes of one entity from one page, and the hospital's calendar."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from shared.feed import Change


@dataclass(frozen=True)
class Context:
    source: str
    zone: ZoneInfo

    def local(self, moment: datetime | str) -> datetime:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(self.zone)

    def day(self, moment: datetime | str) -> date:
        return self.local(moment).date()


# Applies changes (in feed order) to the fact tables, in the transaction that moves the cursor.
Handler = Callable[[AsyncSession, Sequence[Change], Context], Awaitable[None]]


def fen(amount: str | Decimal | int | float | None) -> int:
    """Yuan as integer fen: facts sum exactly in SQL on SQLite and MySQL alike."""
    if amount is None:
        return 0
    return int((Decimal(str(amount)) * 100).to_integral_value())


def month_of(day: date) -> int:
    return day.year * 100 + day.month
