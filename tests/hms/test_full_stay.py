"""A stay from admission to discharge settlement through the real gateway, with the real pharmacy:
deposits, items, drugs dispensed by pms, a transfer, a drug given back, bed-days and the settlement,
every figure checked against one worked out here by hand, in Decimal — on SQLite and on MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from hms.stays.models import Stay
from shared.clock import local_date, local_today
from tests.hms.ward import Ward, wait_for, ward_on
from tests.pms.conftest import stock_up

RESIDENT_INSURANCE = "城乡居民医保"  # dbs's demo: ratio 0.55
HOSPITAL_TZ = "Asia/Shanghai"  # hms's default `timezone`
NIGHTS = 3  # the patient came in three days before the settlement
CENT = Decimal("0.01")


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def ward(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    # 算入又算出: the discharge day is charged too, at the price of the bed the patient is in then,
    # so the transfer's effect on the price shows (under the default every night was before it).
    with ward_on(request.param, Path(tmp_path_factory.mktemp("full-stay")), hms={"bed_day_rule": "in_and_out"}) as ward:
        yield ward


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def admitted_days_ago(ward: Ward, stay_id: int, days: int) -> datetime:
    """Moves the admission back `days` days, as if the patient had come in then: the only way to have
    nights in hospital without waiting for them. Nothing else about the stay is touched."""
    stay = ward.ok("GET", f"/api/hms/stays/{stay_id}")
    earlier = datetime.fromisoformat(stay["admitted_at"]) - timedelta(days=days)
    with ward.engines["hms"].begin() as conn:
        conn.execute(update(Stay.__table__).where(Stay.__table__.c.id == stay_id).values(admitted_at=earlier))  # type: ignore[attr-defined]
    return earlier


def pharmacy_order(ward: Ward, order: dict[str, Any]) -> dict[str, Any]:
    """pms's dispensing order for an hms drug order, once hms's outbox has delivered it."""

    def found() -> Any:
        items = ward.ok("GET", "/api/pms/dispensing-orders", params={"q": order["number"]})["items"]
        return next((o for o in items if o["source"] == "hms" and o["order_id"] == order["id"]), None)

    return wait_for(found)  # type: ignore[no-any-return]


def drug_order_state_is(ward: Ward, order_id: int, state: str) -> bool:
    return bool(ward.ok("GET", f"/api/hms/drug-orders/{order_id}")["state"] == state)


def test_a_stay_from_admission_to_settlement_adds_up(ward: Ward) -> None:
    drugs = {code: ward.drug(code) for code in ("YP0001", "YP0002", "YP0006", "YP0010")}
    items = {code: ward.item(code) for code in ("XM0002", "XM0005", "XM0007", "XM0010", "XM0014")}
    charge_type = ward.charge_type(RESIDENT_INSURANCE)
    ratio = Decimal(charge_type["reimbursement_ratio"])
    assert ratio == Decimal("0.55")
    old_bed = ward.new_ward(beds=1, price="40.00")["bed_list"][0]
    new_bed = ward.new_ward(beds=1, price="65.50")["bed_list"][0]
    for code, quantity in (("YP0001", 2), ("YP0002", 1), ("YP0006", 4), ("YP0010", 30)):
        stock_up(ward.http, drugs[code]["id"], quantity, code=code, name=drugs[code]["name"])

    # 入院登记 with a first deposit.
    stay = ward.admit(old_bed["id"], charge_type_id=charge_type["id"], deposit={"amount": "2000.00", "method": "cash"})
    admitted_at = admitted_days_ago(ward, stay["id"], NIGHTS)
    today = local_today(HOSPITAL_TZ)
    nights = (today - local_date(admitted_at, HOSPITAL_TZ)).days
    assert nights == NIGHTS  # (a run straddling the hospital's midnight would see NIGHTS - 1)

    # 预交款: two more.
    for amount, method in (("1000.00", "wechat"), ("500.00", "card")):
        deposit = ward.ok(
            "POST", f"/api/hms/stays/{stay['id']}/deposits", 201, json={"amount": amount, "method": method}
        )
        assert deposit["number"].startswith("YJ") and deposit["amount"] == amount
    deposits = Decimal("3500.00")

    # 项目记账: priced by dbs, whatever the client sends; one item cancelled again (冲销).
    lines = [("XM0002", 1), ("XM0005", 1), ("XM0010", 3), ("XM0014", 2), ("XM0007", 1)]
    booked = ward.ok(
        "POST", f"/api/hms/stays/{stay['id']}/items", 201,
        json={"lines": [{"charge_item_id": items[c]["id"], "quantity": q, "unit_price": "0.01"} for c, q in lines]},
    )  # fmt: skip
    for row, (code, quantity) in zip(booked, lines, strict=True):
        assert (row["code"], row["quantity"]) == (code, quantity)
        assert money(row["unit_price"]) == money(items[code]["price"])
        assert money(row["amount"]) == money(items[code]["price"]) * quantity
        assert row["category"] == items[code]["category_name"]
    ecg = next(r for r in booked if r["code"] == "XM0007")
    credit = ward.ok("POST", f"/api/hms/charges/{ecg['id']}/cancel", 201, json={"reason": "医嘱取消"})
    assert money(credit["amount"]) == -money(items["XM0007"]["price"]) and credit["reverses_id"] == ecg["id"]

    # 药品记账: two orders, each sent to the pharmacy.
    first = ward.ok(
        "POST", f"/api/hms/stays/{stay['id']}/drug-orders", 201,
        json={"lines": [{"drug_id": drugs["YP0001"]["id"], "quantity": 2, "usage": "口服 tid"},
                        {"drug_id": drugs["YP0006"]["id"], "quantity": 4, "usage": "静滴 qd"}]},
    )  # fmt: skip
    second = ward.ok(
        "POST", f"/api/hms/stays/{stay['id']}/drug-orders", 201,
        json={"lines": [{"drug_id": drugs["YP0002"]["id"], "quantity": 1},
                        {"drug_id": drugs["YP0010"]["id"], "quantity": 30, "usage": "煎服"}]},
    )  # fmt: skip
    assert first["number"].startswith("YZ") and first["state"] == "pending"
    for order in (first, second):
        for line in order["lines"]:
            frozen = money(next(d for d in drugs.values() if d["id"] == line["item_id"])["price"])
            assert money(line["unit_price"]) == frozen and money(line["amount"]) == frozen * line["quantity"]
            assert (line["category"], line["state"]) == ("药品费", "booked")

    # Not dispensed yet: nothing can be settled, and the preview says which drugs hold it up.
    held = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert held["can_settle"] is False and len(held["undispensed"]) == 4
    refused = ward.call("POST", f"/api/hms/stays/{stay['id']}/settlement", json={"method": "cash"})
    assert refused.status_code == 409 and refused.json()["code"] == "undispensed_drugs", refused.text
    assert drugs["YP0001"]["name"] in refused.json()["detail"]

    # 发药 at the pharmacy; its report comes back to hms through pms's outbox.
    for order in (first, second):
        ward.ok("POST", f"/api/pms/dispensing-orders/{pharmacy_order(ward, order)['id']}/dispense")
    for order_id in (first["id"], second["id"]):
        wait_for(partial(drug_order_state_is, ward, order_id, "dispensed"))
    assert ward.ok("GET", "/api/hms/undispensed", params={"stay_id": stay["id"]}) == []

    # 转床 into a dearer bed: the nights so far are charged first, at the old bed's price.
    move = ward.ok(
        "POST", f"/api/hms/stays/{stay['id']}/transfers", 201, json={"bed_id": new_bed["id"], "reason": "病情需要"}
    )
    assert (move["from_bed_number"], move["to_bed_number"]) == (old_bed["number"], new_bed["number"])
    assert ward.ok("GET", f"/api/hms/beds/{old_bed['id']}")["state"] == "free"
    account = ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")
    bed_days = [c for c in account["charges"] if c["kind"] == "bed_day"]
    assert sorted(c["service_date"] for c in bed_days) == [
        (today - timedelta(days=n)).isoformat() for n in range(NIGHTS, 0, -1)
    ]
    assert {money(c["amount"]) for c in bed_days} == {Decimal("40.00")}

    # 退药: the saline goes back. hms credits it only once the pharmacy has it back (Never both).
    saline = next(line for line in first["lines"] if line["item_id"] == drugs["YP0006"]["id"])
    give_back = {"line_ids": [saline["id"]], "reason": "停药"}
    too_early = ward.call(
        "POST", f"/api/hms/drug-orders/{first['id']}/returns", json=give_back,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )  # fmt: skip
    assert too_early.status_code == 409 and too_early.json()["code"] == "already_dispensed", too_early.text
    returned = ward.ok(
        "POST", f"/api/pms/dispensing-orders/{pharmacy_order(ward, first)['id']}/returns", 201, json=give_back
    )
    assert returned["number"].startswith("TY")
    credited = ward.ok(
        "POST", f"/api/hms/drug-orders/{first['id']}/returns", 201, json=give_back,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )  # fmt: skip
    assert money(credited["credited"]) == -money(drugs["YP0006"]["price"]) * 4
    assert {line["id"]: line["state"] for line in credited["lines"]}[saline["id"]] == "returned"

    # What the settlement must come to, by hand.
    def price(code: str) -> Decimal:
        return money((drugs.get(code) or items[code])["price"])

    expected_categories = {
        "检验费": price("XM0002"),
        "检查费": price("XM0005") + price("XM0007") - price("XM0007"),
        "治疗费": price("XM0010") * 3,
        "护理费": price("XM0014") * 2,
        "药品费": price("YP0001") * 2
        + price("YP0006") * 4
        + price("YP0002")
        + price("YP0010") * 30
        - price("YP0006") * 4,
        # 算入又算出: NIGHTS days in the old bed, the discharge day in the new one.
        "床位费": Decimal("40.00") * NIGHTS + Decimal("65.50"),
    }
    assert expected_categories == {
        "检验费": Decimal("25.00"),
        "检查费": Decimal("90.00"),
        "治疗费": Decimal("36.00"),
        "护理费": Decimal("60.00"),
        "药品费": Decimal("67.40"),
        "床位费": Decimal("185.50"),
    }  # fmt: skip  (the demo's prices, so that a change of them is seen here first)
    total = sum(expected_categories.values(), Decimal("0.00"))
    insured = (total * ratio).quantize(CENT, rounding=ROUND_HALF_UP)
    self_pay = total - insured
    refund = deposits - self_pay
    assert (total, insured, self_pay, refund) == (
        Decimal("463.90"),
        Decimal("255.15"),
        Decimal("208.75"),
        Decimal("3291.25"),
    )  # 463.90 × 0.55 = 255.145: half up to 255.15, not truncated to 255.14

    preview = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert preview["can_settle"] is True and preview["undispensed"] == []
    assert (preview["bed_days_due"], money(preview["bed_days_due_amount"])) == (1, Decimal("65.50"))
    assert money(preview["total"]) == total and money(preview["refund"]) == refund

    # 出院结算.
    settled = ward.ok(
        "POST", f"/api/hms/stays/{stay['id']}/settlement", 201,
        json={"method": "cash", "expected_total": str(total)},
    )  # fmt: skip
    assert settled["number"].startswith("JS") and settled["kind"] == "settlement"
    assert {c["category"]: money(c["amount"]) for c in settled["categories"]} == expected_categories
    assert money(settled["total"]) == total
    assert money(settled["reimbursement_ratio"]) == ratio
    assert (money(settled["insured"]), money(settled["self_pay"])) == (insured, self_pay)
    assert (money(settled["deposits"]), money(settled["refunded"]), money(settled["collected"])) == (
        deposits, refund, Decimal("0.00")
    )  # fmt: skip
    assert settled["bed_days"] == NIGHTS + 1
    assert [(r["kind"], money(r["amount"]), r["method"]) for r in settled["deposit_rows"]] == [
        ("settlement_refund", -refund, "cash")
    ]

    # The stay is closed: bed freed, account balanced, every sum equal to its rows.
    after = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert after["state"] == "settled" and after["discharged_at"]
    assert (money(after["charge_total"]), money(after["self_pay"])) == (total, self_pay)
    assert (money(after["deposit_total"]), money(after["balance"])) == (self_pay, Decimal("0.00"))
    bed = ward.ok("GET", f"/api/hms/beds/{new_bed['id']}")
    assert (bed["state"], bed["stay_id"]) == ("free", None)
    account = ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")
    assert sum((money(c["amount"]) for c in account["charges"]), Decimal("0")) == total
    assert sum((money(d["amount"]) for d in account["deposits"]), Decimal("0")) == self_pay
    assert {c["category"]: money(c["amount"]) for c in account["categories"]} == expected_categories
    rows = ward.rows("hms", "SELECT amount FROM charges WHERE stay_id = :s", s=stay["id"])
    assert sum((money(r["amount"]) for r in rows), Decimal("0")) == total

    # Settled means read-only: nothing more is booked or paid in.
    more = ward.call(
        "POST", f"/api/hms/stays/{stay['id']}/items",
        json={"lines": [{"charge_item_id": items["XM0002"]["id"], "quantity": 1}]},
    )  # fmt: skip
    assert more.status_code == 409 and more.json()["code"] == "stay_settled", more.text
    late = ward.call("POST", f"/api/hms/stays/{stay['id']}/deposits", json={"amount": "10.00", "method": "cash"})
    assert late.status_code == 409 and late.json()["code"] == "stay_settled", late.text
    assert ward.scalar("hms", "SELECT COUNT(*) FROM charges WHERE stay_id = :s", s=stay["id"]) == len(rows)
