"""床位费: every day a patient spends in a bed is charged once, at the price of the bed held that day,
by whichever accrual gets there first — the periodic one, a transfer's or a settlement's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

import hms.main
from hms.charges.bed_days import accrue, accrue_all, bed_day_part, due_days
from hms.charges.models import Charge
from hms.settings import BedDayRule, HmsSettings
from hms.stays import account
from hms.stays.models import Stay
from hms.wards.models import Bed, Ward
from shared.clock import local_today
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import DatabaseUnderTest
from tests.hms.ward import Ward as WardDesk

IN_NOT_OUT, IN_AND_OUT = BedDayRule.in_not_out, BedDayRule.in_and_out
ZONE = "Asia/Shanghai"
TODAY = date(2026, 11, 28)
# 10:00 at the hospital on 25 November: three nights before TODAY.
ADMITTED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def days(*numbers: int) -> list[date]:
    return [date(2026, 11, n) for n in numbers]


# --- the day rule --------------------------------------------------------------------------------
def test_in_not_out_charges_the_nights_and_a_same_day_stay_one_day() -> None:
    assert due_days(date(2026, 11, 25), TODAY, IN_NOT_OUT, discharge=False) == days(25, 26, 27)
    assert due_days(date(2026, 11, 25), TODAY, IN_NOT_OUT, discharge=True) == days(25, 26, 27)
    assert due_days(TODAY, TODAY, IN_NOT_OUT, discharge=False) == []
    assert due_days(TODAY, TODAY, IN_NOT_OUT, discharge=True) == [TODAY]


def test_in_and_out_charges_the_discharge_day_too() -> None:
    assert due_days(date(2026, 11, 25), TODAY, IN_AND_OUT, discharge=False) == days(25, 26, 27)
    assert due_days(date(2026, 11, 25), TODAY, IN_AND_OUT, discharge=True) == days(25, 26, 27, 28)
    assert due_days(TODAY, TODAY, IN_AND_OUT, discharge=True) == [TODAY]


# --- on the database, SQLite and MariaDB ---------------------------------------------------------
@pytest.fixture(scope="module")
def hms_db(database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HmsSettings]:
    """An empty, migrated hms database (no servers: accrual is called as the service calls it)."""
    settings = HmsSettings(database_url=database.url, var_dir=Path(tmp_path_factory.mktemp("hms-var")))
    upgrade(settings, hms.main.MIGRATIONS)
    yield settings


def run(settings: HmsSettings, work: Any) -> Any:
    """`work(db)` on a Database of its own, in an event loop of its own."""

    async def go() -> Any:
        db = Database.from_settings(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


async def seed(db: Database, price: str = "40.00", admitted_at: datetime = ADMITTED) -> int:
    """A stay admitted at `admitted_at` into a bed at `price` a day (rows as an admission writes them)."""
    async with db.transaction() as session:
        now = datetime.now(UTC)
        n = (await session.execute(select(func.count()).select_from(Stay))).scalar_one() + 1
        ward = Ward(code=f"T{n}", name=f"测试病区{n}", department_id=1, department_name="内科病区",
                    created_at=now, updated_at=now)  # fmt: skip
        session.add(ward)
        await session.flush()
        bed = Bed(ward_id=ward.id, number="3", daily_price=Decimal(price), state="occupied",  # type: ignore[arg-type]
                  created_at=now, updated_at=now)  # fmt: skip
        session.add(bed)
        await session.flush()
        stay = Stay(
            number=f"ZY20261125-{n:05d}", state="admitted", patient_id=n, patient_name="测试", department_id=1,
            department_name="内科病区", doctor_id=1, doctor_name="医生", ward_id=ward.id, ward_name=ward.name,  # type: ignore[arg-type]
            bed_id=bed.id, bed_number=bed.number, diagnosis="肺炎", charge_type_id=1, charge_type_name="自费",  # type: ignore[arg-type]
            reimbursement_ratio=Decimal("0.00"), admitted_at=admitted_at, admitted_by="test", updated_at=now,
        )  # fmt: skip
        session.add(stay)
        await session.flush()
        bed.stay_id = stay.id
        return stay.id  # type: ignore[return-value]


async def accrue_locked(db: Database, stay_id: int, today: date, rule: BedDayRule, discharge: bool = False) -> int:
    """As a transfer or a settlement does: the stay locked, then its days accrued."""
    async with db.transaction() as session:
        stay = await account.open_stay(session, stay_id)
        return await accrue(session, stay, today, rule, discharge=discharge, timezone=ZONE)


async def bed_day_rows(db: Database, stay_id: int) -> tuple[list[tuple[date, Decimal, str]], Decimal]:
    """The stay's bed-day rows (day, amount, name) and its running charge total."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(Charge.service_date, Charge.amount, Charge.name)
            .where(Charge.stay_id == stay_id, Charge.kind == "bed_day")
            .order_by(Charge.service_date)
        )  # type: ignore[arg-type]
        total = (await session.execute(select(Stay.charge_total).where(Stay.id == stay_id))).scalar_one()  # type: ignore[arg-type]
        return [tuple(r) for r in rows], total  # type: ignore[misc]


def test_each_night_is_charged_once_at_the_beds_price(hms_db: HmsSettings) -> None:
    async def work(db: Database) -> Any:
        stay_id = await seed(db)
        first = await accrue_locked(db, stay_id, TODAY, IN_NOT_OUT)
        again = await accrue_locked(db, stay_id, TODAY, IN_NOT_OUT)
        tomorrow = await accrue_locked(db, stay_id, TODAY + timedelta(days=1), IN_NOT_OUT)
        return first, again, tomorrow, await bed_day_rows(db, stay_id)

    first, again, tomorrow, (rows, total) = run(hms_db, work)
    assert (first, again, tomorrow) == (3, 0, 1)
    assert rows == [(d, Decimal("40.00"), "床位费（3床）") for d in days(25, 26, 27, 28)]
    assert total == Decimal("160.00")


def test_the_days_are_the_hospitals(hms_db: HmsSettings) -> None:
    # 20:00 UTC on the 25th is 04:00 on the 26th in Shanghai: the stay's first day is the 26th.
    async def work(db: Database) -> Any:
        stay_id = await seed(db, admitted_at=datetime(2026, 11, 25, 20, 0, tzinfo=UTC))
        await accrue_locked(db, stay_id, TODAY, IN_NOT_OUT)
        return await bed_day_rows(db, stay_id)

    rows, total = run(hms_db, work)
    assert [r[0] for r in rows] == days(26, 27) and total == Decimal("80.00")


def test_a_discharge_charges_by_the_rule(hms_db: HmsSettings) -> None:
    async def work(db: Database) -> Any:
        same_day = await seed(db, admitted_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC))
        not_out, in_and_out = await seed(db), await seed(db)
        counts = (
            await accrue_locked(db, same_day, TODAY, IN_NOT_OUT, discharge=True),
            await accrue_locked(db, not_out, TODAY, IN_NOT_OUT, discharge=True),
            await accrue_locked(db, in_and_out, TODAY, IN_AND_OUT, discharge=True),
        )
        return counts, [await bed_day_rows(db, s) for s in (same_day, not_out, in_and_out)]

    counts, ((same, same_total), (nights, _), (all_days, all_total)) = run(hms_db, work)
    assert counts == (1, 3, 4)
    assert [r[0] for r in same] == [TODAY] and same_total == Decimal("40.00")
    assert [r[0] for r in nights] == days(25, 26, 27)
    assert [r[0] for r in all_days] == days(25, 26, 27, 28) and all_total == Decimal("160.00")


def test_after_a_reversed_settlement_the_nights_away_are_not_charged(hms_db: HmsSettings) -> None:
    # Settled on the 28th (nights 25–27 charged), the settlement reversed on 2 December: the patient
    # was gone the nights of 28 November to 1 December, and owes the nights from the 2nd on.
    async def work(db: Database) -> Any:
        stay_id = await seed(db)
        at_settlement = await accrue_locked(db, stay_id, TODAY, IN_NOT_OUT, discharge=True)
        async with db.transaction() as session:
            stay = await session.get(Stay, stay_id)
            stay.bed_days_from = date(2026, 12, 2)  # type: ignore[union-attr]  # as the reversal sets it
        later = await accrue_locked(db, stay_id, date(2026, 12, 4), IN_NOT_OUT)
        return at_settlement, later, await bed_day_rows(db, stay_id)

    at_settlement, later, (rows, total) = run(hms_db, work)
    assert (at_settlement, later) == (3, 2)
    assert [r[0] for r in rows] == [*days(25, 26, 27), date(2026, 12, 2), date(2026, 12, 3)]
    assert total == Decimal("200.00")


def test_two_accruals_at_once_charge_each_day_once(hms_db: HmsSettings, database: DatabaseUnderTest) -> None:
    async def work(db: Database) -> Any:
        stay_id = await seed(db)
        # Two hms instances on MariaDB; on SQLite one process (its writers queue, as in production).
        other = Database.from_settings(hms_db) if database.backend == "mariadb" else db
        try:
            counts = await asyncio.gather(
                accrue_locked(db, stay_id, TODAY, IN_NOT_OUT), accrue_locked(other, stay_id, TODAY, IN_NOT_OUT)
            )
        finally:
            if other is not db:
                await other.dispose()
        return counts, await bed_day_rows(db, stay_id)

    counts, (rows, total) = run(hms_db, work)
    assert sorted(counts) == [0, 3]
    assert [r[0] for r in rows] == days(25, 26, 27) and total == Decimal("120.00")


def test_the_periodic_accrual_charges_every_admitted_stay_and_stops_with_the_app(hms_db: HmsSettings) -> None:
    settings = hms_db.model_copy(update={"bed_day_interval_seconds": 1, "timezone": ZONE})

    async def work(db: Database) -> Any:
        stays = [await seed(db), await seed(db, price="55.50")]
        settled = await seed(db)
        async with db.transaction() as session:
            (await session.get(Stay, settled)).state = "settled"  # type: ignore[union-attr]
        app = SimpleNamespace(state=SimpleNamespace(db=db))
        async with bed_day_part(settings, today=lambda: TODAY)(app):  # type: ignore[arg-type]
            for _ in range(100):
                if all([(await bed_day_rows(db, s))[0] for s in stays]):
                    break
                await asyncio.sleep(0.05)
        # Stopped: another round now charges nothing new (the app's loop had charged everything due).
        again = await accrue_all(db, TODAY, IN_NOT_OUT, ZONE)
        return [await bed_day_rows(db, s) for s in (*stays, settled)], again

    (forty, fifty_five, settled), again = run(hms_db, work)
    assert forty[1] == Decimal("120.00") and fifty_five[1] == Decimal("166.50")
    assert settled == ([], Decimal("0.00"))
    assert again == 0


# --- through the service: a transfer ----------------------------------------------------------
def test_a_transfer_keeps_the_earlier_days_at_the_old_beds_price(ward: WardDesk) -> None:
    old = ward.new_ward(price="40.00", beds=1)["bed_list"][0]
    new = ward.new_ward(price="65.00", beds=1)["bed_list"][0]
    stay = ward.admit(old["id"])
    # Admitted two days ago (at the hospital): two nights in the old bed before the transfer.
    with ward.engines["hms"].begin() as conn:
        conn.execute(
            Stay.__table__.update()  # type: ignore[attr-defined]
            .where(Stay.__table__.c.id == stay["id"])  # type: ignore[attr-defined]
            .values(admitted_at=datetime.now(UTC) - timedelta(days=2))
        )
    ward.ok("POST", f"/api/hms/stays/{stay['id']}/transfers", 201, json={"bed_id": new["id"], "reason": "换床"})
    account_ = ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")
    before = [c for c in account_["charges"] if c["kind"] == "bed_day"]
    assert [(c["unit_price"], c["item_id"]) for c in before] == [("40.00", old["id"])] * 2
    assert account_["figures"]["charge_total"] == "80.00"

    # The nights from the transfer on are the new bed's.
    settings = ward.stack.settings("hms")
    hospital_today = local_today(settings.timezone)
    run(settings, lambda db: accrue_locked(db, stay["id"], hospital_today + timedelta(days=2), IN_NOT_OUT))
    after = [c for c in ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")["charges"] if c["kind"] == "bed_day"]
    assert [c["unit_price"] for c in after] == ["40.00", "40.00", "65.00", "65.00"]
    assert [c["service_date"] for c in after] == sorted(c["service_date"] for c in after)
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["charge_total"] == "210.00"
