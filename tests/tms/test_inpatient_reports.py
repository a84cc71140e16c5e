"""Inpatient reports against figures counted by hand over a generated hms history that spans four
months and a year boundary, with transfers, credits (after a transfer too), reversed settlements,
insured shares and beds closed, reopened and moved; and hms's own feed, from a real stay through
an hms app, read by the same handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

import hms.main
import tms.api  # noqa: F401  (every model on the metadata)
from hms import remote as hms_remote
from hms.db import metadata as hms_metadata
from hms.settings import HmsSettings
from shared.db import Database
from shared.feed import FeedPage
from shared.migrations import sync_url
from shared.remote import ChargeItem, ChargeType, Drug
from tests.oms.conftest import ISOLATED
from tests.support.service_api import ServiceApi
from tests.support.tables import database_fixtures
from tests.support.tokens import SigningKey
from tests.tms.inpatient_feed import DEPARTMENTS, ZONE, History, generate
from tms.db import metadata
from tms.facts import HANDLERS
from tms.ingest.service import Moved, apply_page, cursor, ensure_cursors
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.shape import Filters, Lookup, ReportOut

pytestmark = pytest.mark.anyio
tables, db = database_fixtures(metadata)
HISTORY = generate()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ZONE)
MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02"]
SPAN: dict[str, Any] = {"date_from": date(2025, 11, 1), "date_to": date(2026, 2, 28)}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def ingest(db: Database, pages: list[FeedPage]) -> None:
    async with db.transaction() as session:
        await ensure_cursors(session, ["hms"])
    for page in pages:
        async with db.transaction() as session:
            await apply_page(session, "hms", await cursor(session, "hms"), page, HANDLERS, ZONE, complete=False)


@pytest.fixture
async def ingested(db: Database) -> AsyncIterator[Database]:
    await ingest(db, HISTORY.pages(83))
    yield db


async def report(db: Database, key: str, now: datetime = NOW, **filters: Any) -> ReportOut:
    async with db.transaction() as session:
        return await service.answer(session, service.find(REPORTS, key), Filters(**filters), Lookup({}, {}, now))


def figures(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The row's values in the expected's types: yuan and percent as Decimal."""
    return {
        k: (None if row[k] is None else Decimal(row[k])) if isinstance(expected[k], Decimal | None) else row[k]
        for k in expected
    }


def summed(history: History, key: str, departments: tuple[int, ...] = DEPARTMENTS) -> Any:
    return sum((history.month_figures(m, departments)[key] for m in MONTHS), Decimal(0) if key != "bed_days" else 0)


async def test_monthly_report_equals_the_figures_counted_by_hand(ingested: Database) -> None:
    answer = await report(ingested, "inpatient-monthly", **SPAN)
    assert [row["month"] for row in answer.rows] == MONTHS
    for row in answer.rows:
        expected = HISTORY.month_figures(row["month"])
        assert figures(row, expected) == expected, row["month"]
    total = answer.total or {}
    for key in ("revenue", "insured", "self_pay", "deposits", "bed"):
        assert Decimal(total[key]) == summed(HISTORY, key), key
    assert total["bed_days"] == summed(HISTORY, "bed_days")
    assert answer.title == "住院月度统计" and answer.columns[0].label == "月份"
    assert answer.chart.type == "line" and "revenue" in answer.chart.series


async def test_each_department_has_its_own_admissions_beds_and_revenue(ingested: Database) -> None:
    for department in DEPARTMENTS:
        answer = await report(ingested, "inpatient-monthly", department_id=department, **SPAN)
        for row in answer.rows:
            expected = HISTORY.month_figures(row["month"], (department,))
            assert figures(row, expected) == expected, (department, row["month"])
    # The item booked in 31 before the move and credited in January once the patient was in 32: the
    # feed names 32 with the credit, and it lowers 31's January all the same.
    (credit,) = [c for c in HISTORY.changes if c.entity == "charge" and c.data.get("amount") == "-88.80"]
    assert (credit.action, credit.data["department_id"]) == ("credited", 32)
    januaries = [(await report(ingested, "inpatient-monthly", department_id=d, **SPAN)).rows[2] for d in (31, 32)]
    without = [HISTORY.money[("2026-01", d)]["item"] + (Decimal("88.80") if d == 31 else 0) for d in (31, 32)]
    assert [Decimal(row["item"]) for row in januaries] == [without[0] - Decimal("88.80"), without[1]]


async def test_a_month_under_way_counts_its_open_beds_up_to_today(ingested: Database) -> None:
    mid_january = datetime(2026, 1, 10, 15, 0, tzinfo=ZONE)
    answer = await report(ingested, "inpatient-monthly", now=mid_january, date_from=date(2026, 1, 1),
                          date_to=date(2026, 1, 31))  # fmt: skip
    # 18 beds, one closed on New Year's Eve; bed 19 added on the 10th counts that day.
    assert answer.rows[0]["open_bed_days"] == 17 * 10 + 1


async def test_yearly_report_sets_the_year_beside_the_last(ingested: Database) -> None:
    answer = await report(ingested, "inpatient-yearly", year=2026)
    assert len(answer.rows) == 12 and answer.rows[0]["month"] == "1月"
    january, february, november, december = answer.rows[0], answer.rows[1], answer.rows[10], answer.rows[11]
    assert Decimal(january["revenue"]) == HISTORY.month_figures("2026-01")["revenue"]
    assert february["admissions"] == HISTORY.month_figures("2026-02")["admissions"]
    assert Decimal(november["revenue_last_year"]) == HISTORY.month_figures("2025-11")["revenue"]
    assert december["admissions_last_year"] == HISTORY.month_figures("2025-12")["admissions"]
    assert november["revenue"] == "0.00" and november["growth"] == "-100.0"
    assert january["growth"] is None  # nothing in January 2025 to compare with
    by_department = await report(ingested, "inpatient-yearly", year=2026, department_id=32)
    assert Decimal(by_department.rows[0]["revenue"]) == HISTORY.month_figures("2026-01", (32,))["revenue"]


async def test_pages_of_another_size_and_a_page_read_twice_give_the_same_figures(db: Database) -> None:
    pages = HISTORY.pages(50)
    await ingest(db, pages[:7])
    # The seventh page again, as a second poller read it: its cursor moved on, nothing is applied.
    with pytest.raises(Moved):
        async with db.transaction() as session:
            await apply_page(session, "hms", pages[6].items[0].seq - 1, pages[6], HANDLERS, ZONE, complete=False)
    async with db.transaction() as session:
        after = await cursor(session, "hms")
    await ingest(db, HISTORY.pages(333, after=after))
    answer = await report(db, "inpatient-monthly", **SPAN)
    for row in answer.rows:
        expected = HISTORY.month_figures(row["month"])
        assert figures(row, expected) == expected


# --- hms's own feed --------------------------------------------------------------------------------

DEPARTMENT_NAMES = {31: "内科病区", 32: "外科病区", 33: "儿科病区"}
PATIENT = "钱七"


def _stand_ins(patch: pytest.MonkeyPatch) -> None:
    """What hms asks dbs and oms, answered here: hms's own code runs, no other service is needed."""

    async def department(client: Any, department_id: int, field: str = "department_id") -> Any:
        return hms_remote.Department(id=department_id, name=DEPARTMENT_NAMES[department_id], kind="inpatient")

    async def doctor(client: Any, doctor_id: int, field: str = "doctor_id") -> Any:
        return hms_remote.Doctor(id=doctor_id, name=f"医生{doctor_id}", department_id=31)

    async def charge_type(client: Any, charge_type_id: int) -> Any:
        return ChargeType(id=charge_type_id, name="城镇职工医保", reimbursement_ratio=Decimal("0.70"))

    async def patient(client: Any, patient_id: int) -> Any:
        return hms_remote.Patient(id=patient_id, name=PATIENT, sex="male", age=61)

    async def item(client: Any, item_id: int, field: str) -> Any:
        category = {1: "检查费", 2: None}[item_id]
        price = {1: Decimal("120.00"), 2: Decimal("15.00")}[item_id]
        return ChargeItem(id=item_id, code=f"XM{item_id}", name=f"项目{item_id}", category_name=category, price=price,
                          scope="inpatient")  # fmt: skip

    async def drug(client: Any, drug_id: int, field: str) -> Any:
        return Drug(id=drug_id, code="YP1", name="头孢", price=Decimal("5.50"))

    for name, stand_in in (("inpatient_department", department), ("doctor", doctor), ("charge_type", charge_type),
                           ("patient", patient), ("inpatient_item", item), ("drug", drug)):  # fmt: skip
        patch.setattr(hms_remote, name, stand_in)


@pytest.fixture(scope="module")
def hms_feed(signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[FeedPage]]:
    """A short stay through an hms app: beds added, closed and moved; admitted to 31 with a deposit,
    an item booked and one credited, a drug order dispensed, moved to 32, settled the same day,
    the settlement reversed and settled again. hms's feed as tms reads it, in pages of 5."""
    var_dir: Path = tmp_path_factory.mktemp("hms-feed")
    settings = HmsSettings(**{**ISOLATED, "var_dir": var_dir, "database_url": f"sqlite+aiosqlite:///{var_dir}/hms.db",
                              "jwks": signing_key.jwks_json, "check_revocations": False})  # fmt: skip
    engine = create_engine(sync_url(settings.database_url))
    with pytest.MonkeyPatch.context() as patch:
        _stand_ins(patch)
        try:
            with TestClient(hms.main.create_app(settings), raise_server_exceptions=False) as client:
                api = ServiceApi(client, signing_key, engine, "sqlite", "hms", hms_metadata, signing_key.token(["*"]))
                yield _a_stay(api)
        finally:
            engine.dispose()


def _a_stay(api: ServiceApi) -> list[FeedPage]:
    def ward(code: str, department: int, beds: int) -> list[int]:
        ward = api.create("wards", {"code": code, "name": f"病区{code}", "department_id": department})
        return [api.create("beds", {"ward_id": ward["id"], "number": str(n), "daily_price": "65.50"})["id"]
                for n in range(1, beds + 1)] + [ward["id"]]  # fmt: skip

    *medicine, _ = ward("A", 31, 3)
    (surgery, _) = ward("B", 32, 1)
    (_, spare_ward) = ward("C", 33, 1)
    ok = {200, 201}
    assert api.post(f"beds/{medicine[2]}/state", {"state": "closed"}).status_code in ok
    # Ward C: disabled, given to 31, enabled: its bed is 31's, open.
    assert api.post(f"wards/{spare_ward}/disable").status_code in ok
    assert api.put(f"wards/{spare_ward}", {"code": "C", "name": "病区C", "department_id": 31}).status_code in ok
    assert api.post(f"wards/{spare_ward}/enable").status_code in ok
    stay = api.create("stays", {"patient_id": 9, "doctor_id": 5, "bed_id": medicine[0], "diagnosis": "阑尾炎",
                                "charge_type_id": 2, "deposit": {"amount": "1000.00", "method": "cash"}})  # fmt: skip
    booked = api.post(f"stays/{stay['id']}/items", {"lines": [{"charge_item_id": 1, "quantity": 1},
                                                              {"charge_item_id": 2, "quantity": 2}]})  # fmt: skip
    assert booked.status_code == 201, booked.text
    assert api.post(f"charges/{booked.json()[1]['id']}/cancel", {"reason": "重复记账"}).status_code == 201
    order = api.create(f"stays/{stay['id']}/drug-orders", {"lines": [{"drug_id": 1, "quantity": 4}]})
    dispensed = api.post(f"orders/{order['id']}/dispensed", {}, headers={"Idempotency-Key": "pms-dispensed-1"})
    assert dispensed.status_code == 200, dispensed.text
    moved = api.post(f"stays/{stay['id']}/transfers", {"bed_id": surgery, "department_id": 32, "doctor_id": 6,
                                                        "reason": "转外科手术"})  # fmt: skip
    assert moved.status_code == 201, moved.text
    first = api.create(f"stays/{stay['id']}/settlement", {"method": "cash"})
    assert api.post(f"settlements/{first['id']}/reverse", {"reason": "结算有误"}).status_code == 201
    api.create(f"stays/{stay['id']}/settlement", {"method": "cash"})
    pages: list[FeedPage] = []
    after = 0
    while True:
        answer = api.get("feed", params={"after": after, "limit": 5})
        assert answer.status_code == 200, answer.text
        page = FeedPage.model_validate(answer.json())
        if not page.items:
            return pages
        assert PATIENT not in answer.text  # the feed names no patient
        pages.append(page)
        after = page.next


async def test_hms_feed_carries_what_the_handlers_read(db: Database, hms_feed: list[FeedPage]) -> None:
    await ingest(db, hms_feed)
    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    today = now.date()

    async def month(**filters: Any) -> dict[str, Any]:
        answer = await report(
            db, "inpatient-monthly", now=now, date_from=today.replace(day=1), date_to=today, **filters
        )
        return answer.rows[0]

    everything, medicine, surgery = await month(), await month(department_id=31), await month(department_id=32)
    assert {k: everything[k] for k in ("admissions", "discharges", "transfers_in", "transfers_out", "bed_days")} == {
        "admissions": 1, "discharges": 1, "transfers_in": 1, "transfers_out": 1, "bed_days": 1}  # fmt: skip
    # A stay of no night is one bed-day, in 32's bed at 65.50; the item of no dbs category credited.
    assert {k: everything[k] for k in ("drug", "item", "other", "bed", "revenue", "deposits")} == {
        "drug": "22.00", "item": "120.00", "other": "0.00", "bed": "65.50", "revenue": "207.50",
        "deposits": "1000.00"}  # fmt: skip
    assert (everything["insured"], everything["self_pay"]) == ("145.25", "62.25")  # 207.50 × 0.70, once reversal netted
    # Beds open at the day's end: 31's two and ward C's, 32's one (the closed one not).
    assert (medicine["open_bed_days"], surgery["open_bed_days"]) == (3, 1)
    assert (medicine["admissions"], medicine["transfers_out"], medicine["drug"], medicine["bed_days"]) == (
        1,
        1,
        "22.00",
        0,
    )
    assert (surgery["discharges"], surgery["transfers_in"], surgery["bed"], surgery["occupancy"]) == (
        1,
        1,
        "65.50",
        "100.0",
    )
    assert (surgery["insured"], medicine["insured"]) == ("145.25", "0.00")
