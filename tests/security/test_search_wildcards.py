"""`q` is matched literally in every list: `%`, `_` and `\\` are characters, not LIKE wildcards
(`GET /api/system/users?q=%25` once listed everyone). Searching for one finds only the records
that hold it — none at all in most lists here.

The routes come from the OpenAPI documents of every component (a GET without path parameters
that takes `q`), so a new list route is covered without touching this file. Each needs at least
one record here: the walk below makes one of everything through the real gateway. A route that
takes `q` but ignores it (a nonsense `q` still lists everything) cannot leak through wildcards;
it is only checked to answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import components
from tests.oms.outpatient_desk import Desk, hospital_today
from tests.security.conftest import Route, routes_of
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

WILDCARDS = ("%", "_", "\\")
NONSENSE = "zqxj-none-7"


def _search_routes(stack: Stack) -> list[Route]:
    found = []
    for app in stack.apps.values():
        document = app.openapi()
        for route in routes_of(document):
            operation = document["paths"][route.path]["get"] if route.method == "GET" else {}
            names = {p["name"] for p in operation.get("parameters", [])}
            if route.method == "GET" and "q" in names and "{" not in route.path:
                found.append(route)
    return found


def _walk(desk: Desk) -> None:
    """One record of everything a list shows, made as a desk would make it."""
    stack = desk.stack
    desk.patient("王检索", birth_date="1990-03-07", id_card="44030419900307123X", phone="13812345678")
    patient = desk.patient("李检索")
    schedule = desk.schedule("D001", quota=5)
    visit = desk.register(patient["id"], schedule["id"], "cash")
    assert visit.status_code == 201, visit.text
    visit_id = visit.json()["id"]
    desk.ok("POST", f"/api/oms/visits/{visit_id}/state", json={"to": "in_consultation"})
    drug, item = desk.drug("YP0001"), desk.item("XM0002")
    prescription = desk.ok(
        "POST",
        f"/api/oms/visits/{visit_id}/prescriptions",
        201,
        json={"lines": [{"drug_id": drug["id"], "quantity": 1}]},
    )
    items = desk.ok(
        "POST",
        f"/api/oms/visits/{visit_id}/item-orders",
        201,
        json={"lines": [{"charge_item_id": item["id"], "quantity": 1}]},
    )
    for order in (prescription, items):
        assert desk.pay(visit_id, order["id"]).status_code == 201
    desk.ok("POST", "/api/oms/cashier-settlements", 201)  # the cashier closes the period
    doctor = desk.doctor("D002")
    day = hospital_today().isoformat()
    leave = {
        "doctor_id": doctor["id"],
        "start_date": day,
        "start_shift": "morning",
        "end_date": day,
        "end_shift": "afternoon",
        "reason": "进修",
    }
    desk.ok("POST", "/api/dms/leaves", 201, json=leave)
    role = desk.ok(
        "POST",
        "/api/system/roles",
        201,
        json={"name": "检索角色", "permissions": ["oms:visit:read"], "data_scope": "all", "department_ids": []},
    )
    created = desk.ok(
        "POST", "/api/system/users", 201, json={"username": "searcher", "real_name": "检索员", "role_ids": [role["id"]]}
    )
    login = desk.http.post("/api/auth/login", json={"username": "searcher", "password": created["initial_password"]})
    assert login.status_code == 200, login.text
    for _ in range(5):  # locks the account: a WARNING line for 日志查询 (/api/system/app-logs) to find
        desk.http.post("/api/auth/login", json={"username": "searcher", "password": "wrong-Pw-1"})
    desk.ok("POST", "/api/system/notices", 201, json={"title": "检索通知", "body": "停诊安排", "publish": True})
    exported = desk.call("GET", "/api/tms/reports/cashiers/export", params={"format": "csv"})  # tms's audit log
    assert exported.status_code == 200, exported.text
    # The dispensing order reaches pms through the outbox.
    deadline = time.monotonic() + 30
    while not desk.ok("GET", "/api/pms/dispensing-orders")["items"]:
        assert time.monotonic() < deadline, "the dispensing order never reached pms"
        time.sleep(0.2)
    _walk_the_stores(desk, drug)
    _walk_the_ward(desk, patient, drug, item)
    assert stack  # every component stays up for the checks


def _walk_the_stores(desk: Desk, drug: dict[str, Any]) -> None:
    """A batch from a supplier into the warehouse and on to the pharmacy, and one of every
    other warehouse and pharmacy record."""
    first = {
        kind: desk.ok("GET", f"/api/dbs/{kind}")["items"][0]["id"] for kind in ("suppliers", "warehouses", "handlers")
    }
    warehouse = first["warehouses"]
    today = hospital_today()
    line = {
        "drug_id": drug["id"],
        "batch_no": "PH-检索-1",
        "production_date": (today - timedelta(days=100)).isoformat(),
        "expiry_date": (today + timedelta(days=400)).isoformat(),
        "purchase_price": "2.50",
        "quantity": 20,
    }
    header = {"warehouse_id": warehouse, "supplier_id": first["suppliers"], "handler_id": first["handlers"]}
    inbound = desk.ok("POST", "/api/sms/inbound-orders", 201, json={**header, "lines": [line]})
    desk.ok("POST", f"/api/sms/inbound-orders/{inbound['id']}/post")
    desk.ok(
        "POST",
        "/api/sms/purchase-orders",
        201,
        json={
            "warehouse_id": warehouse,
            "supplier_id": first["suppliers"],
            "lines": [{"drug_id": drug["id"], "quantity": 5, "price": "2.50"}],
        },
    )
    described = {k: drug.get(k) or "" for k in ("code", "name", "spec")} | {"unit": ""}
    desk.ok(
        "POST",
        "/api/pms/shortage-requests",
        201,
        json={"lines": [{"drug_id": drug["id"], **described, "quantity": 3}]},
    )
    desk.ok(
        "POST",
        "/api/sms/outbound-orders",
        201,
        json={"warehouse_id": warehouse, "lines": [{"drug_id": drug["id"], "quantity": 3}]},
    )
    stock = desk.ok("GET", "/api/sms/stock")["items"][0]
    desk.ok("POST", "/api/sms/disposals", 201, json={"batch_id": stock["batch_id"], "quantity": 1, "reason": "破损"})
    desk.ok("POST", "/api/sms/stocktakes", 201, json={"warehouse_id": warehouse})
    # The outbound order and the shortage request reach the other side through the outboxes.
    deadline = time.monotonic() + 30
    while not (desk.ok("GET", "/api/pms/stock")["items"] and desk.ok("GET", "/api/sms/shortage-requests")["items"]):
        assert time.monotonic() < deadline, "the delivery or the shortage request never arrived"
        time.sleep(0.2)
    # The paid prescription leaves the pharmacy from the batch just delivered.
    order = desk.ok("GET", "/api/pms/dispensing-orders")["items"][0]
    dispensed = desk.ok("POST", f"/api/pms/dispensing-orders/{order['id']}/dispense")
    # The patient brings it back (退药), and the pharmacy sends a unit back to the warehouse (退库).
    returned = {"line_ids": [dispensed["lines"][0]["line_id"]], "reason": "过敏"}
    desk.ok("POST", f"/api/pms/dispensing-orders/{order['id']}/returns", 201, json=returned)
    batch = desk.ok("GET", "/api/pms/stock")["items"][0]["batch_id"]
    back = {"batch_id": batch, "quantity": 1, "reason": "近效期"}
    desk.ok(
        "POST",
        "/api/pms/warehouse-returns",
        201,
        json={"warehouse_id": warehouse, "destination": "stock", "lines": [back]},
    )
    deadline = time.monotonic() + 30
    while not desk.ok("GET", "/api/sms/returns")["items"]:
        assert time.monotonic() < deadline, "the return never reached the warehouse"
        time.sleep(0.2)


def _walk_the_ward(desk: Desk, patient: dict[str, Any], drug: dict[str, Any], item: dict[str, Any]) -> None:
    """A ward with beds, a stay settled (a deposit and an examined item on its account) and one
    still in hospital with a drug order at the pharmacy."""
    departments = desk.ok("GET", "/api/dbs/departments", params={"size": 100})["items"]
    department = next(d for d in departments if d["kind"] == "inpatient")
    ward = desk.ok(
        "POST", "/api/hms/wards", 201, json={"code": "BQ-检索", "name": "检索病区", "department_id": department["id"]}
    )
    beds = [
        desk.ok("POST", "/api/hms/beds", 201, json={"ward_id": ward["id"], "number": n, "daily_price": "40.00"})
        for n in ("1", "2")
    ]
    admission = {"doctor_id": desk.doctor("D001")["id"], "diagnosis": "肺炎", "charge_type_id": 1}
    first = desk.ok("POST", "/api/hms/stays", 201, json={**admission, "patient_id": patient["id"],
                    "bed_id": beds[0]["id"], "deposit": {"amount": "500.00", "method": "cash"}})  # fmt: skip
    (booked,) = desk.ok("POST", f"/api/hms/stays/{first['id']}/items", 201,
                        json={"lines": [{"charge_item_id": item["id"], "quantity": 1}]})  # fmt: skip
    desk.ok("POST", f"/api/hms/charges/{booked['id']}/exam", data={"result": "未见异常"})
    desk.ok("POST", f"/api/hms/stays/{first['id']}/settlement", 201, json={"method": "cash"})
    other = desk.patient("赵检索")
    second = desk.ok(
        "POST", "/api/hms/stays", 201, json={**admission, "patient_id": other["id"], "bed_id": beds[1]["id"]}
    )
    desk.ok("POST", f"/api/hms/stays/{second['id']}/drug-orders", 201,
            json={"lines": [{"drug_id": drug["id"], "quantity": 1}]})  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    directory = Path(tmp_path_factory.mktemp("search"))
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        with (
            fresh_databases(request.param, ["oms", "dms", "sms", "pms", "hms", "tms"], directory) as urls,
            Stack(directory, urls) as stack,
        ):
            # Logs in files, as `hamp up` writes them, for the application log's list to read.
            stack.start("gateway", log_to_file=True)
            stack.start("dbs", demo_data=True, log_to_file=True)
            for name in ("dms", "oms", "sms", "pms", "hms", "tms"):
                stack.start(name, log_to_file=True)
            assert set(stack.apps) >= set(components.available()) - {"registry"}
            desk = Desk(stack, urls)
            try:
                _walk(desk)
                yield desk
            finally:
                desk.close()
    finally:
        os.umask(umask)


def _list(desk: Desk, route: Route, q: str | None = None) -> dict[str, Any]:
    params = {"size": 200, **({"q": q} if q is not None else {})}
    answer = desk.call("GET", route.path, params=params)
    assert answer.status_code == 200, f"{route} q={q!r}: {answer.status_code} {answer.text}"
    return answer.json()


def _candidates(item: dict[str, Any]) -> list[str]:
    """Texts of a record a search could match (names, numbers, codes), longest first."""
    texts = [
        v
        for k, v in item.items()
        if isinstance(v, str) and v and "*" not in v and not any(c in v for c in WILDCARDS) and k != "id"
    ]
    return sorted(set(texts), key=len, reverse=True)


def _holds(item: Any, character: str) -> bool:
    """Whether any text of the record holds it, nested ones too: a log entry is found by the
    traceback in its `line`."""
    if isinstance(item, dict):
        return any(_holds(v, character) for v in item.values())
    if isinstance(item, list):
        return any(_holds(v, character) for v in item)
    return isinstance(item, str) and character in item


def test_every_search_is_literal(desk: Desk) -> None:
    routes = _search_routes(desk.stack)
    assert {"/api/system/users", "/api/system/roles", "/api/oms/visits", "/api/pms/dispensing-orders"} <= {
        r.path for r in routes
    }
    searched, ignored = [], []
    for route in routes:
        everything = _list(desk, route)
        assert everything["total"] >= 1, f"{route}: no record to search; make one in _walk()"
        assert everything["total"] <= len(everything["items"]), f"{route}: more records than one page"
        if _list(desk, route, NONSENSE)["total"] == everything["total"]:
            ignored.append(route.path)  # takes q and ignores it: nothing to leak
            for wildcard in WILDCARDS:
                _list(desk, route, wildcard)
            continue
        searched.append(route.path)
        for wildcard in WILDCARDS:
            # Only records holding the character itself ("0.9%氯化钠注射液"), never all of them.
            # Counted against its own page: a log may have grown since `everything` was read.
            found = _list(desk, route, wildcard)
            strays = [i for i in found["items"] if not _holds(i, wildcard)]
            assert not strays and found["total"] == len(found["items"]), f"{route} q={wildcard!r} found {strays[:3]}"
        item = everything["items"][0]
        hits = [text for text in _candidates(item) if item in _list(desk, route, text)["items"]]
        assert hits, f"{route}: no text of {item} finds it"
    assert {"/api/system/users", "/api/oms/patients", "/api/oms/exams"} <= set(searched), (searched, ignored)


def test_a_search_for_a_wildcard_finds_it_literally(desk: Desk) -> None:
    role = desk.ok(
        "POST",
        "/api/system/roles",
        201,
        json={"name": "折扣_100%\\全", "permissions": ["oms:visit:read"], "data_scope": "all", "department_ids": []},
    )
    for q in ("_", "%", "\\", "_100%", "折扣_"):
        found = desk.ok("GET", "/api/system/roles", params={"q": q, "size": 200})
        assert [r["id"] for r in found["items"]] == [role["id"]], q
    desk.call("DELETE", f"/api/system/roles/{role['id']}")  # the other test's "no record holds a wildcard"
