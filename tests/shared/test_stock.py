"""Stock by batch (shared/stock.py), straight against a Database on SQLite and MariaDB: stock
always equals its ledger, first expiry goes first, an expired batch leaves only to disposal,
a shortfall takes nothing, and concurrent takers never take more than there is."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, func, select

from shared.db import Database
from shared.errors import Conflict, Invalid
from shared.stock import BatchIn, Movement, put, put_back, stock_audit, stock_tables, take
from tests.support.tables import database_fixtures

pytestmark = pytest.mark.anyio

metadata = MetaData()
stock = stock_tables(metadata)
TODAY = dt.date(2026, 11, 28)
DRUG = 3
STORE = 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Enough connections for the races below: each taker holds one for its transaction.
tables, db = database_fixtures(metadata, pool_size=40)


def batch(batch_no: str, expiry: dt.date, drug_id: int = DRUG) -> BatchIn:
    return BatchIn(
        drug_id=drug_id,
        batch_no=batch_no,
        expiry_date=expiry,
        production_date=expiry - dt.timedelta(days=720),
        supplier_id=5,
        purchase_price=Decimal("12.50"),
    )


async def receive(db: Database, batch_in: BatchIn, quantity: int) -> int:
    async with db.transaction() as session:
        return await put(
            session,
            stock,
            store_id=STORE,
            batch=batch_in,
            quantity=quantity,
            movement=Movement.inbound,
            reference="RK20261128-00001",
            person="库管员",
        )


async def dispense(db: Database, quantity: int, **extra: object) -> list[tuple[str, int]]:
    async with db.transaction() as session:
        taken = await take(
            session,
            stock,
            store_id=STORE,
            drug_id=DRUG,
            quantity=quantity,
            movement=Movement.dispense,
            reference="FY20261128-00001",
            person="药师",
            today=TODAY,
            drug_label="阿莫西林胶囊",
            **extra,  # type: ignore[arg-type]
        )
    return [(t.batch_no, t.quantity) for t in taken]


async def on_shelf(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        rows = await session.execute(select(stock.batches.c.batch_no, stock.batches.c.quantity))
        return {name: quantity for name, quantity in rows.all()}


async def books_balance(db: Database) -> bool:
    async with db.transaction() as session:
        return await stock_audit(session, stock) == []


async def test_first_expiry_goes_first_across_batches_and_the_books_balance(db: Database) -> None:
    await receive(db, batch("B-LATE", TODAY + dt.timedelta(days=400)), 10)
    await receive(db, batch("B-SOON", TODAY + dt.timedelta(days=30)), 4)
    await receive(db, batch("B-MID", TODAY + dt.timedelta(days=200)), 5)
    assert await dispense(db, 7) == [("B-SOON", 4), ("B-MID", 3)]
    assert await dispense(db, 3) == [("B-MID", 2), ("B-LATE", 1)]
    assert await on_shelf(db) == {"B-LATE": 9, "B-SOON": 0, "B-MID": 0}
    assert await books_balance(db)


async def test_an_expired_batch_is_never_taken_except_to_disposal(db: Database) -> None:
    expired = await receive(db, batch("B-OLD", TODAY - dt.timedelta(days=1)), 8)
    await receive(db, batch("B-NEW", TODAY + dt.timedelta(days=90)), 2)
    assert await dispense(db, 2) == [("B-NEW", 2)]
    with pytest.raises(Conflict) as short:
        await dispense(db, 1)
    assert short.value.code == "insufficient_stock"
    with pytest.raises(Conflict) as refused:
        await dispense(db, 1, batch_id=expired)
    assert refused.value.code == "batch_expired"
    async with db.transaction() as session:
        await take(
            session,
            stock,
            store_id=STORE,
            drug_id=DRUG,
            quantity=8,
            movement=Movement.disposal,
            reference="XH20261128-00001",
            person="库管员",
            today=TODAY,
            drug_label="阿莫西林胶囊",
            batch_id=expired,
            reason="过期",
            allow_expired=True,
        )
    assert await on_shelf(db) == {"B-OLD": 0, "B-NEW": 0}
    assert await books_balance(db)


async def test_a_shortfall_names_the_drug_and_takes_nothing(db: Database) -> None:
    await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), 3)
    await receive(db, batch("B2", TODAY + dt.timedelta(days=60)), 2)
    with pytest.raises(Conflict) as short:
        await dispense(db, 6)
    assert short.value.code == "insufficient_stock"
    assert "阿莫西林胶囊" in short.value.detail.zh and "缺 1" in short.value.detail.zh
    assert short.value.extensions == {"drug_id": DRUG, "shortfall": 1}
    assert await on_shelf(db) == {"B1": 3, "B2": 2}
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(stock.movements))).scalar_one() == 2


async def test_a_return_goes_back_into_its_batch_and_bad_quantities_are_refused(db: Database) -> None:
    batch_id = await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), 5)
    await dispense(db, 2)
    async with db.transaction() as session:
        await put_back(
            session,
            stock,
            batch_id=batch_id,
            quantity=1,
            movement=Movement.patient_return,
            reference="TY20261128-00001",
            person="药师",
            reason="患者退药",
        )
    assert await on_shelf(db) == {"B1": 4}
    for quantity in (0, -3):
        with pytest.raises(Invalid):
            await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), quantity)
        with pytest.raises(Invalid):
            await dispense(db, quantity)
    assert await books_balance(db)


async def test_the_same_batch_number_with_another_expiry_is_refused(db: Database) -> None:
    await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), 5)
    with pytest.raises(Conflict) as mismatch:
        await receive(db, batch("B1", TODAY + dt.timedelta(days=31)), 5)
    assert mismatch.value.code == "batch_mismatch"
    assert await on_shelf(db) == {"B1": 5}


async def test_100_concurrent_takers_against_60_units_take_exactly_60(db: Database) -> None:
    """Across two batches, so that takers also race from one batch into the next."""
    await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), 25)
    await receive(db, batch("B2", TODAY + dt.timedelta(days=60)), 35)

    async def one() -> bool:
        try:
            await dispense(db, 1)
            return True
        except Conflict as exc:
            assert exc.code == "insufficient_stock"
            return False

    results = await asyncio.gather(*(one() for _ in range(100)))
    assert sum(results) == 60
    assert await on_shelf(db) == {"B1": 0, "B2": 0}
    assert await books_balance(db)


async def test_concurrent_takers_of_several_units_never_overdraw(db: Database) -> None:
    await receive(db, batch("B1", TODAY + dt.timedelta(days=30)), 10)
    await receive(db, batch("B2", TODAY + dt.timedelta(days=60)), 10)

    async def one(quantity: int) -> int:
        try:
            return sum(n for _, n in await dispense(db, quantity))
        except Conflict:
            return 0

    taken = await asyncio.gather(*(one(q) for q in [3, 4, 5] * 10))
    assert sum(taken) + sum((await on_shelf(db)).values()) == 20
    assert sum(taken) >= 17  # nobody is refused while at least five units are left
    assert await books_balance(db)
