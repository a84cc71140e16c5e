"""A visit as the desk sees it: with its orders, payments and pending admission."""

from __future__ import annotations

from pydantic import BaseModel

from oms.admissions.models import AdmissionRequestOut
from oms.orders.models import OrderOut
from oms.patients.models import PatientOut
from oms.payments.models import PaymentOut
from oms.visits.models import VisitOut


class VisitDetail(BaseModel):
    visit: VisitOut
    patient: PatientOut  # masked for callers without pii:read
    orders: list[OrderOut]
    payments: list[PaymentOut]
    admission: AdmissionRequestOut | None = None  # a transferred visit's request to the inpatient service


class TransitionOut(VisitOut):
    """The visit after a move; a transfer answers its pending admission, which is not an admission."""

    admission: AdmissionRequestOut | None = None
