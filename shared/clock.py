"""The hospital's clock: now in UTC, and days and times as a person at the hospital reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    """The date a moment falls on at the hospital (its time zone)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_today(timezone: str) -> date:
    """Today at the hospital (its time zone), whatever the server's clock zone."""
    return local_date(utcnow(), timezone)


def local_day(day: date, timezone: str) -> tuple[datetime, datetime]:
    """A day at the hospital as the moments it starts and ends (the end excluded)."""
    start = datetime.combine(day, time.min, ZoneInfo(timezone))
    return start, datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(timezone))


def local_time(moment: datetime, timezone: str) -> str:
    """How a person at the hospital reads a moment: its local time, to the minute."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
