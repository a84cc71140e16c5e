"""A generated pharmacy and warehouse history as pms's and sms's feeds would carry it, and its
figures counted by hand.

Four months across a year boundary (2025-11 … 2026-02): inbound orders into two warehouses (some
reversed, days or weeks later), outbound orders delivered to the pharmacy, outpatient and inpatient
dispensing (lines refunded before the dispense, dispensed lines brought back by the patient and
then refunded), returns from the pharmacy to the warehouse (to stock or to disposal), disposals of
expired batches and stock-takes. Events run in time order against a hand-kept model of every
batch, so nothing takes more than a batch holds and nothing expired is dispensed or sent out. The
expected figures are summed here, in Decimal, without any of tms's code.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.feed import Change, FeedPage

ZONE = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 3, 1, tzinfo=ZONE)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ZONE)
TODAY = NOW.date()
WINDOW = 90  # tms's expiry_warning_days
WAREHOUSES = (1, 2)
DRUGS = range(1, 7)
# Expiry dates around today's edges: expired during the history, today (still usable), within the
# window, its last day outside it, and far away.
EXPIRIES = (
    date(2026, 1, 10),
    TODAY,
    date(2026, 4, 15),
    TODAY + timedelta(days=WINDOW - 1),
    TODAY + timedelta(days=WINDOW),
    date(2027, 6, 30),
    date(2027, 6, 30),
)


@dataclass
class Feed:
    changes: list[Change] = field(default_factory=list)

    def add(self, at: datetime, entity: str, entity_id: int, action: str, data: dict[str, Any]) -> None:
        self.changes.append(
            Change(
                seq=len(self.changes) + 1,
                at=at.astimezone(UTC),
                entity=entity,
                entity_id=str(entity_id),
                action=action,
                data=data,
            )
        )

    def pages(self, size: int, after: int = 0) -> list[FeedPage]:
        todo = [c for c in self.changes if c.seq > after]
        return [
            FeedPage(items=todo[i : i + size], next=todo[min(i + size, len(todo)) - 1].seq, head=len(self.changes))
            for i in range(0, len(todo), size)
        ]


@dataclass
class Batch:
    drug: int
    batch_no: str
    price: Decimal
    expiry: date
    quantity: int = 0

    def line(self, quantity: int) -> dict[str, Any]:
        return {
            "drug_id": self.drug,
            "batch_no": self.batch_no,
            "quantity": quantity,
            "purchase_price": str(self.price),
            "expiry_date": self.expiry.isoformat(),
        }


@dataclass
class History:
    pms: Feed = field(default_factory=Feed)
    sms: Feed = field(default_factory=Feed)
    # (month "2026-01", column) → yuan, as the reports name their columns (amounts positive)
    pharmacy: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    warehouse: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    # The shelves at the end: (warehouse, drug, batch) and (drug, batch) → batch
    in_warehouse: dict[tuple[int, int, str], Batch] = field(default_factory=dict)
    in_pharmacy: dict[tuple[int, str], Batch] = field(default_factory=dict)
    reversals: int = 0
    patient_returns: int = 0
    refunded_before_dispense: int = 0

    def shelf(self, source: str) -> dict[str, Decimal]:
        """Stock value now, expiring within the window (expired included), expired."""
        batches = self.in_pharmacy.values() if source == "pms" else self.in_warehouse.values()
        held = [b for b in batches if b.quantity > 0]

        def value(keep: Callable[[Batch], bool]) -> Decimal:
            return sum((b.quantity * b.price for b in held if keep(b)), Decimal("0.00"))

        return {
            "stock_value": value(lambda b: True),
            "expiring_value": value(lambda b: b.expiry < TODAY + timedelta(days=WINDOW)),
            "expired_value": value(lambda b: b.expiry < TODAY),
        }


def month(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%Y-%m")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.h = History()
        self.queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        self.ids: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.frozen: set[tuple[int, int, str]] = set()  # batches of an order waiting to be reversed

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self.queue, (moment, next(self.order), action))

    def next_id(self, kind: str) -> int:
        return next(self.ids[kind])

    def run(self) -> History:
        rng = self.rng
        start = datetime(2025, 11, 1, tzinfo=ZONE)
        for n in range(120):
            day = start + timedelta(days=n)

            def moment(day: datetime = day) -> datetime:
                hour = rng.choice([0, 8, 9, 10, 14, 16, 23])
                return day.replace(hour=hour, minute=rng.choice([0, 5, 30, 55]))

            if n % 4 == 0 or n < 3:
                self.at(moment(), self.inbound)
            for _ in range(rng.randrange(1, 3)):
                self.at(moment(), self.outbound)
            for _ in range(rng.randrange(1, 4)):
                self.at(moment(), self.dispensing)
            if rng.random() < 0.15:
                self.at(moment(), self.warehouse_return)
            if rng.random() < 0.3:
                self.at(moment(), self.disposal)
            if day.day == 20:
                self.at(moment(), self.stocktake)
        # What would happen after the history's end (a late reversal, a delivery in transit) does not.
        while self.queue and self.queue[0][0] < END:
            when, _, action = heapq.heappop(self.queue)
            action(when)
        return self.h

    # --- the warehouse ---------------------------------------------------------------------------
    def inbound(self, at: datetime) -> None:
        rng, h = self.rng, self.h
        order_id, warehouse = self.next_id("inbound"), rng.choice(WAREHOUSES)
        lines: list[tuple[Batch, int]] = []
        for _ in range(rng.randrange(1, 4)):
            drug = rng.choice(DRUGS)
            batch = Batch(
                drug, f"W{order_id}-{drug}-{len(lines)}", Decimal(rng.randrange(100, 5000)) / 100, rng.choice(EXPIRIES)
            )
            quantity = rng.randrange(20, 200)
            batch.quantity = quantity
            h.in_warehouse[(warehouse, drug, batch.batch_no)] = batch
            lines.append((batch, quantity))
            h.warehouse[(month(at), "inbound")] += quantity * batch.price
        data = {
            "number": f"RK{order_id:05d}",
            "warehouse_id": warehouse,
            "supplier_id": 1,
            "reverses_id": None,
            "posted_at": at.isoformat(),
            "lines": [b.line(q) for b, q in lines],
        }
        h.sms.add(at, "inbound_order", order_id, "posted", data)
        if rng.random() < 0.2:
            # Reversed later (the same day, days later or in the next month), untouched until then.
            keys = {(warehouse, b.drug, b.batch_no) for b, _ in lines}
            self.frozen |= keys
            later = at + timedelta(days=rng.choice([0, 6, 25]), hours=1)
            self.at(later, lambda when: self.reverse(when, order_id, warehouse, lines, keys))

    def reverse(
        self, at: datetime, order_id: int, warehouse: int, lines: list[tuple[Batch, int]], keys: set[Any]
    ) -> None:
        h = self.h
        reversal = self.next_id("inbound")
        for batch, quantity in lines:
            batch.quantity -= quantity
            h.warehouse[(month(at), "reversed")] += quantity * batch.price
        self.frozen -= keys
        h.reversals += 1
        data = {
            "number": f"RK{reversal:05d}",
            "warehouse_id": warehouse,
            "supplier_id": 1,
            "reverses_id": order_id,
            "posted_at": at.isoformat(),
            "lines": [b.line(-q) for b, q in lines],
        }
        h.sms.add(at, "inbound_order", reversal, "reversal_posted", data)

    def _usable(self, at: datetime) -> list[tuple[tuple[int, int, str], Batch]]:
        today = at.astimezone(ZONE).date()
        return [
            (k, b)
            for k, b in self.h.in_warehouse.items()
            if b.quantity > 0 and b.expiry >= today and k not in self.frozen
        ]

    def outbound(self, at: datetime) -> None:
        """To the pharmacy: sms's outbound order, then pms's delivery a little later."""
        rng, h = self.rng, self.h
        usable = self._usable(at)
        if not usable:
            return
        (warehouse, _, _), batch = rng.choice(usable)
        quantity = rng.randrange(1, min(batch.quantity, 40) + 1)
        batch.quantity -= quantity
        order_id = self.next_id("outbound")
        h.warehouse[(month(at), "outbound")] += quantity * batch.price
        h.sms.add(
            at,
            "outbound_order",
            order_id,
            "posted",
            {
                "number": f"CK{order_id:05d}",
                "warehouse_id": warehouse,
                "shortage_request_id": None,
                "created_at": at.isoformat(),
                "lines": [batch.line(quantity)],
            },
        )
        # The relay delivers it minutes later: perhaps after midnight, in the next month.
        self.at(at + timedelta(minutes=20), lambda when: self.delivery(when, order_id, warehouse, batch, quantity))

    def delivery(self, at: datetime, order_id: int, warehouse: int, batch: Batch, quantity: int) -> None:
        h = self.h
        shelf = h.in_pharmacy.setdefault(
            (batch.drug, batch.batch_no), Batch(batch.drug, batch.batch_no, batch.price, batch.expiry)
        )
        shelf.quantity += quantity
        h.pharmacy[(month(at), "received")] += quantity * batch.price
        delivery = self.next_id("delivery")
        h.pms.add(
            at,
            "delivery",
            delivery,
            "received",
            {
                "number": f"YR{delivery:05d}",
                "outbound_number": f"CK{order_id:05d}",
                "warehouse_id": warehouse,
                "received_at": at.isoformat(),
                "lines": [{**batch.line(quantity), "code": f"YP{batch.drug:03d}"}],
            },
        )

    def disposal(self, at: datetime) -> None:
        rng, h = self.rng, self.h
        today = at.astimezone(ZONE).date()
        expired = [
            (k, b) for k, b in h.in_warehouse.items() if b.quantity > 0 and b.expiry < today and k not in self.frozen
        ]
        if not expired:
            return
        (warehouse, _, _), batch = rng.choice(expired)
        quantity = rng.randrange(1, batch.quantity + 1)
        batch.quantity -= quantity
        h.warehouse[(month(at), "disposals")] += quantity * batch.price
        disposal = self.next_id("disposal")
        h.sms.add(
            at,
            "disposal",
            disposal,
            "disposed",
            {"number": f"XH{disposal:05d}", "warehouse_id": warehouse, **batch.line(-quantity), "expired": True},
        )

    def stocktake(self, at: datetime) -> None:
        rng, h = self.rng, self.h
        held = [(k, b) for k, b in h.in_warehouse.items() if k[0] == 1 and b.quantity > 2 and k not in self.frozen]
        if len(held) < 2:
            return
        lines = []
        for (_, _, _), batch in rng.sample(held, 2):
            difference = rng.choice([3, -2])
            batch.quantity += difference
            h.warehouse[(month(at), "adjustments")] += difference * batch.price
            lines.append(batch.line(difference))
        sheet = self.next_id("stocktake")
        h.sms.add(
            at,
            "stocktake",
            sheet,
            "approved",
            {"number": f"PD{sheet:05d}", "warehouse_id": 1, "approved_at": at.isoformat(), "lines": lines},
        )

    # --- the pharmacy ----------------------------------------------------------------------------
    def dispensing(self, at: datetime) -> None:
        """An order received, perhaps a line refunded before the dispense, then dispensed from
        unexpired batches first expiry first; now and then a line brought back later and refunded."""
        rng, h = self.rng, self.h
        today = at.astimezone(ZONE).date()
        source = rng.choice(["oms", "hms"])
        order_id = self.next_id("dispensing")
        wanted: list[dict[str, Any]] = []
        for n in range(rng.randrange(1, 3)):
            drug = rng.choice(DRUGS)
            wanted.append(
                {
                    "line_id": 10 * order_id + n,
                    "drug_id": drug,
                    "code": f"YP{drug:03d}",
                    "quantity": rng.randrange(1, 6),
                }
            )
        available = {
            d: sum(b.quantity for b in h.in_pharmacy.values() if b.drug == d and b.expiry >= today) for d in DRUGS
        }
        if any(sum(w["quantity"] for w in wanted if w["drug_id"] == d) > available[d] for d in DRUGS):
            return  # the pharmacy would refuse it (insufficient_stock): not part of this history
        header = {
            "number": f"FY{order_id:05d}",
            "source": source,
            "order_id": order_id,
            "order_number": f"CF{order_id:05d}",
            "department_name": "内科",
            "created_at": at.isoformat(),
        }
        lines = [{"drug_id": w["drug_id"], "code": w["code"], "quantity": w["quantity"]} for w in wanted]
        h.pms.add(
            at,
            "dispensing_order",
            order_id,
            "received",
            {**header, "state": "pending", "dispensed_at": None, "lines": lines},
        )
        refunded: set[int] = set()
        if len(wanted) > 1 and rng.random() < 0.2:
            refunded = {wanted[0]["line_id"]}
            h.refunded_before_dispense += 1
            h.pms.add(
                at + timedelta(minutes=1),
                "dispensing_order",
                order_id,
                "refunded",
                {**header, "state": "pending", "dispensed_at": None, "lines": lines},
            )
        dispensed_at = at + timedelta(minutes=3)
        column = "dispensed_outpatient" if source == "oms" else "dispensed_inpatient"
        taken: dict[int, list[tuple[Batch, int]]] = {}
        for w in wanted:
            if w["line_id"] in refunded:
                taken[w["line_id"]] = []
                continue
            taken[w["line_id"]] = self._take(w["drug_id"], w["quantity"], today)
            for batch, quantity in taken[w["line_id"]]:
                h.pharmacy[(month(dispensed_at), column)] += quantity * batch.price
        done = [
            {**line, "batches": [self._batch(b, q) for b, q in taken[w["line_id"]]]}
            for line, w in zip(lines, wanted, strict=True)
        ]
        h.pms.add(
            dispensed_at,
            "dispensing_order",
            order_id,
            "dispensed",
            {**header, "state": "dispensed", "dispensed_at": dispensed_at.isoformat(), "lines": done},
        )
        kept = [w for w in wanted if w["line_id"] not in refunded]
        if rng.random() < 0.12:
            back = kept[0]
            later = dispensed_at + timedelta(days=rng.choice([0, 4, 21]), hours=2)
            self.at(later, lambda when: self.patient_return(when, header, back, taken[back["line_id"]]))

    def _take(self, drug: int, quantity: int, today: date) -> list[tuple[Batch, int]]:
        taken = []
        for batch in sorted(
            (b for b in self.h.in_pharmacy.values() if b.drug == drug and b.expiry >= today and b.quantity > 0),
            key=lambda b: (b.expiry, b.batch_no),
        ):
            part = min(batch.quantity, quantity)
            batch.quantity -= part
            quantity -= part
            taken.append((batch, part))
            if not quantity:
                break
        assert not quantity
        return taken

    @staticmethod
    def _batch(batch: Batch, quantity: int) -> dict[str, Any]:
        return {
            "batch_no": batch.batch_no,
            "expiry_date": batch.expiry.isoformat(),
            "quantity": quantity,
            "purchase_price": str(batch.price),
        }

    def patient_return(
        self, at: datetime, header: dict[str, Any], line: dict[str, Any], taken: list[tuple[Batch, int]]
    ) -> None:
        """退药, into the very batches; then the cashier's refund claims the returned line."""
        h = self.h
        for batch, quantity in taken:
            batch.quantity += quantity
            h.pharmacy[(month(at), "returned")] += quantity * batch.price
        h.patient_returns += 1
        number = self.next_id("drug_return")
        h.pms.add(
            at,
            "drug_return",
            number,
            "returned",
            {
                "number": f"TY{number:05d}",
                "dispensing_number": header["number"],
                "source": header["source"],
                "order_id": header["order_id"],
                "department_name": "内科",
                "created_at": at.isoformat(),
                "lines": [{**line, "batches": [self._batch(b, q) for b, q in taken]}],
            },
        )
        h.pms.add(
            at + timedelta(minutes=5),
            "dispensing_order",
            header["order_id"],
            "refunded",
            {**header, "state": "dispensed", "dispensed_at": None, "lines": [line]},
        )

    def warehouse_return(self, at: datetime) -> None:
        """退库: off the pharmacy's shelf now; into the warehouse (for stock or disposal) when sms
        receives pms's message, an hour later."""
        rng, h = self.rng, self.h
        today = at.astimezone(ZONE).date()
        held = [b for b in h.in_pharmacy.values() if b.quantity > 0]
        if not held:
            return
        batch = rng.choice(held)
        quantity = rng.randrange(1, min(batch.quantity, 10) + 1)
        destination = "disposal" if batch.expiry < today or rng.random() < 0.3 else "stock"
        batch.quantity -= quantity
        h.pharmacy[(month(at), "to_warehouse")] += quantity * batch.price
        number, warehouse = self.next_id("warehouse_return"), rng.choice(WAREHOUSES)
        h.pms.add(
            at,
            "warehouse_return",
            number,
            "returned",
            {
                "number": f"TK{number:05d}",
                "warehouse_id": warehouse,
                "destination": destination,
                "created_at": at.isoformat(),
                "lines": [{**batch.line(-quantity), "code": f"YP{batch.drug:03d}"}],
            },
        )
        self.at(
            at + timedelta(hours=1),
            lambda when: self.received_back(when, number, warehouse, destination, batch, quantity),
        )

    def received_back(
        self, at: datetime, number: int, warehouse: int, destination: str, batch: Batch, quantity: int
    ) -> None:
        h = self.h
        shelf = h.in_warehouse.setdefault(
            (warehouse, batch.drug, batch.batch_no), Batch(batch.drug, batch.batch_no, batch.price, batch.expiry)
        )
        shelf.quantity += quantity
        h.warehouse[(month(at), "returns")] += quantity * batch.price
        if destination == "disposal":
            shelf.quantity -= quantity
            h.warehouse[(month(at), "disposals")] += quantity * batch.price
        received = self.next_id("pharmacy_return")
        h.sms.add(
            at,
            "pharmacy_return",
            received,
            "received",
            {
                "number": f"HS{received:05d}",
                "pms_number": f"TK{number:05d}",
                "warehouse_id": warehouse,
                "destination": destination,
                "lines": [batch.line(quantity)],
            },
        )


def generate(seed: int = 13) -> History:
    return _Generator(seed).run()
