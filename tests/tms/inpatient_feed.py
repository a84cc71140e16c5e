"""A generated inpatient history as hms's feed would carry it, and its figures counted by hand.

Stays over four months across a year boundary (2025-11 … 2026-02) in two departments: admitted
with a deposit, some transferred to the other department, charged items (some credited, after a
transfer too), drug orders (some lines credited), a bed-day every night at the price of the
department's beds, a discharge settlement with the charge type's insured share, and some
settlements reversed (the stay settled again later; the nights between the settlement and the
reversal not charged, as hms does).
Beds are added, closed, reopened and moved between departments. The expected figures are summed
here straight from the records, in Decimal, without any of tms's code.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.feed import Change, FeedPage

ZONE = ZoneInfo("Asia/Shanghai")
DEPARTMENTS = (31, 32)
PRICE = {31: Decimal("40.00"), 32: Decimal("65.50")}  # a bed-day in each department's beds
RATIOS = {1: Decimal("0.00"), 2: Decimal("0.55"), 3: Decimal("0.70")}  # charge type → insured share
ITEM_CATEGORIES = ("检查费", "检验费", "治疗费", "其他费")
FIRST, LAST = date(2025, 11, 1), date(2026, 2, 28)
CENT = Decimal("0.01")
COUNTS = ("admissions", "discharges", "transfers_in", "transfers_out", "bed_days")
MONEY = ("drug", "bed", "item", "other", "deposits", "insured", "self_pay")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def month(at: datetime | date) -> str:
    return (at.astimezone(ZONE) if isinstance(at, datetime) else at).strftime("%Y-%m")


@dataclass
class History:
    events: list[tuple[datetime, int, str, int, str, dict[str, Any]]] = field(default_factory=list)
    # (month, department) → count / yuan
    counts: dict[tuple[str, int], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    )
    money: dict[tuple[str, int], dict[str, Decimal]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(MONEY, Decimal(0)))
    )
    # (local moment, bed id, department, open) as hms published them
    beds: list[tuple[datetime, int, int, bool]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, at: datetime, entity: str, entity_id: int, action: str, data: dict[str, Any]) -> None:
        self.events.append((at.astimezone(UTC), len(self.events), entity, entity_id, action, data))

    def next_id(self, entity: str) -> int:
        self.ids[entity] += 1
        return self.ids[entity]

    @property
    def changes(self) -> list[Change]:
        ordered = sorted(self.events, key=lambda e: (e[0], e[1]))
        return [Change(seq=n, at=at, entity=entity, entity_id=str(id_), action=action, data=data)
                for n, (at, _, entity, id_, action, data) in enumerate(ordered, start=1)]  # fmt: skip

    def pages(self, size: int, after: int = 0) -> list[FeedPage]:
        changes = self.changes
        todo = [c for c in changes if c.seq > after]
        return [
            FeedPage(items=todo[i : i + size], next=todo[min(i + size, len(todo)) - 1].seq, head=len(changes))
            for i in range(0, len(todo), size)
        ]

    # --- what the reports should say, counted by hand -----------------------------------------------
    def open_bed_days(self, mon: str, department: int) -> int:
        """Each day of the month, every bed whose last change by the day's end left it open in
        `department`, counted."""
        total, day = 0, FIRST
        while day <= LAST:
            if month(day) == mon:
                for bed in {b for _, b, _, _ in self.beds}:
                    last = [(d, o) for at, b, d, o in self.beds if b == bed and at.astimezone(ZONE).date() <= day]
                    if last and last[-1] == (department, True):
                        total += 1
            day += timedelta(days=1)
        return total

    def month_figures(self, mon: str, departments: tuple[int, ...] = DEPARTMENTS) -> dict[str, Any]:
        counts = {k: sum(self.counts[(mon, d)][k] for d in departments) for k in COUNTS}
        money = {k: sum((self.money[(mon, d)][k] for d in departments), Decimal(0)) for k in MONEY}
        capacity = sum(self.open_bed_days(mon, d) for d in departments)
        revenue = money["drug"] + money["bed"] + money["item"] + money["other"]
        occupancy = (
            (Decimal(counts["bed_days"]) * 100 / capacity).quantize(Decimal("0.1"), ROUND_HALF_UP) if capacity else None
        )
        return {**counts, **money, "revenue": revenue, "open_bed_days": capacity, "occupancy": occupancy}


@dataclass
class Stay:
    id: int
    number: str
    department: int
    ratio: Decimal
    charge_type: int
    move: tuple[datetime, int] | None = None  # (moment, department moved to)
    # (moment, amount): the account's charges (credits negative) and its deposit rows
    charges: list[tuple[datetime, Decimal]] = field(default_factory=list)
    deposits: list[tuple[datetime, Decimal]] = field(default_factory=list)

    def department_at(self, at: datetime) -> int:
        return self.move[1] if self.move and self.move[0] <= at else self.department

    def total_at(self, at: datetime) -> Decimal:
        return sum((amount for moment, amount in self.charges if moment <= at), Decimal(0))

    def deposits_at(self, at: datetime) -> Decimal:
        return sum((amount for moment, amount in self.deposits if moment <= at), Decimal(0))


@dataclass(frozen=True)
class Item:
    """A charge item booked at `at` (in the stay's department then), credited at `credited_at`."""

    at: datetime
    category: str
    amount: Decimal
    credited_at: datetime | None = None


# A settlement as written: its id, its feed data, the deposit row it moved.
Settled = tuple[int, dict[str, Any], Decimal]


def _beds(history: History) -> None:
    def bed(at: datetime, bed_id: int, department: int, is_open: bool, action: str) -> None:
        history.add(at, "bed", bed_id, action, {"number": str(bed_id), "ward_id": department * 10,
                                                "department_id": department, "open": is_open})  # fmt: skip
        history.beds.append((at, bed_id, department, is_open))

    before = local(date(2025, 10, 15), 9)
    for n in range(1, 11):
        bed(before, n, 31, True, "added")
    for n in range(11, 19):
        bed(before, n, 32, True, "added")
    bed(local(date(2025, 11, 20), 10), 3, 31, False, "closed")
    bed(local(date(2025, 12, 5), 9), 3, 31, True, "reopened")
    bed(local(date(2025, 12, 31), 20), 12, 32, False, "closed")  # the year's last evening
    bed(local(date(2026, 1, 10), 8), 19, 32, True, "added")
    bed(local(date(2026, 1, 15), 11), 9, 32, True, "moved")  # its ward now belongs to the other department
    bed(local(date(2026, 1, 15), 11), 10, 32, True, "moved")
    bed(local(date(2026, 1, 20), 10), 20, 31, False, "added")  # added to a disabled ward
    bed(local(date(2026, 2, 3), 9), 14, 32, False, "closed")  # closed, and open again by the evening
    bed(local(date(2026, 2, 3), 17), 14, 32, True, "reopened")
    bed(local(date(2026, 2, 10), 10), 20, 31, True, "reopened")


def _charge(history: History, stay: Stay, at: datetime, kind: str, category: str, amount: Decimal, *,
            service_date: date | None = None, reverses: tuple[int, int] | None = None) -> int:  # fmt: skip
    """One charge row as hms publishes it (in the stay's department at `at`), a credit when
    `reverses` = (the charge credited, its department); and its tally."""
    charge_id = history.next_id("charge")
    history.add(at, "charge", charge_id, "credited" if reverses else "charged", {
        "stay_id": stay.id, "stay_number": stay.number, "department_id": stay.department_at(at), "kind": kind,
        "category": category, "item_id": 7, "code": "X", "quantity": -1 if reverses else 1, "amount": str(amount),
        "service_date": str(service_date) if service_date else None, "reverses_id": reverses[0] if reverses else None,
    })  # fmt: skip
    stay.charges.append((at, amount))
    # A credit lowers the department of the charge it credits, on the credit's own day.
    owner = reverses[1] if reverses else stay.department_at(at)
    day = service_date or at.astimezone(ZONE).date()
    column = "bed" if kind == "bed_day" else ("other" if category == "其他费" else "item")
    history.money[(month(day), owner)][column] += amount
    if kind == "bed_day":
        history.counts[(month(day), owner)]["bed_days"] += 1
    return charge_id


def _night(history: History, stay: Stay, night: date, at: datetime) -> None:
    """The bed-day of `night`, charged at `at` (the round after midnight, or a settlement's accrual)
    at the price of the department's beds."""
    _charge(history, stay, at, "bed_day", "床位费", PRICE[stay.department_at(at)], service_date=night)


def _deposit(history: History, stay: Stay, at: datetime, kind: str, amount: Decimal) -> None:
    deposit_id = history.next_id("deposit")
    history.add(at, "deposit", deposit_id, "deposited", {
        "number": f"YJ{deposit_id:05d}", "stay_number": stay.number, "department_id": stay.department_at(at),
        "kind": kind, "amount": str(amount), "method": "cash",
    })  # fmt: skip
    stay.deposits.append((at, amount))
    if kind == "payment":
        history.money[(month(at), stay.department_at(at))]["deposits"] += amount


def _settle(history: History, stay: Stay, at: datetime, reverses: Settled | None = None) -> Settled:
    """A settlement of the account as it stands at `at`, or the reversal of `reverses` (its id, its
    data, the deposit row it wrote): (id, data, deposit row)."""
    settlement_id = history.next_id("settlement")
    department = stay.department_at(at)
    if reverses is None:
        total = stay.total_at(at)
        insured = (total * stay.ratio).quantize(CENT, ROUND_HALF_UP)
        figures = {"total": total, "insured": insured, "self_pay": total - insured}
        moved = figures["self_pay"] - stay.deposits_at(at)  # collected when > 0, refunded when < 0
        if moved:
            _deposit(history, stay, at, "settlement_collect" if moved > 0 else "settlement_refund", moved)
    else:
        figures = {k: -Decimal(reverses[1][k]) for k in ("total", "insured", "self_pay")}
        moved = Decimal(0)
        if reverses[2]:
            _deposit(history, stay, at, "reversal", -reverses[2])
    data = {
        "number": f"JS{settlement_id:05d}", "kind": "reversal" if reverses else "settlement",
        "stay_number": stay.number, "reverses_id": reverses[0] if reverses else None, "department_id": department,
        "department_name": f"科{department}", "charge_type_id": stay.charge_type, "charge_type_name": "医保",
        **{k: str(v) for k, v in figures.items()}, "deposits": "0.00", "refunded": "0.00", "collected": "0.00",
        "bed_days": 0, "method": "cash", "categories": [], "at": at.astimezone(UTC).isoformat(),
    }  # fmt: skip
    history.add(at, "settlement", settlement_id, "reversed" if reverses else "settled", data)
    tally = history.money[(month(at), department)]
    tally["insured"] += figures["insured"]
    tally["self_pay"] += figures["self_pay"]
    history.counts[(month(at), department)]["discharges"] += -1 if reverses else 1
    return settlement_id, data, moved


def _stay(history: History, rng: random.Random, admitted_at: datetime, department: int, nights: int, *,
          move: tuple[datetime, int] | None = None, reversal: tuple[int, int] | None = None,
          items: tuple[Item, ...] = ()) -> None:  # fmt: skip
    """One stay: admitted, maybe moved, charged, settled on the day `nights` after; `reversal`: the
    settlement reversed so many days after it, and the stay settled again so many days after that."""
    stay_id = history.next_id("stay")
    charge_type = rng.choice(list(RATIOS))
    stay = Stay(stay_id, f"ZY{stay_id:05d}", department, RATIOS[charge_type], charge_type, move)
    admitted_day = admitted_at.astimezone(ZONE).date()
    data = {"number": stay.number, "department_id": department, "department_name": f"科{department}",
            "doctor_id": 5, "ward_id": department * 10, "bed_id": 1, "charge_type_id": charge_type,
            "admitted_at": str(admitted_at.astimezone(UTC)), "state": "admitted"}  # fmt: skip
    history.add(admitted_at, "stay", stay_id, "admitted", data)
    history.counts[(month(admitted_at), department)]["admissions"] += 1
    _deposit(history, stay, admitted_at + timedelta(minutes=1), "payment", Decimal(rng.choice(["1000.00", "2500.50"])))
    if move:
        moved_at, to = move
        history.add(moved_at, "stay", stay_id, "transferred",
                    {**data, "department_id": to, "from_department_id": department, "from_bed_id": 1})  # fmt: skip
        history.counts[(month(moved_at), department)]["transfers_out"] += 1
        history.counts[(month(moved_at), to)]["transfers_in"] += 1
    discharge_day = admitted_day + timedelta(days=nights)
    settle_at = local(discharge_day, 11, 30)
    # Items and drugs while in hospital; some credited before the settlement.
    span = max(int((settle_at - admitted_at).total_seconds() // 60) - 120, 1)
    randomly = []
    for _ in range(rng.randrange(1, 4)):
        at = admitted_at + timedelta(minutes=rng.randrange(span))
        credited = at + (settle_at - at) / 2 if rng.random() < 0.3 else None
        randomly.append(Item(at, rng.choice(ITEM_CATEGORIES), Decimal(rng.randrange(1000, 50000)) / 100, credited))
    for item in (*randomly, *items):
        charge_id = _charge(history, stay, item.at, "item", item.category, item.amount)
        if item.credited_at:
            booked_in = stay.department_at(item.at)
            _charge(
                history, stay, item.credited_at, "item", item.category, -item.amount, reverses=(charge_id, booked_in)
            )
        if rng.random() < 0.2:  # an examination's result: no money moves
            history.add(item.at + timedelta(minutes=30), "charge", charge_id, "examined",
                        {"stay_id": stay_id, "stay_number": stay.number, "department_id": stay.department_at(item.at),
                         "item_id": 7, "code": "X", "files": 0})  # fmt: skip
    for _ in range(rng.randrange(0, 3)):
        at = admitted_at + timedelta(minutes=rng.randrange(span))
        order_id = history.next_id("drug_order")
        amount = Decimal(rng.randrange(500, 30000)) / 100
        booked_in = stay.department_at(at)
        order = {"number": f"YZ{order_id:05d}", "stay_number": stay.number, "department_name": "",
                 "category": "药品费", "lines": []}  # fmt: skip
        history.add(at, "drug_order", order_id, "charged", {**order, "department_id": booked_in, "amount": str(amount)})
        stay.charges.append((at, amount))
        history.money[(month(at), booked_in)]["drug"] += amount
        if rng.random() < 0.4:
            back = (amount / 2).quantize(CENT) if rng.random() < 0.5 else amount
            credit_at = at + (settle_at - at) / 2
            history.add(credit_at, "drug_order", order_id, "credited",
                        {**order, "department_id": stay.department_at(credit_at), "amount": str(-back)})  # fmt: skip
            stay.charges.append((credit_at, -back))
            history.money[(month(credit_at), booked_in)]["drug"] -= back
    # A bed-day for every night, charged by the round just after midnight; a stay of no night, one day.
    for n in range(nights):
        night = admitted_day + timedelta(days=n)
        _night(history, stay, night, local(night + timedelta(days=1), 0, 10))
    if nights == 0:
        _night(history, stay, admitted_day, settle_at - timedelta(seconds=1))
    settled = _settle(history, stay, settle_at)
    if reversal is None:
        return
    after, again = reversal
    reversed_on = discharge_day + timedelta(days=after)
    _settle(history, stay, local(reversed_on, 15), reverses=settled)
    # In hospital again from the reversal's day: its nights are owed (not those between the settlement
    # and the reversal), at the next round after midnight, or by the settlement when it comes first.
    resettle_on = reversed_on + timedelta(days=again)
    resettle_at = local(resettle_on, 16)
    for n in range((resettle_on - reversed_on).days):
        night = reversed_on + timedelta(days=n)
        _night(history, stay, night, min(local(night + timedelta(days=1), 0, 10), resettle_at - timedelta(seconds=1)))
    _settle(history, stay, resettle_at)


def generate(seed: int = 13, stays: int = 60) -> History:
    rng = random.Random(seed)
    history = History()
    _beds(history)
    # Across the year boundary: moved from 31 to 32 on 30 December, settled on New Year's Eve,
    # reversed on New Year's Day and settled again on the 2nd; an item booked in 31 before the move
    # credited on the 2nd (in 32 by then), lowering 31's January.
    _stay(history, rng, local(date(2025, 12, 28), 10), 31, 3, move=(local(date(2025, 12, 30), 14), 32),
          reversal=(1, 1), items=(Item(local(date(2025, 12, 29), 10), "检验费", Decimal("88.80"),
                                       local(date(2026, 1, 2), 9)),))  # fmt: skip
    for _ in range(stays):
        admitted_day = FIRST + timedelta(days=rng.randrange(0, (LAST - FIRST).days - 14))
        nights = rng.choice([0, 1, 2, 3, 5, 8, 12])
        # A stay of no night is admitted before its settlement at 11:30; others at any hour, midnight's edges too.
        hour = rng.choice([0, 9, 10] if nights == 0 else [0, 9, 10, 15, 23])
        admitted_at = local(admitted_day, hour, rng.randrange(60))
        department = rng.choice(DEPARTMENTS)
        move = None
        if nights >= 2 and rng.random() < 0.35:
            move = (local(admitted_day + timedelta(days=rng.randrange(1, nights)), 14), 31 + 32 - department)
        reversal = (rng.choice([0, 1]), rng.choice([0, 2])) if rng.random() < 0.2 else None
        _stay(history, rng, admitted_at, department, nights, move=move, reversal=reversal)
    return history
