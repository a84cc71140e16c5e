"""A generated outpatient history as oms's feed would carry it, and its figures counted by hand.

Visits over four months across a year boundary (2025-11 … 2026-02), each paid for registration
and some for drugs and items, by cash or insurance; some refunded (wholly or in part, sometimes in
a later month than the payment), some registrations cancelled. The expected figures are summed here
straight from the records, in Decimal, without any of tms's code.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.feed import Change, FeedPage

ZONE = ZoneInfo("Asia/Shanghai")
DOCTORS = {11: 1, 12: 1, 21: 2}  # doctor → department
CASHIERS = ("cashier_a", "cashier_b")


@dataclass
class History:
    changes: list[Change] = field(default_factory=list)
    # (month "2026-01", doctor, method, category) → net yuan; refunds and insured likewise
    net: dict[tuple[str, int, str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    refunded: dict[tuple[str, int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    insured: dict[tuple[str, int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    visits: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    cancelled: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    # (local day, cashier) → (payments, refunds, paid, refunded)
    cashier: dict[tuple[date, str], list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    )
    # (local day, hour) → (visits not cancelled, revenue)
    hourly: dict[tuple[date, int], list[Any]] = field(default_factory=lambda: defaultdict(lambda: [0, Decimal(0)]))

    def add(self, at: datetime, entity: str, entity_id: int, action: str, data: dict[str, Any]) -> None:
        self.changes.append(Change(seq=len(self.changes) + 1, at=at, entity=entity, entity_id=str(entity_id),
                                   action=action, data=data))  # fmt: skip

    def pages(self, size: int, after: int = 0) -> list[FeedPage]:
        todo = [c for c in self.changes if c.seq > after]
        head = len(self.changes)
        return [
            FeedPage(items=todo[i : i + size], next=todo[min(i + size, len(todo)) - 1].seq, head=head)
            for i in range(0, len(todo), size)
        ]


def _month(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%Y-%m")


def generate(seed: int = 7, visits: int = 400) -> History:
    rng = random.Random(seed)
    history = History()
    start = datetime(2025, 11, 1, tzinfo=ZONE)
    payment_id = 0
    for visit_id in range(1, visits + 1):
        # Spread over 2025-11-01 … 2026-02-28 local, at clinic hours; some right at midnight's edges.
        day = start + timedelta(days=rng.randrange(0, 120))
        at_local = day.replace(hour=rng.choice([0, 8, 9, 10, 14, 15, 23]), minute=rng.randrange(60))
        at = at_local.astimezone(UTC)
        doctor = rng.choice(list(DOCTORS))
        department = DOCTORS[doctor]
        fee = Decimal(rng.choice(["5.00", "10.00", "20.50"]))
        visit_date = at_local.date()
        vmonth = visit_date.strftime("%Y-%m")
        history.add(at, "visit", visit_id, "registered",
                    {"number": f"MZ{visit_id:05d}", "visit_date": visit_date.isoformat(), "department_id": department,
                     "doctor_id": doctor, "registration_type_id": 1, "fee": str(fee)})  # fmt: skip
        history.visits[(vmonth, doctor)] += 1
        if rng.random() < 0.1:
            cancel_at = at + timedelta(minutes=5)
            cancelled = {"number": f"MZ{visit_id:05d}", "visit_date": visit_date.isoformat(),
                         "department_id": department, "doctor_id": doctor}  # fmt: skip
            history.add(cancel_at, "visit", visit_id, "cancelled", cancelled)
            history.cancelled[(vmonth, doctor)] += 1
        else:
            history.hourly[(at_local.date(), at_local.hour)][0] += 1
        bills = [("registration", fee)]
        if rng.random() < 0.6:
            bills.append(("drug", Decimal(rng.randrange(500, 30000)) / 100))
        if rng.random() < 0.4:
            bills.append(("item", Decimal(rng.randrange(1000, 50000)) / 100))
        for n, (category, amount) in enumerate(bills):
            payment_id += 1
            paid_at = at + timedelta(minutes=10 + n)
            method = rng.choice(["cash", "wechat", "insurance"])
            insured = (amount * Decimal("0.7")).quantize(Decimal("0.01")) if method == "insurance" else Decimal("0.00")
            cashier = rng.choice(CASHIERS)
            _pay(history, payment_id, visit_id, paid_at, "paid", category, method, amount, insured, cashier, doctor,
                 department)  # fmt: skip
            if rng.random() < 0.15:
                # Refunded in part or whole, sometimes weeks later (perhaps in the next month or year).
                payment_id += 1
                back = amount if rng.random() < 0.5 else (amount / 2).quantize(Decimal("0.01"))
                back_insured = (insured * back / amount).quantize(Decimal("0.01")) if amount else Decimal(0)
                refund_at = paid_at + timedelta(days=rng.choice([0, 3, 20]), minutes=30)
                _pay(history, payment_id, visit_id, refund_at, "refunded", category, method, -back, -back_insured,
                     cashier, doctor, department)  # fmt: skip
    return history


def _pay(history: History, payment_id: int, visit_id: int, at: datetime, action: str, category: str, method: str,
         amount: Decimal, insured: Decimal, cashier: str, doctor: int, department: int) -> None:  # fmt: skip
    history.add(at, "payment", payment_id, action,
                {"number": f"SF{payment_id:05d}", "kind": "refund" if action == "refunded" else category,
                 "method": method, "amount": str(amount), "visit_id": visit_id, "department_id": department,
                 "doctor_id": doctor, "order_id": None, "refund_of": None, "category": category,
                 "insured_amount": str(insured), "cashier": cashier, "created_at": at.isoformat()})  # fmt: skip
    month = _month(at)
    history.net[(month, doctor, method, category)] += amount
    history.insured[(month, doctor, method)] += insured
    local = at.astimezone(ZONE)
    counts = history.cashier[(local.date(), cashier)]
    if action == "refunded":
        history.refunded[(month, doctor, method)] += -amount
        counts[1] += 1
        counts[3] += -amount
    else:
        counts[0] += 1
        counts[2] += amount
    history.hourly[(local.date(), local.hour)][1] += amount
