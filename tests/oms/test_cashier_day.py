"""The cashier's day through the real gateway, on SQLite and MariaDB: insured payments split into
the insured share and the patient's, two cashiers' payments and refunds, and their settlements
(交班/日结) checked against an independent sum over the stored payment rows."""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from tests.oms.outpatient_desk import Desk
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

CASHIER = [
    "oms:visit:write",
    "oms:visit:read",
    "oms:payment:write",
    "oms:payment:read",
    "oms:refund:approve",
    "oms:settlement:read",
    "oms:settlement:write",
]
SUPERVISOR = ["oms:settlement:read", "oms:settlement_all:read"]
ZERO = Decimal("0.00")


def morning_zone() -> str:
    """A time zone where it is now about 9 in the morning: the morning shift is open whenever the
    test runs (registration refuses a shift that has ended)."""
    offset = 9 - datetime.now(UTC).hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    # Etc/GMT signs are POSIX's: Etc/GMT-8 is UTC+8.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@dataclass
class Day:
    desk: Desk
    zone: str
    today: date
    a: httpx2.Client
    b: httpx2.Client
    supervisor: httpx2.Client
    ratio70: dict[str, Any]
    ratio55: dict[str, Any]
    schedule: dict[str, Any]

    def rows(self, where: str = "1=1", **params: Any) -> list[Any]:
        """Payment rows as stored, each with the kind of the payment a refund reverses."""
        sql = (
            "SELECT p.id, p.number, p.kind, p.method, p.amount, p.insured_amount, p.self_amount, p.self_method,"
            " p.settlement_id, p.cashier, o.kind AS reversed_kind FROM payments p"
            f" LEFT JOIN payments o ON p.refund_of = o.id WHERE {where} ORDER BY p.id"
        )
        with self.desk.engines["oms"].connect() as conn:
            found = conn.execute(text(sql), params).mappings().all()
        # Plain SQL on SQLite answers floats: money back to cents.
        money = ("amount", "insured_amount", "self_amount")
        return [
            SimpleNamespace(**{**r, **{m: Decimal(str(r[m])).quantize(Decimal("0.01")) for m in money}}) for r in found
        ]


def client(stack: Stack, permissions: list[str], username: str, user_id: int) -> httpx2.Client:
    token = stack.token(permissions, username=username, user_id=user_id)
    return httpx2.Client(base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {token}"}, timeout=60)


def ok(http: httpx2.Client, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    answer = http.request(method, path, **kwargs)
    assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def once() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    directory = Path(tmp_path_factory.mktemp("cashier_day"))
    zone = morning_zone()
    with fresh_databases(request.param, ["oms", "dms"], directory) as urls, Stack(directory, urls) as stack:
        stack.start("dbs", demo_data=True, timezone=zone)
        stack.start("gateway", timezone=zone)
        stack.start("dms", timezone=zone)
        stack.start("oms", timezone=zone, database_pool_size=30)
        desk = Desk(stack, urls)
        clients = [
            client(stack, CASHIER, "cashier_a", 101),
            client(stack, CASHIER, "cashier_b", 102),
            client(stack, SUPERVISOR, "supervisor", 103),
        ]
        today = datetime.now(ZoneInfo(zone)).date()
        types = {t["name"]: t for t in ok(clients[0], "GET", "/api/oms/charge-types")}
        try:
            yield Day(
                desk,
                zone,
                today,
                *clients,
                ratio70=types["城镇职工医保"],
                ratio55=types["城乡居民医保"],
                schedule=desk.schedule("D001", quota=60, day=today),
            )
        finally:
            for http in clients:
                http.close()
            desk.close()


def register(day: Day, cashier: httpx2.Client, name: str, method: str | None, **payment: Any) -> dict[str, Any]:
    patient = day.desk.patient(name)
    body = {"patient_id": patient["id"], "schedule_id": day.schedule["id"], "payment_method": method, **payment}
    return ok(cashier, "POST", "/api/oms/visits", 201, json=body, headers=once())


def pay(cashier: httpx2.Client, visit_id: int, order_id: int | None, method: str, **body: Any) -> dict[str, Any]:
    body = {"visit_id": visit_id, "order_id": order_id, "method": method, **body}
    return ok(cashier, "POST", "/api/oms/payments", 201, json=body, headers=once())


def item_order(day: Day, visit_id: int, *codes: str) -> dict[str, Any]:
    lines = [{"charge_item_id": day.desk.item(code)["id"], "quantity": 1} for code in codes]
    return day.desk.ok("POST", f"/api/oms/visits/{visit_id}/item-orders", 201, json={"lines": lines})


def prescription(day: Day, visit_id: int, code: str, quantity: int) -> dict[str, Any]:
    lines = [{"drug_id": day.desk.drug(code)["id"], "quantity": quantity}]
    return day.desk.ok("POST", f"/api/oms/visits/{visit_id}/prescriptions", 201, json={"lines": lines})


def see(day: Day, visit: dict[str, Any]) -> None:
    day.desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})


def refund(cashier: httpx2.Client, payment_id: int, line_ids: list[int] | None = None) -> dict[str, Any]:
    body = {"payment_id": payment_id, "line_ids": line_ids, "reason": "患者要求退费"}
    return ok(cashier, "POST", "/api/oms/refunds", 201, json=body, headers=once())


def payment_of(day: Day, visit: dict[str, Any]) -> dict[str, Any]:
    found = ok(day.a, "GET", "/api/oms/payments", params={"visit_id": visit["id"], "kind": "registration"})
    return found["items"][0]


def expected(rows: list[Any]) -> dict[str, Any]:
    """The totals a settlement of these rows must show, summed here independently of oms."""
    payments = [r for r in rows if r.kind != "refund"]
    refunds = [r for r in rows if r.kind == "refund"]
    by_method: dict[str, Decimal] = defaultdict(Decimal)
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        by_method["insurance"] += r.insured_amount
        by_method[r.self_method] += r.self_amount
        by_kind[r.reversed_kind if r.kind == "refund" else r.kind] += r.amount

    def numbers(found: list[Any]) -> tuple[str, str, int] | None:
        return (min(r.number for r in found), max(r.number for r in found), len(found)) if found else None

    return {
        "payment_count": len(payments),
        "refund_count": len(refunds),
        "received": sum((r.amount for r in payments), ZERO),
        "refunded": sum((r.amount for r in refunds), ZERO),
        "net": sum((r.amount for r in rows), ZERO),
        "insured": sum((r.insured_amount for r in rows), ZERO),
        "self_paid": sum((r.self_amount for r in rows), ZERO),
        "by_method": {m: v for m, v in by_method.items() if v},
        "by_kind": {k: v for k, v in by_kind.items() if v},
        "payment_numbers": numbers(payments),
        "refund_numbers": numbers(refunds),
    }


def shown(totals: dict[str, Any]) -> dict[str, Any]:
    """A settlement's totals in the shape of `expected`."""

    def numbers(found: dict[str, Any] | None) -> tuple[str, str, int] | None:
        return (found["first"], found["last"], found["count"]) if found else None

    money = ("received", "refunded", "net", "insured", "self_paid")
    return {
        "payment_count": totals["payment_count"],
        "refund_count": totals["refund_count"],
        **{name: Decimal(totals[name]) for name in money},
        "by_method": {m["method"]: Decimal(m["net"]) for m in totals["by_method"] if Decimal(m["net"])},
        "by_kind": {k["kind"]: Decimal(k["net"]) for k in totals["by_kind"] if Decimal(k["net"])},
        "payment_numbers": numbers(totals["payment_numbers"]),
        "refund_numbers": numbers(totals["refund_numbers"]),
    }


@pytest.fixture(scope="module")
def worked(day: Day) -> dict[str, Any]:
    """A morning at two windows: registrations, drugs and items, cash and 医保, partial refunds."""
    # Cashier A
    cash_visit = register(day, day.a, "现金甲", "cash")
    insured_visit = register(day, day.a, "医保乙", "insurance", charge_type_id=day.ratio70["id"], self_method="wechat")
    see(day, cash_visit)
    drugs = prescription(day, cash_visit["id"], "YP0005", 1)  # 19.90
    drug_payment = pay(day.a, cash_visit["id"], drugs["id"], "insurance", charge_type_id=day.ratio55["id"])
    items = item_order(day, cash_visit["id"], "XM0002", "XM0003")  # 25.00 + 15.00
    item_payment = pay(day.a, cash_visit["id"], items["id"], "insurance", charge_type_id=day.ratio70["id"])
    item_refund = refund(day.a, item_payment["id"], [items["lines"][0]["id"]])
    # Cashier B
    refunded_visit = register(day, day.b, "退号丙", "insurance", charge_type_id=day.ratio70["id"], self_method="alipay")
    registration_refund = refund(day.b, payment_of(day, refunded_visit)["id"])
    card_visit = register(day, day.b, "刷卡丁", "card")
    see(day, card_visit)
    b_items = item_order(day, card_visit["id"], "XM0004")
    pay(day.b, card_visit["id"], b_items["id"], "wechat")
    unpaid = register(day, day.b, "后缴戊", None)
    late_registration = pay(
        day.b, unpaid["id"], None, "insurance", charge_type_id=day.ratio70["id"], self_method="card"
    )
    return {
        "insured_visit": insured_visit,
        "drug_payment": drug_payment,
        "item_payment": item_payment,
        "item_refund": item_refund,
        "items": items,
        "registration_refund": registration_refund,
        "late_registration": late_registration,
    }


def test_an_insured_payment_is_split_into_the_insured_share_and_the_patients(day: Day, worked: dict) -> None:
    registration = payment_of(day, worked["insured_visit"])
    assert registration["method"] == "insurance" and registration["charge_type_name"] == "城镇职工医保"
    assert Decimal(registration["amount"]) == Decimal("50.00")  # 主任专家号
    assert Decimal(registration["insured_amount"]) == Decimal("35.00")
    assert Decimal(registration["self_amount"]) == Decimal("15.00") and registration["self_method"] == "wechat"
    # 19.90 × 55% = 10.945: half up to the cent.
    drug = worked["drug_payment"]
    assert (Decimal(drug["insured_amount"]), Decimal(drug["self_amount"])) == (Decimal("10.95"), Decimal("8.95"))
    assert drug["self_method"] == "cash" and Decimal(drug["insured_ratio"]) == Decimal("0.55")
    # A refund splits with the ratio frozen on the payment it reverses.
    item_refund = worked["item_refund"]
    assert (Decimal(item_refund["insured_amount"]), Decimal(item_refund["self_amount"])) == (
        Decimal("-17.50"),
        Decimal("-7.50"),
    )
    # Other methods: all the patient's own.
    cash = ok(day.a, "GET", "/api/oms/payments", params={"kind": "registration"})["items"]
    assert all(Decimal(p["insured_amount"]) == 0 for p in cash if p["method"] != "insurance")
    # The receipt prints both shares.
    receipt = day.a.get(f"/api/oms/payments/{registration['id']}/receipt.pdf")
    assert receipt.status_code == 200
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.content)).pages)
    assert "医保统筹支付" in words and "个人支付" in words and "35.00" in words and "15.00" in words
    assert "城镇职工医保" in words


def test_an_insurance_payment_names_an_enabled_charge_type(day: Day, worked: dict) -> None:
    disabled = day.desk.ok(
        "POST", "/api/dbs/charge-types", 201, json={"name": "停用费别", "reimbursement_ratio": "0.50"}
    )
    day.desk.ok("POST", f"/api/dbs/charge-types/{disabled['id']}/disable")
    assert "停用费别" not in [t["name"] for t in ok(day.a, "GET", "/api/oms/charge-types")]
    visit = register(day, day.b, "费别己", None)
    for charge_type_id in (None, 999999, disabled["id"]):
        body = {"visit_id": visit["id"], "method": "insurance", "charge_type_id": charge_type_id}
        answer = day.b.post("/api/oms/payments", json=body, headers=once())
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["charge_type_id"]
    # Refused before anything was written: the fee is still to pay.
    assert day.desk.ok("GET", f"/api/oms/visits/{visit['id']}")["visit"]["fee_paid"] is False
    # At registration too, before a place is booked.
    patient = day.desk.patient("费别庚")
    body = {"patient_id": patient["id"], "schedule_id": day.schedule["id"], "payment_method": "insurance"}
    answer = day.b.post("/api/oms/visits", json=body, headers=once())
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "charge_type_id"


def test_a_settlement_adds_up_exactly_against_the_days_rows(day: Day, worked: dict) -> None:
    preview = ok(day.a, "GET", "/api/oms/cashier-settlements/preview")
    open_rows = day.rows("p.cashier = 'cashier_a' AND p.settlement_id IS NULL")
    assert shown(preview["totals"]) == expected(open_rows)
    assert not ok(day.a, "GET", "/api/oms/cashier-settlements")["items"], "a preview stores nothing"

    settled = ok(day.a, "POST", "/api/oms/cashier-settlements", 201)
    mine = day.rows("p.settlement_id = :s", s=settled["id"])
    assert {r.id for r in mine} == {r.id for r in open_rows}
    assert shown(settled["totals"]) == expected(mine)
    totals = settled["totals"]
    assert totals["payment_count"] == 4 and totals["refund_count"] == 1
    assert Decimal(totals["net"]) == Decimal(totals["received"]) + Decimal(totals["refunded"])
    assert Decimal(totals["net"]) == Decimal(totals["insured"]) + Decimal(totals["self_paid"])
    assert sum(Decimal(m["net"]) for m in totals["by_method"]) == Decimal(totals["net"])
    assert settled["business_date"] == day.today.isoformat() and settled["cashier"] == "cashier_a"
    # The refund of an item counts under 检查治疗费, the kind it reverses.
    kinds = {k["kind"]: k for k in totals["by_kind"]}
    assert kinds["item"]["refund_count"] == 1 and Decimal(kinds["item"]["net"]) == Decimal("15.00")
    # B's records are B's: untouched.
    assert all(r.settlement_id is None for r in day.rows("p.cashier = 'cashier_b'"))
    # Audited.
    with day.desk.engines["oms"].connect() as conn:
        audited = conn.execute(
            text(
                "SELECT route, actor, request_id FROM audit_log WHERE entity = 'cashier_settlement' AND entity_id = :i"
            ),
            {"i": str(settled["id"])},
        ).all()
    assert [(route, actor) for route, actor, _ in audited] == [("POST /api/oms/cashier-settlements", "cashier_a")]
    assert audited[0].request_id


def test_a_settled_period_never_changes(day: Day, worked: dict) -> None:
    first = ok(day.a, "GET", "/api/oms/cashier-settlements", params={"cashier": "cashier_a"})["items"][-1]
    claimed = {r.id for r in day.rows("p.settlement_id = :s", s=first["id"])}
    # Nothing new: nothing to settle.
    answer = day.a.post("/api/oms/cashier-settlements")
    assert answer.status_code == 409 and answer.json()["code"] == "nothing_to_settle"
    # There is no route that edits or deletes a settlement.
    for method in ("PUT", "PATCH", "DELETE"):
        assert day.a.request(method, f"/api/oms/cashier-settlements/{first['id']}").status_code in (403, 404, 405)
    # A correction of a settled payment is a new record, in the next period.
    late = refund(day.a, worked["item_payment"]["id"], [worked["items"]["lines"][1]["id"]])
    assert late["settlement_id"] is None
    second = ok(day.a, "POST", "/api/oms/cashier-settlements", 201)
    assert [r.id for r in day.rows("p.settlement_id = :s", s=second["id"])] == [late["id"]]
    assert second["totals"]["refund_count"] == 1 and second["totals"]["payment_count"] == 0
    assert Decimal(second["totals"]["net"]) == Decimal("-15.00")
    assert Decimal(second["totals"]["insured"]) == Decimal("-10.50")
    # The first settlement reads as it did, over the same rows.
    assert ok(day.a, "GET", f"/api/oms/cashier-settlements/{first['id']}") == first
    assert {r.id for r in day.rows("p.settlement_id = :s", s=first["id"])} == claimed
    # The insured payment refunded in full across both periods nets to zero in both shares.
    split = day.rows(f"p.id = {worked['item_payment']['id']} OR p.refund_of = {worked['item_payment']['id']}")
    assert sum(r.insured_amount for r in split) == 0 and sum(r.self_amount for r in split) == 0


def test_a_payment_made_while_settling_is_in_exactly_one_period(day: Day, worked: dict) -> None:
    visits = [register(day, day.b, f"并发{i}", None) for i in range(12)]

    def pay_fee(visit: dict[str, Any]) -> int:
        body = {"visit_id": visit["id"], "method": "cash"}
        return day.b.post("/api/oms/payments", json=body, headers=once()).status_code

    def settle(_: int) -> int:
        return day.b.post("/api/oms/cashier-settlements").status_code

    with ThreadPoolExecutor(8) as pool:
        paying = pool.map(pay_fee, visits)
        settling = pool.map(settle, range(4))
        paid, settled = set(paying), set(settling)
    assert paid == {201}
    assert settled <= {201, 409} and 201 in settled
    final = day.b.post("/api/oms/cashier-settlements")
    assert final.status_code in (201, 409)
    rows = day.rows("p.cashier = 'cashier_b'")
    assert all(r.settlement_id is not None for r in rows)
    settlements = ok(day.b, "GET", "/api/oms/cashier-settlements", params={"size": 100})["items"]
    assert {s["id"] for s in settlements} == {r.settlement_id for r in rows}
    for settlement in settlements:
        assert shown(settlement["totals"]) == expected(day.rows("p.settlement_id = :s", s=settlement["id"]))
    assert sum(s["totals"]["payment_count"] + s["totals"]["refund_count"] for s in settlements) == len(rows)


def test_a_supervisor_sees_every_cashiers_day(day: Day, worked: dict) -> None:
    if day.rows("p.cashier = 'cashier_a' AND p.settlement_id IS NULL"):
        ok(day.a, "POST", "/api/oms/cashier-settlements", 201)
    seen = ok(day.supervisor, "GET", "/api/oms/cashier-settlements/day", params={"date": day.today.isoformat()})
    assert {s["cashier"] for s in seen["settlements"]} == {"cashier_a", "cashier_b"}
    ids = ",".join(str(s["id"]) for s in seen["settlements"])
    assert shown(seen["total"]) == expected(day.rows(f"p.settlement_id IN ({ids})"))
    assert Decimal(seen["total"]["net"]) == sum(Decimal(s["totals"]["net"]) for s in seen["settlements"])
    # Everything of the day is settled (an unsettled cashier would be listed with their open totals).
    assert seen["unsettled"] == []
    unsettled = register(day, day.b, "未结辛", "cash")
    seen = ok(day.supervisor, "GET", "/api/oms/cashier-settlements/day", params={"date": day.today.isoformat()})
    assert [(u["cashier"], u["totals"]["net"]) for u in seen["unsettled"]] == [("cashier_b", unsettled["fee"])]
    # A cashier reads only their own.
    assert day.a.get("/api/oms/cashier-settlements/day").status_code == 403
    assert day.a.get("/api/oms/cashier-settlements", params={"cashier": "cashier_b"}).status_code == 403
    other = next(s for s in seen["settlements"] if s["cashier"] == "cashier_b")
    assert day.a.get(f"/api/oms/cashier-settlements/{other['id']}").status_code == 404
    assert day.a.get(f"/api/oms/cashier-settlements/{other['id']}/report.pdf").status_code == 404
    everyone = ok(day.supervisor, "GET", "/api/oms/cashier-settlements", params={"date": day.today.isoformat()})
    assert {s["cashier"] for s in everyone["items"]} == {"cashier_a", "cashier_b"}


def test_the_pdf_and_xlsx_reports_carry_the_stored_totals(day: Day, worked: dict) -> None:
    settlement = ok(day.a, "GET", "/api/oms/cashier-settlements", params={"cashier": "cashier_a"})["items"][-1]
    totals = settlement["totals"]
    pdf = day.a.get(f"/api/oms/cashier-settlements/{settlement['id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert settlement["number"] in words and "日结" in words and "医保统筹支付" in words
    for figure in ("net", "received", "refunded", "insured", "self_paid"):
        assert f"{abs(Decimal(totals[figure])):,.2f}" in words, figure
    assert totals["payment_numbers"]["first"] in words and totals["refund_numbers"]["last"] in words

    xlsx = day.a.get(f"/api/oms/cashier-settlements/{settlement['id']}/report.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert Decimal(str(cells["实收合计"][0])) == Decimal(totals["net"])
    assert Decimal(str(cells["医保统筹支付"][0])) == Decimal(totals["insured"])
    assert Decimal(str(cells["个人支付"][0])) == Decimal(totals["self_paid"])
    assert cells["收费笔数"][0] == totals["payment_count"] and cells["退费笔数"][0] == totals["refund_count"]
    assert cells["收费票据"][:3] == (
        totals["payment_numbers"]["first"],
        totals["payment_numbers"]["last"],
        totals["payment_numbers"]["count"],
    )
    medical = next(m for m in totals["by_method"] if m["method"] == "insurance")
    assert Decimal(str(cells["医保"][2])) == Decimal(medical["net"])
