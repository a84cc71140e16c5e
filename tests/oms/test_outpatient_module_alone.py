"""A desk clerk who holds only the outpatient module (门诊 ticked in the role editor, nothing
else) prices through oms alone, and the desk learns whom to phone about visits; real dbs, dms,
oms and gateway servers sharing real service tokens, on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

import oms.main
from tests.oms.outpatient_desk import Desk, desk_on
from tests.support.clerks import login, module_permissions, user_with
from tests.support.servers import free_port
from tests.support.stack import Stack


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on(request.param, Path(tmp_path_factory.mktemp("module-alone"))) as desk:
        yield desk


@pytest.fixture(scope="module")
def clerk(desk: Desk) -> Iterator[httpx2.Client]:
    """Logged in through the gateway with a role the superadmin made by ticking 门诊 alone."""
    base = desk.stack.url("gateway")
    admin = login(base, "admin", Stack.ADMIN_PASSWORD)
    try:
        permissions = module_permissions(admin, "oms")
        assert "oms:order:read" in permissions and all(p.startswith("oms:") for p in permissions)
        username, password = user_with(admin, permissions)
    finally:
        admin.close()
    client = login(base, username, password)
    try:
        yield client
    finally:
        client.close()


def ok(answer: httpx2.Response, status: int = 200) -> dict:
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json()


def test_a_clerk_with_the_outpatient_module_alone_prices_a_prescription_and_items(
    desk: Desk, clerk: httpx2.Client
) -> None:
    # Master data stays out of reach: the desk must not need it.
    assert clerk.get("/api/dbs/drugs").status_code == 403
    assert clerk.get("/api/dbs/charge-items").status_code == 403

    page = ok(clerk.get("/api/oms/catalog/drugs", params={"q": "YP000", "size": 5}))
    assert page["total"] >= 2 and page["size"] == 5 and len(page["items"]) == 5
    amoxicillin, other = page["items"][0], page["items"][1]
    assert set(amoxicillin) == {"id", "code", "name", "spec", "unit", "price"}
    dictionary = desk.drug("YP0001")
    assert (amoxicillin["code"], amoxicillin["name"], amoxicillin["spec"]) == (
        "YP0001",
        dictionary["name"],
        dictionary["spec"],
    )
    assert (amoxicillin["unit"], amoxicillin["price"]) == (dictionary["unit_name"], dictionary["price"])
    items = ok(clerk.get("/api/oms/catalog/charge-items", params={"q": "XM0002"}))["items"]
    assert [(i["code"], i["needs_exam"]) for i in items] == [("XM0002", True)]
    blood = items[0]

    schedule = desk.schedule("D001", quota=5)
    patient = ok(clerk.post("/api/oms/patients", json={"name": "单模块", "sex": "female", "birth_date": "1990-01-02"}),
                 201)  # fmt: skip
    body = {"patient_id": patient["id"], "schedule_id": schedule["id"], "payment_method": "cash"}
    visit = ok(clerk.post("/api/oms/visits", json=body, headers={"Idempotency-Key": f"alone-{patient['id']}"}), 201)
    ok(clerk.post(f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"}))
    lines = [{"drug_id": amoxicillin["id"], "quantity": 2}, {"drug_id": other["id"], "quantity": 1}]
    prescription = ok(clerk.post(f"/api/oms/visits/{visit['id']}/prescriptions", json={"lines": lines}), 201)
    assert [line["unit_price"] for line in prescription["lines"]] == [amoxicillin["price"], other["price"]]
    expected = Decimal(amoxicillin["price"]) * 2 + Decimal(other["price"])
    assert Decimal(prescription["total"]) == expected
    item_lines = [{"charge_item_id": blood["id"], "quantity": 1}]
    item_order = ok(clerk.post(f"/api/oms/visits/{visit['id']}/item-orders", json={"lines": item_lines}), 201)
    assert item_order["lines"][0]["needs_exam"] is True and item_order["total"] == blood["price"]


def test_the_catalog_offers_only_what_the_desk_may_price(desk: Desk, clerk: httpx2.Client) -> None:
    admin = {"Authorization": f"Bearer {desk.stack.token(['*'])}"}
    stopped = desk.drug("YP0003")
    ok(desk.call("POST", f"/api/dbs/drugs/{stopped['id']}/disable", headers=admin))
    try:
        codes = [d["code"] for d in ok(clerk.get("/api/oms/catalog/drugs", params={"q": "YP000"}))["items"]]
        assert "YP0003" not in codes and "YP0004" in codes
    finally:
        ok(desk.call("POST", f"/api/dbs/drugs/{stopped['id']}/enable", headers=admin))
    # An inpatient item is refused at outpatient pricing, so it is not offered.
    listed = ok(clerk.get("/api/oms/catalog/charge-items", params={"size": 200}))
    every = [i["code"] for i in listed["items"]]
    assert "XM0001" in every and "XM0012" not in every and every == sorted(every)
    assert listed["total"] == len(every)  # counted after leaving inpatient items out
    second = ok(clerk.get("/api/oms/catalog/charge-items", params={"size": 2, "page": 2}))["items"]
    assert [i["code"] for i in second] == every[2:4]
    # The price list goes with reading orders (whose lines show prices already), not beyond.
    reader = {"Authorization": f"Bearer {desk.stack.token(['oms:order:read'])}"}
    assert desk.call("GET", "/api/oms/catalog/drugs", headers=reader).status_code == 200
    other = {"Authorization": f"Bearer {desk.stack.token(['oms:visit:read', 'oms:payment:write'])}"}
    assert desk.call("GET", "/api/oms/catalog/drugs", headers=other).status_code == 403
    assert desk.call("GET", "/api/oms/catalog/charge-items", headers=other).status_code == 403


def test_the_catalog_says_which_service_does_not_answer(desk: Desk) -> None:
    stack = desk.stack
    urls = {**stack.settings("oms").service_urls, "DBS": f"http://127.0.0.1:{free_port()}"}
    settings = stack.settings("oms", service_urls=urls, database_url=stack.database_urls["oms"], port=free_port())
    with TestClient(oms.main.create_app(settings)) as client:
        answer = client.get("/api/oms/catalog/drugs", headers=stack.bearer(["oms:order:read"]))
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "dbs" in answer.json()["detail"]


def test_contacts_of_visits_are_masked_without_pii_read(desk: Desk, clerk: httpx2.Client) -> None:
    schedule = desk.schedule("D002", quota=5)
    numbers = []
    for name, phone in (("联系甲", "13811112222"), ("联系乙", None)):
        patient = desk.patient(name, **({"phone": phone} if phone else {}))
        numbers.append(ok(desk.register(patient["id"], schedule["id"], None), 201)["number"])
    query = {"numbers": [numbers[1], "MZ00000000-999", numbers[0]]}

    # The clerk of the module alone: oms:visit:read, no pii:read.
    masked = ok(clerk.get("/api/oms/visits/contacts", params=query))
    assert masked == [
        {"visit_number": numbers[1], "patient_name": "联系乙", "phone": None, "state": "registered"},
        {"visit_number": numbers[0], "patient_name": "联系甲", "phone": "138****2222", "state": "registered"},
    ]
    revealed = ok(desk.call("GET", "/api/oms/visits/contacts", params=query,
                            headers=desk.stack.bearer(["oms:visit:read", "pii:read"])))  # fmt: skip
    assert [c["phone"] for c in revealed] == [None, "13811112222"]

    # Outside the caller's departments a visit is as good as absent.
    elsewhere = desk.stack.bearer(["oms:visit:read"], dept=[schedule["department_id"] + 1000])
    assert ok(desk.call("GET", "/api/oms/visits/contacts", params=query, headers=elsewhere)) == []
    refused = desk.call("GET", "/api/oms/visits/contacts", params=query, headers=desk.stack.bearer(["dms:leave:read"]))
    assert refused.status_code == 403
    too_many = desk.call("GET", "/api/oms/visits/contacts", params={"numbers": numbers * 101})
    assert too_many.status_code == 422 and "numbers" in [e["field"] for e in too_many.json()["errors"]]
    assert desk.call("GET", "/api/oms/visits/contacts").status_code == 422
