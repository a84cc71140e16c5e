"""A visit as the desk sees it: with its orders and payments."""

from __future__ import annotations

from pydantic import BaseModel

from oms.orders.models import OrderOut
from oms.patients.models import PatientOut
from oms.payments.models import PaymentOut
from oms.visits.models import VisitOut


class VisitDetail(BaseModel):
    visit: VisitOut
    patient: PatientOut  # masked for callers without pii:read
    orders: list[OrderOut]
    payments: list[PaymentOut]
