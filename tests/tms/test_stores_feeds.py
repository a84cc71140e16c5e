"""The real pms and sms feeds carry what tms's pharmacy and warehouse handlers read.

Both apps run in process (SQLite) and are driven through their APIs as the desks and the relays
drive them: the warehouse receives, reverses, sends to the pharmacy (sms's delivery message posted
to pms as its relay would), disposes and counts; the pharmacy dispenses outpatient and inpatient
orders, takes a line back from the patient and has it refunded, and returns stock to the warehouse.
Their `/feed` pages are then applied to tms's handlers, and tms's figures must equal the amounts
written out here and each service's own stock value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

import pms.main
import sms.main
import tms.api  # noqa: F401  (every model on the metadata)
from pms.db import outbox as pms_outbox
from shared.db import Database
from shared.feed import FeedPage
from sms.db import outbox as sms_outbox
from sms.masterdata import MasterData, Model, master_data
from tests.pms.conftest import pms_settings
from tests.support.tokens import SigningKey
from tms.db import metadata
from tms.facts import HANDLERS
from tms.ingest.service import apply_page, ensure_cursors
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.shape import Filters, Lookup, ReportOut

ZONE = ZoneInfo("Asia/Shanghai")


class Masters(MasterData):
    """dbs as the warehouse would find it: every drug, warehouse, supplier and handler exists."""

    def __init__(self) -> None:
        pass

    async def _fetch(self, model: type[Model], record_id: int) -> Model | None:
        return model.model_validate(
            {"id": record_id, "code": f"YP{record_id:03d}", "name": f"药品{record_id}", "price": "1.00"}
        )


class Desk:
    def __init__(self, client: TestClient, service: str, key: SigningKey, permissions: list[str], user: str) -> None:
        self.client, self.service, self.key = client, service, key
        self.token = key.token(permissions, user_id=7, username=user)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        key: str | None = None,
        status: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}", **({"Idempotency-Key": key} if key else {})}
        answer = self.client.request(method, f"/api/{self.service}/{path}", json=body, headers=headers)
        assert answer.status_code == status, answer.text
        return answer.json()

    def feed(self) -> FeedPage:
        return FeedPage.model_validate(
            self.call("GET", "feed?limit=1000", token=self.key.token([f"{self.service}:feed:read"]))
        )

    def sent(self, table: Any, key: str) -> dict[str, Any]:
        """The body of the outbox message `key`: what the relay would deliver."""

        async def read() -> Any:
            async with self.client.app.state.db.transaction() as session:  # type: ignore[attr-defined]
                return (await session.execute(select(table.c.body).where(table.c.key == key))).scalar_one()

        assert self.client.portal is not None
        return json.loads(self.client.portal.call(read))  # type: ignore[no-any-return]


@pytest.fixture
def desks(tmp_path: Path, signing_key: SigningKey) -> Iterator[tuple[Desk, Desk]]:
    pharmacy_settings = pms_settings(f"sqlite+aiosqlite:///{tmp_path / 'pms.db'}", tmp_path / "pms", signing_key)
    warehouse_settings = sms.main.settings_class(
        **{
            **pharmacy_settings.model_dump(
                include={
                    "registry_urls",
                    "redis_url",
                    "redis_sentinels",
                    "jwks",
                    "check_revocations",
                    "log_to_file",
                    "log_level",
                }
            ),
            "var_dir": tmp_path / "sms",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'sms.db'}",
        }
    )
    warehouse_app = sms.main.create_app(warehouse_settings)
    warehouse_app.dependency_overrides[master_data] = Masters
    with (
        TestClient(pms.main.create_app(pharmacy_settings), raise_server_exceptions=False) as pharmacy,
        TestClient(warehouse_app, raise_server_exceptions=False) as warehouse,
    ):
        yield (
            Desk(
                pharmacy,
                "pms",
                signing_key,
                ["pms:dispensing:read", "pms:dispensing:write", "pms:stock:read", "pms:stock:write"],
                "pharmacist",
            ),
            Desk(
                warehouse,
                "sms",
                signing_key,
                [
                    f"sms:{r}:{a}"
                    for r in ("inbound", "outbound", "disposal", "stocktake", "stock")
                    for a in ("read", "write")
                ],
                "keeper",
            ),
        )


def _warehouse_work(sms: Desk, pms: Desk) -> None:
    today = datetime.now(ZONE).date()
    soon, far = (today + timedelta(days=30)).isoformat(), (today + timedelta(days=900)).isoformat()

    def line(drug: int, batch: str, quantity: int, price: str, expiry: str) -> dict[str, Any]:
        return {
            "drug_id": drug,
            "batch_no": batch,
            "production_date": (today - timedelta(days=100)).isoformat(),
            "expiry_date": expiry,
            "purchase_price": price,
            "quantity": quantity,
        }

    def posted(*lines: dict[str, Any]) -> dict[str, Any]:
        draft = sms.call(
            "POST",
            "inbound-orders",
            {"warehouse_id": 1, "supplier_id": 1, "handler_id": 1, "lines": list(lines)},
            status=201,
        )
        return sms.call("POST", f"inbound-orders/{draft['id']}/post")  # type: ignore[no-any-return]

    posted(line(1, "A1", 100, "12.00", far), line(2, "B1", 50, "8.00", soon))  # 1600.00
    wrong = posted(line(3, "C1", 20, "5.00", far))  # 100.00, reversed: the wrong batch number
    sms.call("POST", f"inbound-orders/{wrong['id']}/reverse", {"reason": "批号错误"}, status=201)
    out = sms.call(
        "POST",
        "outbound-orders",
        {"warehouse_id": 1, "lines": [{"drug_id": 1, "quantity": 30}, {"drug_id": 2, "quantity": 10}]},
        status=201,
    )  # 440.00
    # sms's relay delivers it to the pharmacy, as sms.
    delivery = sms.sent(sms_outbox, f"sms-outbound-{out['id']}")
    pms.call(
        "POST",
        "deliveries",
        delivery,
        token=pms.key.service_token("sms", ["pms:delivery:write"]),
        key=f"sms-outbound-{out['id']}",
        status=201,
    )
    stock = {b["batch_no"]: b["batch_id"] for b in sms.call("GET", "stock?include_empty=true")["items"]}
    sms.call("POST", "disposals", {"batch_id": stock["B1"], "quantity": 5, "reason": "破损"}, status=201)  # 40.00
    sheet = sms.call("POST", "stocktakes", {"warehouse_id": 1}, status=201)
    for counted in sheet["lines"]:
        found = counted["book_quantity"] + (2 if counted["batch_no"] == "A1" else 0)  # A1: 2 more than booked, +24.00
        sms.call("PUT", f"stocktakes/{sheet['id']}/lines/{counted['id']}", {"counted_quantity": found})
    sms.call("POST", f"stocktakes/{sheet['id']}/submit")
    sms.call(
        "POST",
        f"stocktakes/{sheet['id']}/approve",
        token=sms.key.token(["sms:stocktake:approve"], user_id=8, username="head"),
    )


def _pharmacy_work(pms: Desk, sms: Desk) -> None:
    oms = pms.key.service_token("oms", ["pms:dispensing:write"])
    hms = pms.key.service_token("hms", ["pms:dispensing:write"])

    def order(source: str, order_id: int, *lines: tuple[int, int, int]) -> dict[str, Any]:
        body = {
            "source": source,
            "order_id": order_id,
            "order_number": f"CF{order_id}",
            "visit_number": f"MZ{order_id}",
            "patient_name": "张三",
            "department_name": "内科",
            "lines": [
                {"line_id": li, "drug_id": d, "code": f"YP{d:03d}", "name": f"药品{d}", "quantity": q}
                for li, d, q in lines
            ],
        }
        received = pms.call(
            "POST",
            "dispensing-orders",
            body,
            token=oms if source == "oms" else hms,
            key=f"{source}-order-{order_id}",
            status=201,
        )
        return pms.call("POST", f"dispensing-orders/{received['id']}/dispense")  # type: ignore[no-any-return]

    outpatient = order("oms", 1, (11, 1, 4), (12, 2, 2))  # 4 × 12.00 + 2 × 8.00 = 64.00
    order("hms", 2, (21, 1, 3))  # 36.00
    # The patient brings the 2 of B1 back (16.00), and the cashier refunds them.
    pms.call("POST", f"dispensing-orders/{outpatient['id']}/returns", {"line_ids": [12], "reason": "过敏"}, status=201)
    pms.call(
        "POST",
        "dispensing-orders/by-source/oms/1/refund-claims",
        {"line_ids": [12], "payment_id": 5, "reason": "退药", "cashier": "cashier"},
        token=oms,
        key="claim-1",
        status=201,
    )
    # 5 of A1 back to the warehouse's stock (60.00); pms's relay delivers it to sms, as pms.
    a1 = next(b for b in pms.call("GET", "stock")["items"] if b["batch_no"] == "A1")
    back = pms.call(
        "POST",
        "warehouse-returns",
        {
            "warehouse_id": 1,
            "destination": "stock",
            "lines": [{"batch_id": a1["batch_id"], "quantity": 5, "reason": "近效期调剂"}],
        },
        status=201,
    )
    sms.call(
        "POST",
        "returns",
        pms.sent(pms_outbox, f"pms-return-{back['id']}"),
        key=f"pms-return-{back['id']}",
        token=sms.key.service_token("pms", ["sms:return:write"]),
        status=201,
    )


async def _tms(path: Path, pages: dict[str, FeedPage]) -> tuple[ReportOut, ReportOut]:
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    db = Database(url)
    try:
        async with db.transaction() as session:
            await ensure_cursors(session, list(pages))
            for source, page in pages.items():
                await apply_page(session, source, 0, page, HANDLERS, ZONE, complete=True)
        now = datetime.now(ZONE)
        lookup = Lookup({}, {}, now, 90)
        # The days around today (whatever the month): every movement above is today's.
        filters = Filters(date_from=now.date() - timedelta(days=1), date_to=now.date() + timedelta(days=1))
        async with db.transaction() as session:
            pharmacy = await service.answer(session, service.find(REPORTS, "pharmacy"), filters, lookup)
            warehouse = await service.answer(session, service.find(REPORTS, "warehouse"), filters, lookup)
        return pharmacy, warehouse
    finally:
        await db.dispose()


@pytest.mark.anyio
async def test_the_real_feeds_give_the_figures_written_out_and_each_services_stock_value(
    desks: tuple[Desk, Desk], tmp_path: Path
) -> None:
    pms, sms = desks
    _warehouse_work(sms, pms)
    _pharmacy_work(pms, sms)
    pharmacy, warehouse = await _tms(tmp_path / "tms.db", {"pms": pms.feed(), "sms": sms.feed()})

    assert {k: v for k, v in pharmacy.total.items() if k != "month"} == {  # type: ignore[union-attr]
        "dispensed_outpatient": "64.00",
        "dispensed_inpatient": "36.00",
        "returned": "16.00",
        "dispensed_net": "84.00",
        "received": "440.00",
        "to_warehouse": "60.00",
    }
    assert {k: v for k, v in warehouse.total.items() if k != "month"} == {  # type: ignore[union-attr]
        "inbound": "1600.00",
        "reversed": "100.00",
        "outbound": "440.00",
        "returns": "60.00",
        "disposals": "40.00",
        "adjustments": "24.00",
    }
    # The pharmacy holds 18 of A1 at 12.00 and 10 of B1 at 8.00 (expiring in 30 days); the
    # warehouse 77 of A1 and 35 of B1.
    shelf = {f.key: f.value for f in pharmacy.summary}
    assert shelf == {"stock_value": "296.00", "expiring_value": "80.00", "expired_value": "0.00"}
    assert {f.key: f.value for f in warehouse.summary} == {
        "stock_value": "1204.00",
        "expiring_value": "280.00",
        "expired_value": "0.00",
    }
    # And each service's own books agree.
    pms_items = pms.call("GET", "stock?include_empty=true")["items"]
    assert sum(Decimal(b["value"]) for b in pms_items) == Decimal(shelf["stock_value"])
    sms_items = sms.call("GET", "stock?include_empty=true")["items"]
    assert sum(Decimal(b["purchase_value"]) for b in sms_items) == Decimal("1204.00")
