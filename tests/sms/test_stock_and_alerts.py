"""The stock query (库存查询), the stock ledger (操作记录), and the two alerts: low stock (库存不足)
against each drug's threshold, and batches expired or expiring (过期提醒)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sms.conftest import KEEPER, SmsApi, days, line


def test_stock_by_batch_is_valued_at_purchase_and_selling_price(api: SmsApi) -> None:
    amoxicillin, ibuprofen = api.drug("YP0001"), api.drug("YP0003")
    api.posted(line(amoxicillin["id"], "A1", quantity=40, price="9.80"), line(ibuprofen["id"], "I1", quantity=3))
    api.posted(line(amoxicillin["id"], "A2", quantity=6, price="10.10"), supplier_id=2, warehouse_id=2)

    rows = api.items("stock")

    assert [(r["drug_id"], r["batch_no"], r["quantity"]) for r in rows] == [
        (amoxicillin["id"], "A1", 40),
        (amoxicillin["id"], "A2", 6),
        (ibuprofen["id"], "I1", 3),
    ]
    first = rows[0]
    assert (first["drug_name"], first["unit_name"], first["expiry_date"]) == ("阿莫西林胶囊", "盒", days(700))
    assert first["purchase_value"] == "392.00"
    assert first["selling_price"] == amoxicillin["price"]
    assert Decimal(first["selling_value"]) == Decimal(amoxicillin["price"]) * 40

    def batches(**params: object) -> list[str]:
        return [r["batch_no"] for r in api.items("stock", **params)]

    assert batches(drug_id=ibuprofen["id"]) == ["I1"]
    assert batches(batch_no="A") == ["A1", "A2"]
    assert batches(warehouse_id=2) == ["A2"]
    assert batches(supplier_id=2) == ["A2"]
    assert batches(q="布洛芬") == ["I1"]
    assert batches(q="A2") == ["A2"]
    assert batches(q="没有这种药") == []
    page = api.get_ok("stock", size=2, page=2)
    assert (page["total"], [r["batch_no"] for r in page["items"]]) == (3, ["I1"])
    assert batches(sort="-quantity") == ["A1", "A2", "I1"]


def test_the_ledger_is_read_only_newest_first_and_filtered(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    first = api.posted(line(drug, "A1", quantity=40))
    second = api.posted(line(drug, "A2", quantity=5))
    reversal = api.reverse(second["id"]).json()

    def ledger(**params: object) -> list[tuple[str, int, str]]:
        return [(m["movement"], m["quantity"], m["reference"]) for m in api.items("stock/movements", **params)]

    assert ledger() == [
        ("inbound_reversal", -5, reversal["number"]),
        ("inbound", 5, second["number"]),
        ("inbound", 40, first["number"]),
    ]
    newest = api.items("stock/movements")[0]
    assert (newest["movement_label"], newest["batch_no"], newest["person"]) == ("冲销入库", "A2", "keeper")
    assert newest["reason"] == "供货商发错批号" and newest["drug_name"] == "阿莫西林胶囊"
    assert ledger(movement="inbound") == ledger()[1:]
    assert ledger(reference=first["number"]) == [("inbound", 40, first["number"])]
    assert ledger(batch_no="A2") == ledger()[:2]
    assert ledger(batch_id=first["lines"][0]["batch_id"]) == ledger()[2:]
    assert ledger(date_from=days(0), date_to=days(0)) == ledger()
    assert ledger(date_from=days(1)) == []
    assert api.get("stock/movements", params={"date_from": days(1), "date_to": days(0)}).status_code == 422
    assert api.get("stock/movements", params={"movement": "stolen"}).status_code == 422
    # Nothing writes the ledger but the orders that move stock.
    assert api.post("stock/movements", {}).status_code == 405


def test_low_stock_counts_unexpired_units_against_each_drugs_threshold(api: SmsApi) -> None:
    amoxicillin, ibuprofen, vitamin_c = (api.drug(c)["id"] for c in ("YP0001", "YP0003", "YP0012"))
    api.posted(line(amoxicillin, "A1", quantity=10))  # below the default 30
    api.posted(line(ibuprofen, "I1", quantity=50))  # above it...
    api.posted(  # ...and expired units never count
        line(vitamin_c, "OLD", quantity=100, production_date=days(-800), expiry_date=days(-1)),
        line(vitamin_c, "NEW", quantity=20),
    )

    def low() -> dict[int, tuple[int, int, int]]:
        return {r["drug_id"]: (r["quantity"], r["threshold"], r["shortfall"]) for r in api.items("alerts/low-stock")}

    assert low() == {amoxicillin: (10, 30, 20), vitamin_c: (20, 30, 10)}
    assert api.items("alerts/low-stock")[0]["drug_name"] == "阿莫西林胶囊", "the largest shortfall first"

    assert api.get_ok(f"thresholds/{ibuprofen}") == {"drug_id": ibuprofen, "threshold": 30, "default": True}
    answer = api.put(f"thresholds/{ibuprofen}", {"threshold": 60})
    assert answer.json() == {"drug_id": ibuprofen, "threshold": 60, "default": False}
    api.put(f"thresholds/{amoxicillin}", {"threshold": 5})

    assert low() == {ibuprofen: (50, 60, 10), vitamin_c: (20, 30, 10)}
    assert api.get_ok(f"thresholds/{ibuprofen}")["threshold"] == 60
    assert [a["entity"] for a in api.audit_rows() if a["action"] == "update"] == ["stock_threshold"] * 2


def test_a_threshold_needs_a_known_drug_and_a_sensible_number(api: SmsApi) -> None:
    unknown = api.put("thresholds/99999", {"threshold": 10}, headers={"Accept-Language": "zh-CN"})
    negative = api.put(f"thresholds/{api.drug('YP0001')['id']}", {"threshold": -1})

    assert unknown.status_code == 422 and "所选药品不存在" in unknown.json()["errors"][0]["message"]
    assert negative.status_code == 422
    assert api.count("stock_thresholds") == 0


def test_expiry_alerts_mark_expired_and_expiring_batches(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    api.posted(
        line(drug, "EXPIRED", quantity=3, production_date=days(-800), expiry_date=days(-2)),
        line(drug, "SOON", quantity=4, production_date=days(-300), expiry_date=days(30)),
        line(drug, "LATER", quantity=5, production_date=days(-100), expiry_date=days(200)),
    )
    gone = api.posted(line(drug, "GONE", quantity=2, production_date=days(-800), expiry_date=days(-5)))
    api.reverse(gone["id"])  # nothing left of it: nothing to warn about

    def alerts(**params: object) -> list[tuple[str, str, int]]:
        return [(r["batch_no"], r["status"], r["days_left"]) for r in api.items("alerts/expiry", **params)]

    assert alerts() == [("EXPIRED", "expired", -2), ("SOON", "expiring", 30)]  # the 90-day default
    assert alerts(days=365) == [("EXPIRED", "expired", -2), ("SOON", "expiring", 30), ("LATER", "expiring", 200)]
    assert alerts(days=0) == [("EXPIRED", "expired", -2)]
    assert api.items("alerts/expiry")[0]["expired"] is True
    assert api.items("alerts/expiry", warehouse_id=2) == []
    assert api.get("alerts/expiry", params={"days": -1}).status_code == 422


ROUTES = [
    ("GET", "inbound-orders", "sms:inbound:read"),
    ("GET", "inbound-orders/1", "sms:inbound:read"),
    ("POST", "inbound-orders", "sms:inbound:write"),
    ("PUT", "inbound-orders/1", "sms:inbound:write"),
    ("DELETE", "inbound-orders/1", "sms:inbound:write"),
    ("POST", "inbound-orders/1/post", "sms:inbound:write"),
    ("POST", "inbound-orders/1/reverse", "sms:inbound:write"),
    ("GET", "stock", "sms:stock:read"),
    ("GET", "stock/movements", "sms:stock:read"),
    ("GET", "alerts/low-stock", "sms:alert:read"),
    ("GET", "alerts/expiry", "sms:alert:read"),
    ("GET", "thresholds/1", "sms:threshold:read"),
    ("PUT", "thresholds/1", "sms:threshold:write"),
]


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_every_route_needs_its_permission(api: SmsApi, method: str, path: str, permission: str) -> None:
    order = api.draft()
    path = path.replace("inbound-orders/1", f"inbound-orders/{order['id']}")
    others = [p for p in KEEPER if p != permission]
    before = (api.count("inbound_orders"), api.count("inbound_lines"), api.count("stock_thresholds"))

    without = api.request(method, path, token=api.token(*others), json={})
    anonymous = api.request(method, path, token=None, json={})

    assert without.status_code == 403, without.text
    assert without.json()["permission"] == permission
    assert anonymous.status_code == 401
    assert (api.count("inbound_orders"), api.count("inbound_lines"), api.count("stock_thresholds")) == before
