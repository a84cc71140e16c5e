"""Dates as the hospital reads them: "today" and weeks in its own time zone, shifts in day order."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from shared.i18n import Text

Shift = Literal["morning", "afternoon"]
MORNING = "morning"
AFTERNOON = "afternoon"

SHIFT_LABELS = {MORNING: Text("上午", "morning"), AFTERNOON: Text("下午", "afternoon")}

# Alphabetical order would put the afternoon first; the day does not.
SHIFT_ORDER = {MORNING: 0, AFTERNOON: 1}


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def half_day(day: dt.date, shift: str) -> tuple[dt.date, int]:
    """A comparable point in time of a shift: (date, 0 morning | 1 afternoon)."""
    return day, SHIFT_ORDER[shift]


# A shift ends at the doctor's hour for it (dbs); these for a doctor dbs no longer has.
LEGACY_END = {MORNING: "12:00", AFTERNOON: "18:00"}


def shift_end(day: dt.date, shift: str, end: str | None, timezone: str) -> dt.datetime:
    """When a shift ends: `end` ("HH:MM", the doctor's hour) on that day, at the hospital."""
    return dt.datetime.combine(day, dt.time.fromisoformat(end or LEGACY_END[shift]), ZoneInfo(timezone))
