"""Dates as the hospital reads them: "today" and weeks in its own time zone, shifts in day order."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Request

from shared.types import local_today

Shift = Literal["morning", "afternoon"]
MORNING = "morning"
AFTERNOON = "afternoon"

# Alphabetical order would put the afternoon first; the day does not.
SHIFT_ORDER = {MORNING: 0, AFTERNOON: 1}


def hospital_today(request: Request) -> dt.date:
    return local_today(request.app.state.settings.timezone)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def half_day(day: dt.date, shift: str) -> tuple[dt.date, int]:
    """A comparable point in time of a shift: (date, 0 morning | 1 afternoon)."""
    return day, SHIFT_ORDER[shift]
