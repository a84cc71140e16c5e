"""What an operation-log row is about, in words a person reads: the number, name or user name
found in the row's snapshot, never `#id` (a row id means nothing at the desk).

Read from `after` (what the row made), else `before` (what a delete removed). The snapshots are
the ones the reader may see: personal data is already masked by the module that answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.i18n import Text, render

SHIFTS = {"morning": Text("上午", "morning"), "afternoon": Text("下午", "afternoon")}

# Which snapshot fields name a row of each entity, joined by a space (a missing one is left out).
FIELDS: dict[str, tuple[str, ...]] = {
    "visit": ("number", "patient_name"),
    "order": ("number", "visit_number"),
    "payment": ("number", "patient_name"),
    "exam": ("name", "patient_name"),
    "dispensing_order": ("order_number", "patient_name"),
    "booking": ("visit_number",),
    "role": ("name",),
    "patient": ("name",),
}
# Any other entity (master data, later modules): the first of these it has.
FALLBACK = ("number", "name", "username", "code")


def _shift(value: Any) -> str:
    return render(SHIFTS[value]) if value in SHIFTS else ""


def _schedule(s: dict[str, Any]) -> str:
    return _join(s.get("doctor_name"), s.get("date"), _shift(s.get("shift")))


def _leave(s: dict[str, Any]) -> str:
    start = _join(s.get("start_date"), _shift(s.get("start_shift")))
    end = _join(s.get("end_date"), _shift(s.get("end_shift")))
    return _join(s.get("doctor_name"), f"{start} – {end}" if start and end else start)


def user_subject(s: dict[str, Any]) -> str:
    name, username = s.get("real_name"), s.get("username")
    return f"{name}（{username}）" if name and username else str(name or username or "")


SPECIAL: dict[str, Callable[[dict[str, Any]], str]] = {"schedule": _schedule, "leave": _leave, "user": user_subject}


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def subject(entity: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """The row's subject, or "" when its snapshot names nothing (the reader sees the entity)."""
    snapshot = after or before or {}
    if entity in SPECIAL:
        return SPECIAL[entity](snapshot)
    if entity in FIELDS:
        return _join(*(snapshot.get(f) for f in FIELDS[entity]))
    return next((str(snapshot[f]) for f in FALLBACK if snapshot.get(f) not in (None, "")), "")
