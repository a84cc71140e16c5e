"""The outpatient acceptance flow — registration → prescription → payment → exam → dispensing at the
pharmacy — as one function, run by tests/oms/test_outpatient_flow.py on in-process components and
by tests/deploy/test_production.py on the production profile (.ci/production.sh).

`registration_to_dispensed_drugs(desk, at=…)` asserts every step a desk clerk and a pharmacist depend
on and answers what it made; `at(step, flow)` runs the caller's own checks or actions between steps
("registered", "paid", "examined"): a pharmacy started late, an instance killed mid-way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from sqlalchemy import create_engine

from shared.migrations import sync_url
from tests.oms.outpatient_desk import Desk
from tests.pms.conftest import stock_up

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    # An outbox message refused while its receiver started waits its back-off (2, 4, 8 … s)
    # before it is sent again: on a loaded machine that alone can pass 20 s.
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


class GatewayDesk(Desk):
    """A desk on a platform that is already running: `http` is a client of its gateway holding a
    logged-in user's token; `database_urls` where to look at what was stored (the primaries)."""

    def __init__(self, http: httpx2.Client, database_urls: dict[str, str] | None = None) -> None:
        self.http = http
        self.engines = {name: create_engine(sync_url(url)) for name, url in (database_urls or {}).items()}


@dataclass
class Flow:
    """What the flow made, as the API answered it."""

    patient: dict[str, Any] = field(default_factory=dict)
    visit: dict[str, Any] = field(default_factory=dict)
    prescription: dict[str, Any] = field(default_factory=dict)
    items: dict[str, Any] = field(default_factory=dict)
    exam: dict[str, Any] = field(default_factory=dict)
    drug: dict[str, Any] = field(default_factory=dict)

    @property
    def dispensing_key(self) -> str:
        """The outbox key of the paid prescription's dispensing order (oms → pms)."""
        return f"oms-dispense-{self.prescription['id']}"


def registration_to_dispensed_drugs(
    desk: Desk,
    *,
    clerk: dict[str, str] | None = None,
    at: Callable[[str, Flow], None] | None = None,
    doctor: str = "D001",
) -> Flow:
    """A patient registers with `doctor` (dbs's demo data), is prescribed a drug and a blood test,
    pays both, gets the exam result with a PDF, and the pharmacy dispenses the drug. `clerk`: the
    headers of a user holding only oms:visit:read, who must see the patient's phone masked."""
    step = at or (lambda _step, _flow: None)
    flow = Flow()
    flow.patient = patient = desk.patient("李四", phone="13812345678")
    schedule = desk.schedule(doctor, quota=5)
    offered = desk.ok("GET", "/api/oms/registration/doctors", params={"department_id": schedule["department_id"]})
    assert schedule["id"] in [d["schedule_id"] for d in offered]
    fee = next(d["fee"] for d in offered if d["schedule_id"] == schedule["id"])

    answer = desk.register(patient["id"], schedule["id"], "wechat")
    assert answer.status_code == 201, answer.text
    flow.visit = visit = answer.json()
    assert visit["number"].startswith("MZ") and visit["queue_no"] == 1
    assert visit["fee"] == fee and visit["fee_paid"] is True and visit["state"] == "registered"
    queue = desk.ok("GET", "/api/oms/queue", params={"doctor_id": schedule["doctor_id"]})
    assert [v["id"] for v in queue] == [visit["id"]]
    # dms knows the booking by the visit's number (a doctor's leave lists whom to call).
    bookings = desk.ok("GET", "/api/dms/bookings", params={"schedule_id": schedule["id"]})["items"]
    assert [b["visit_number"] for b in bookings] == [visit["number"]]
    if clerk is not None:
        # The visit's patient, masked for a clerk without pii:read.
        shown = desk.ok("GET", f"/api/oms/visits/{visit['id']}", headers=clerk)["patient"]
        assert shown["name"] == "李四" and shown["phone"] == "138****5678"
    step("registered", flow)

    desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    flow.drug = amoxicillin = desk.drug("YP0001")
    blood = desk.item("XM0002")
    flow.prescription = prescription = desk.ok(
        "POST",
        f"/api/oms/visits/{visit['id']}/prescriptions",
        201,
        json={"lines": [{"drug_id": amoxicillin["id"], "quantity": 2, "unit_price": "0.01", "amount": "0.02"}]},
    )
    # The price is the dictionary's, frozen on the line; what the client sent is ignored.
    assert prescription["lines"][0]["unit_price"] == amoxicillin["price"]
    assert prescription["total"] == f"{float(amoxicillin['price']) * 2:.2f}"
    flow.items = items = desk.ok(
        "POST",
        f"/api/oms/visits/{visit['id']}/item-orders",
        201,
        json={"lines": [{"charge_item_id": blood["id"], "quantity": 1}]},
    )
    assert items["lines"][0]["needs_exam"] is True

    drug_payment = desk.pay(visit["id"], prescription["id"], "alipay")
    assert drug_payment.status_code == 201, drug_payment.text
    assert drug_payment.json()["amount"] == prescription["total"]
    assert desk.pay(visit["id"], items["id"], "card").status_code == 201
    assert desk.ok("GET", f"/api/oms/visits/{visit['id']}")["visit"]["state"] == "paid"
    step("paid", flow)

    receipt = desk.call("GET", f"/api/oms/payments/{drug_payment.json()['id']}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/pdf", receipt.text
    assert receipt.content.startswith(b"%PDF")

    line_id = items["lines"][0]["id"]
    assert line_id in [e["line_id"] for e in desk.ok("GET", "/api/oms/exams", params={"state": "paid"})["items"]]
    flow.exam = exam = desk.ok(
        "POST",
        f"/api/oms/exams/{line_id}/result",
        201,
        data={"text": "白细胞计数正常"},
        files=[("files", ("report.pdf", PDF, "application/pdf"))],
    )
    stored = exam["result"]["files"][0]
    download = desk.call("GET", f"/api/oms/exam-files/{stored['id']}")
    assert download.status_code == 200 and download.content == PDF, download.text
    step("examined", flow)

    # The paid prescription reaches the pharmacy through oms's outbox, once.
    def orders_at_pharmacy() -> list[dict[str, Any]]:
        orders = desk.ok("GET", "/api/pms/dispensing-orders")["items"]
        return [o for o in orders if o["order_id"] == prescription["id"]]

    wait_for(lambda: bool(orders_at_pharmacy()))
    mine = orders_at_pharmacy()
    assert len(mine) == 1 and mine[0]["state"] == "pending"
    stock_up(desk.http, amoxicillin["id"], 2, code=amoxicillin["code"], name=amoxicillin["name"])
    desk.ok("POST", f"/api/pms/dispensing-orders/{mine[0]['id']}/dispense")
    wait_for(lambda: desk.ok("GET", f"/api/oms/orders/{prescription['id']}")["state"] == "dispensed")
    assert desk.ok("GET", f"/api/oms/visits/{visit['id']}")["visit"]["state"] == "dispensed"

    feed = desk.ok("GET", "/api/oms/feed", params={"after": 0, "limit": 1000})["items"]
    seqs = [c["seq"] for c in feed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    changes = [
        (c["entity"], c["action"])
        for c in feed
        if c["data"].get("visit_id") == visit["id"] or c["entity_id"] == str(visit["id"])
    ]
    assert ("visit", "registered") in changes and ("visit", "dispensed") in changes
    return flow
