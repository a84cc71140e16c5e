"""Whom the desk phones about a set of visits (a doctor's leave names the visits it hit)."""

from __future__ import annotations

from pydantic import BaseModel

from oms.visits.models import VisitState

MAX_NUMBERS = 200


class VisitContact(BaseModel):
    visit_number: str
    patient_name: str
    phone: str | None  # masked unless the caller holds pii:read
    state: VisitState
