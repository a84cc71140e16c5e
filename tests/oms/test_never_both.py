"""Never both: for every drug line, exactly one of "refunded" (oms paid the money back) and
"dispensed" (pms handed the drugs out) ends up true — under any interleaving of the cashier's
refund and the pharmacist's dispense, and when either service dies between its steps.

Every component is a real process (registry, gateway, dbs, dms, oms, pms) on SQLite and on
MariaDB, so the race is a real one between processes and databases, and a crash is a SIGKILL
at a named failpoint (shared/failpoints.py) followed by a restart. The protocol is in
docs/pharmacy.md ("Never both").
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.oms.outpatient_desk import Desk
from tests.pms.conftest import stock_up
from tests.support.databases import fresh_databases
from tests.support.servers import Component, running_platform

RACES = 100
PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}"


class _Gateway:
    """What Desk needs of a stack: the gateway's address and the superadmin's token."""

    def __init__(self, url: str) -> None:
        self.gateway = url
        answer = httpx2.post(f"{url}/api/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=30)
        answer.raise_for_status()
        self.token = answer.json()["access_token"]

    def url(self, _name: str) -> str:
        return self.gateway

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Platform:
    desk: Desk
    running: dict[str, Component]
    env: dict[str, str]
    visit: dict[str, Any] | None = None

    def restart(self, name: str, failpoint: str | None = None) -> None:
        """Starts `name` again (after it died, or to arm a failpoint) and waits until the gateway
        routes to it again."""
        component = self.running[name]
        component.stop()
        component.env = {**self.env, "HAMP_FAILPOINTS": failpoint} if failpoint else self.env
        component.start()
        _until(lambda: self.desk.call("GET", f"/api/{name}/openapi.json").status_code == 200, f"{name} routed")

    def died(self, name: str) -> None:
        process = self.running[name].process
        assert process is not None
        process.wait(30)
        assert process.returncode == -9, f"{name} was to die at its failpoint, exit {process.returncode}"


def _until(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except httpx2.HTTPError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def processes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = Path(tmp_path_factory.mktemp("never-both"))
    names = ("registry", "gateway", "dbs", "dms", "oms", "pms")
    with (
        fresh_databases(request.param, ["oms", "dms", "pms"], var_dir) as urls,
        running_platform(
            var_dir, names, PASSWORD, HAMP_DBS_DEMO_DATA="true",
            **{f"HAMP_{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        ) as running,
    ):  # fmt: skip
        desk = Desk(_Gateway(running["gateway"].url), urls)  # type: ignore[arg-type]
        # Enough on the pharmacy's shelf for every race's dispense: what is tested here is the fates.
        for code in ("YP0006", "YP0001"):
            drug = desk.drug(code)
            stock_up(desk.http, drug["id"], 2000, code=code, name=drug["name"])
        try:
            yield Platform(desk, running, dict(running["pms"].env))
        finally:
            desk.close()


# --- a prescription, and what each side says about its lines ------------------------------------


@dataclass
class Prescription:
    order: dict[str, Any]
    payment: dict[str, Any]

    @property
    def line_ids(self) -> list[int]:
        return [line["id"] for line in self.order["lines"]]


def _prescribe(platform: Platform) -> Prescription:
    """A paid prescription of two drug lines, on the platform's one visit."""
    desk = platform.desk
    if platform.visit is None:
        schedule = desk.schedule("D003", quota=5)
        answer = desk.register(desk.patient("竞争")["id"], schedule["id"])
        assert answer.status_code == 201, answer.text
        platform.visit = answer.json()
    visit = platform.visit
    lines = [
        {"drug_id": desk.drug("YP0006")["id"], "quantity": 1},
        {"drug_id": desk.drug("YP0001")["id"], "quantity": 2},
    ]
    order = desk.ok("POST", f"/api/oms/visits/{visit['id']}/prescriptions", 201, json={"lines": lines})
    paid = desk.pay(visit["id"], order["id"])
    assert paid.status_code == 201, paid.text
    return Prescription(order, paid.json())


def _at_pharmacy(desk: Desk, prescription: Prescription) -> int:
    """The pharmacy's id of the order, once oms's outbox has delivered it."""
    found = "SELECT id FROM dispensing_orders WHERE source = 'oms' AND order_id = :o"
    return _until(lambda: desk.scalar("pms", found, o=prescription.order["id"]), "the order at the pharmacy")


def _refund(desk: Desk, prescription: Prescription, line_ids: list[int], key: str | None = None) -> httpx2.Response:
    body = {"payment_id": prescription.payment["id"], "line_ids": line_ids, "reason": "患者不需要"}
    return desk.call("POST", "/api/oms/refunds", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def _dispense(desk: Desk, pharmacy_id: int) -> httpx2.Response:
    return desk.call("POST", f"/api/pms/dispensing-orders/{pharmacy_id}/dispense")


def _oms_states(desk: Desk, prescription: Prescription) -> dict[int, str]:
    with desk.engines["oms"].connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT id, state FROM order_lines WHERE order_id = {prescription.order['id']}")
        return dict(rows.all())  # type: ignore[arg-type]


def _fates(desk: Desk, prescription: Prescription) -> dict[int, str]:
    with desk.engines["pms"].connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT line_id, fate FROM line_fates WHERE source = 'oms' AND order_id = {prescription.order['id']}"
        )
        return dict(rows.all())  # type: ignore[arg-type]


def _refunded_amount(desk: Desk, prescription: Prescription) -> str:
    total = desk.scalar("oms", "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE refund_of = :p",
                        p=prescription.payment["id"])  # fmt: skip
    return f"{-total:.2f}" if total else "0.00"


def _settled(desk: Desk) -> None:
    """Both outboxes have delivered everything (the reports and notices between the two)."""
    pending = "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
    _until(lambda: desk.scalar("oms", pending) == 0 and desk.scalar("pms", pending) == 0, "outboxes drained")
    refused = "SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'"
    assert desk.scalar("oms", refused) == 0 and desk.scalar("pms", refused) == 0, "a message was refused"


def assert_never_both(desk: Desk, prescription: Prescription) -> dict[int, str]:
    """Every line has one fate at the pharmacy, oms agrees with it, and the money paid back is
    exactly the refunded lines'. Answers {line id: fate}."""
    fates, states = _fates(desk, prescription), _oms_states(desk, prescription)
    assert set(fates) == set(prescription.line_ids), f"a line has no fate: {fates}"
    assert states == fates, f"oms {states} and pms {fates} disagree"
    refunded = sum(float(line["amount"]) for line in prescription.order["lines"] if fates[line["id"]] == "refunded")
    assert _refunded_amount(desk, prescription) == f"{refunded:.2f}"
    return fates


# --- the race ------------------------------------------------------------------------------------


def _race(desk: Desk, prescription: Prescription, chosen: list[int], early: bool, rng: random.Random) -> str:
    """The cashier refunds `chosen` while the pharmacist dispenses; with `early`, the refund goes
    before the order has even reached the pharmacy. Answers what happened, for the tally."""
    pharmacy_id = None if early else _at_pharmacy(desk, prescription)
    start = threading.Barrier(2)
    answers: dict[str, httpx2.Response] = {}
    delays = (rng.random() * 0.03, rng.random() * 0.03)

    def cashier() -> None:
        start.wait()
        time.sleep(delays[0])
        answers["refund"] = _refund(desk, prescription, chosen)

    def pharmacist() -> None:
        start.wait()
        time.sleep(delays[1])
        answers["dispense"] = _dispense(desk, pharmacy_id or _at_pharmacy(desk, prescription))

    threads = [threading.Thread(target=cashier), threading.Thread(target=pharmacist)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refund, dispense = answers["refund"], answers["dispense"]
    assert refund.status_code in (201, 409, 503), refund.text
    if dispense.status_code != 200:
        # Refused because the refund took a line, or the pharmacy was too busy to answer: the
        # pharmacist looks again and hands out whatever is still to hand out.
        assert dispense.status_code >= 500 or dispense.json()["code"] in ("line_taken", "order_cancelled"), (
            dispense.text
        )
        dispense = _until(lambda: _final(_dispense(desk, _at_pharmacy(desk, prescription))), "a final dispense")
    if refund.status_code == 201:
        assert sorted(refund.json()["refunded_line_ids"]) == sorted(chosen)
        return "all refunded" if len(chosen) == len(prescription.line_ids) else "split"
    # Refused: the pharmacy had them (409), or could not answer (503) — and nothing was written.
    assert refund.json()["code"] == ("not_refundable" if refund.status_code == 409 else "pharmacy_unavailable")
    return "all dispensed" if refund.status_code == 409 else "refund refused, pharmacy busy"


def _final(answer: httpx2.Response) -> httpx2.Response | None:
    """An answer (a dispense's, a refund's) unless it was only the pharmacy being busy or not yet
    found again after a restart (then None: ask again)."""
    return None if answer.status_code >= 500 else answer


def test_refund_racing_dispense_never_gives_both(processes: Platform) -> None:
    desk, rng = processes.desk, random.Random(9)
    tally: Counter[str] = Counter()
    raced: list[Prescription] = []
    for round_ in range(RACES):
        prescription = _prescribe(processes)
        chosen = rng.choice([prescription.line_ids[:1], prescription.line_ids[1:], prescription.line_ids])
        tally[_race(desk, prescription, chosen, early=round_ % 2 == 1, rng=rng)] += 1
        raced.append(prescription)
    _settled(desk)
    for prescription in raced:
        assert_never_both(desk, prescription)
    print(f"\n{RACES} races: {dict(tally)}")
    # Both sides won some races: the test did race (a tally of one kind proves nothing).
    assert tally["all dispensed"] > 0 and tally["all refunded"] + tally["split"] > 0, tally


# --- crashes -------------------------------------------------------------------------------------


def test_oms_dying_after_the_claim_still_records_the_refund(processes: Platform) -> None:
    """oms asked the pharmacy, the pharmacy claimed the line, oms died before writing the refund:
    the pharmacy's notice records it, and the cashier's retry answers that same refund."""
    platform, desk = processes, processes.desk
    prescription = _prescribe(platform)
    pharmacy_id = _at_pharmacy(desk, prescription)
    platform.restart("oms", failpoint="oms.refund.after_claim")
    key, first = uuid.uuid4().hex, prescription.line_ids[:1]
    assert _refund(desk, prescription, first, key).status_code >= 500
    platform.died("oms")
    platform.restart("oms")
    _until(lambda: _oms_states(desk, prescription)[first[0]] == "refunded", "the notice recorded the refund")
    retry = _refund(desk, prescription, first, key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["refunded_line_ids"] == first
    assert desk.scalar("oms", "SELECT COUNT(*) FROM payments WHERE refund_of = :p", p=prescription.payment["id"]) == 1
    recorded_by = "SELECT actor FROM audit_log WHERE route = 'POST /api/oms/refunds/claimed' AND action = 'refunded'"
    assert desk.scalar("oms", recorded_by) == "service:pms"
    assert _dispense(desk, pharmacy_id).status_code == 200  # the other line
    _settled(desk)
    fates = assert_never_both(desk, prescription)
    assert list(fates.values()) == ["refunded", "dispensed"]


def test_pharmacy_dying_before_its_claim_commits_refuses_the_refund(processes: Platform) -> None:
    platform, desk = processes, processes.desk
    prescription = _prescribe(platform)
    _at_pharmacy(desk, prescription)
    platform.restart("pms", failpoint="pms.refund_claim.before_commit")
    refused = _refund(desk, prescription, prescription.line_ids)
    assert refused.status_code == 503 and refused.json()["code"] == "pharmacy_unavailable", refused.text
    assert "未做任何记录" in refused.json()["detail"]
    platform.died("pms")
    assert _oms_states(desk, prescription) == dict.fromkeys(prescription.line_ids, "paid")  # nothing written
    assert _refunded_amount(desk, prescription) == "0.00"
    platform.restart("pms")
    assert _dispense(desk, _at_pharmacy(desk, prescription)).status_code == 200
    late = _until(lambda: _final(_refund(desk, prescription, prescription.line_ids)), "oms reaching pms")
    assert late.status_code == 409 and late.json()["code"] == "not_refundable"
    _settled(desk)
    assert set(assert_never_both(desk, prescription).values()) == {"dispensed"}


def test_pharmacy_dying_after_its_claim_commits_still_gets_the_refund_recorded(processes: Platform) -> None:
    platform, desk = processes, processes.desk
    prescription = _prescribe(platform)
    pharmacy_id = _at_pharmacy(desk, prescription)
    platform.restart("pms", failpoint="pms.refund_claim.after_commit")
    refused = _refund(desk, prescription, prescription.line_ids)
    assert refused.status_code == 503 and refused.json()["code"] == "pharmacy_unavailable", refused.text
    platform.died("pms")
    assert _refunded_amount(desk, prescription) == "0.00"  # oms wrote nothing: it never heard the answer
    platform.restart("pms")
    # The claim stands at the pharmacy, so its notice makes oms record the refund.
    _until(lambda: set(_oms_states(desk, prescription).values()) == {"refunded"}, "the refund recorded")
    refused_dispense = _dispense(desk, pharmacy_id)
    assert refused_dispense.status_code == 409 and refused_dispense.json()["code"] == "order_cancelled"
    _settled(desk)
    assert set(assert_never_both(desk, prescription).values()) == {"refunded"}


def test_pharmacy_dying_before_the_dispense_commits_leaves_the_drugs_refundable(processes: Platform) -> None:
    platform, desk = processes, processes.desk
    prescription = _prescribe(platform)
    pharmacy_id = _at_pharmacy(desk, prescription)
    platform.restart("pms", failpoint="pms.dispense.before_commit")
    assert _dispense(desk, pharmacy_id).status_code >= 500
    platform.died("pms")
    platform.restart("pms")
    assert _fates(desk, prescription) == {}
    refund = _refund(desk, prescription, prescription.line_ids)
    assert refund.status_code == 201, refund.text
    assert _dispense(desk, pharmacy_id).json()["code"] == "order_cancelled"
    _settled(desk)
    assert set(assert_never_both(desk, prescription).values()) == {"refunded"}


def test_pharmacy_dying_after_the_dispense_commits_refuses_every_later_refund(processes: Platform) -> None:
    platform, desk = processes, processes.desk
    prescription = _prescribe(platform)
    pharmacy_id = _at_pharmacy(desk, prescription)
    platform.restart("pms", failpoint="pms.dispense.after_commit")
    assert _dispense(desk, pharmacy_id).status_code == 200  # handed out; the report to oms not yet sent
    platform.died("pms")
    while_down = _refund(desk, prescription, prescription.line_ids)
    assert while_down.status_code == 503 and while_down.json()["code"] == "pharmacy_unavailable"
    assert set(_oms_states(desk, prescription).values()) == {"paid"}
    platform.restart("pms")
    # oms asks the pharmacy about every drug line, a dispensed one too (it may have been returned):
    # until oms finds the restarted pharmacy in the registry it answers 503 and writes nothing.
    refused = _until(lambda: _final(_refund(desk, prescription, prescription.line_ids)), "oms reaching pms")
    assert refused.status_code == 409 and refused.json()["code"] == "not_refundable"
    _until(lambda: set(_oms_states(desk, prescription).values()) == {"dispensed"}, "the report reached oms")
    _settled(desk)
    assert set(assert_never_both(desk, prescription).values()) == {"dispensed"}
