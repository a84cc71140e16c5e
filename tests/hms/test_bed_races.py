"""One bed, one stay: admissions, transfers and a nurse's closing that reach one free bed at the
same moment end with exactly one of them done and the others refused with nothing written — on
SQLite and on MariaDB, where the conditional UPDATE of the bed row is what decides."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.hms.ward import Ward, ward_on

ROUNDS = 20


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def ward(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    with ward_on(request.param, Path(tmp_path_factory.mktemp("bed-races"))) as ward:
        yield ward


def at_once(*calls: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    """The calls sent together: each thread waits for the others before it sends."""
    start = threading.Barrier(len(calls))

    def send(call: Callable[[], httpx2.Response]) -> httpx2.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def post(ward: Ward, path: str, body: dict[str, Any]) -> Callable[[], httpx2.Response]:
    return lambda: ward.call("POST", path, json=body)


def counts(ward: Ward) -> dict[str, int]:
    """What an admission or a transfer writes: the stay, its audit and feed rows, the transfer."""
    return {
        "stays": ward.scalar("hms", "SELECT COUNT(*) FROM stays"),
        "transfers": ward.scalar("hms", "SELECT COUNT(*) FROM transfers"),
        "admit audits": ward.scalar("hms", "SELECT COUNT(*) FROM audit_log WHERE action = 'admit'"),
        "transfer audits": ward.scalar("hms", "SELECT COUNT(*) FROM audit_log WHERE action = 'transfer'"),
        "admitted feed": ward.scalar("hms", "SELECT COUNT(*) FROM change_feed WHERE action = 'admitted'"),
        "transferred feed": ward.scalar("hms", "SELECT COUNT(*) FROM change_feed WHERE action = 'transferred'"),
    }


def refused_as_taken(answer: httpx2.Response, bed_id: int) -> None:
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "bed_taken" and problem["detail"], problem
    assert [e["field"] for e in problem["errors"]] == ["bed_id"], problem


def test_two_admissions_to_one_free_bed_admit_one(ward: Ward) -> None:
    beds = ward.new_ward(beds=ROUNDS)["bed_list"]
    for bed in beds:
        bodies = [ward.admission(bed["id"], deposit={"amount": "300.00", "method": "cash"}) for _ in range(2)]
        before = counts(ward)
        answers = at_once(*(post(ward, "/api/hms/stays", body) for body in bodies))

        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        winner = next(a.json() for a in answers if a.status_code == 201)
        refused_as_taken(next(a for a in answers if a.status_code == 409), bed["id"])
        # The winner is the patient whose stay holds the bed; the other left nothing behind.
        assert winner["patient_id"] in [b["patient_id"] for b in bodies]
        taken = ward.ok("GET", f"/api/hms/beds/{bed['id']}")
        assert (taken["state"], taken["stay_id"]) == ("occupied", winner["id"])
        assert ward.scalar("hms", "SELECT COUNT(*) FROM stays WHERE bed_id = :b", b=bed["id"]) == 1
        after = counts(ward)
        assert after == {**before, "stays": before["stays"] + 1, "admit audits": before["admit audits"] + 1,
                         "admitted feed": before["admitted feed"] + 1}  # fmt: skip
        # The loser's deposit went with it: one deposit row, the winner's.
        assert ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=winner["id"]) == 1
        assert ward.scalar("hms", "SELECT COUNT(*) FROM deposits") == after["stays"]


def test_a_transfer_and_an_admission_racing_for_one_bed(ward: Ward) -> None:
    """Of a transfer and an admission into the same free bed one wins; the loser wrote nothing and,
    when it is the transfer, the patient is still in the old bed, which is still theirs."""
    rounds = 10
    beds = ward.new_ward(beds=2 * rounds)["bed_list"]
    outcomes = set()
    for old, new in zip(beds[::2], beds[1::2], strict=True):
        moving = ward.admit(old["id"])
        newcomer = ward.admission(new["id"])
        before = counts(ward)
        moved, admitted = at_once(
            post(ward, f"/api/hms/stays/{moving['id']}/transfers", {"bed_id": new["id"], "reason": "换床"}),
            post(ward, "/api/hms/stays", newcomer),
        )

        assert sorted((moved.status_code, admitted.status_code)) == [201, 409], (moved.text, admitted.text)
        after = counts(ward)
        old_bed = ward.ok("GET", f"/api/hms/beds/{old['id']}")
        new_bed = ward.ok("GET", f"/api/hms/beds/{new['id']}")
        stay = ward.ok("GET", f"/api/hms/stays/{moving['id']}")
        if moved.status_code == 201:
            outcomes.add("transfer")
            refused_as_taken(admitted, new["id"])
            assert (new_bed["state"], new_bed["stay_id"]) == ("occupied", moving["id"])
            assert (old_bed["state"], old_bed["stay_id"]) == ("free", None)
            assert stay["bed_id"] == new["id"]
            assert after == {**before, "transfers": before["transfers"] + 1,
                             "transfer audits": before["transfer audits"] + 1,
                             "transferred feed": before["transferred feed"] + 1}  # fmt: skip
            history = ward.ok("GET", f"/api/hms/stays/{moving['id']}/transfers")
            assert [(t["from_bed_number"], t["to_bed_number"]) for t in history] == [(old["number"], new["number"])]
        else:
            outcomes.add("admission")
            refused_as_taken(moved, new["id"])
            assert (new_bed["state"], new_bed["stay_id"]) == ("occupied", admitted.json()["id"])
            assert (old_bed["state"], old_bed["stay_id"]) == ("occupied", moving["id"])
            assert stay["bed_id"] == old["id"]
            assert ward.ok("GET", f"/api/hms/stays/{moving['id']}/transfers") == []
            assert after == {**before, "stays": before["stays"] + 1, "admit audits": before["admit audits"] + 1,
                             "admitted feed": before["admitted feed"] + 1}  # fmt: skip
    assert outcomes  # which one wins is the race's; that exactly one does is the rule


def test_a_nurse_closing_a_bed_while_it_is_being_taken(ward: Ward) -> None:
    """关床 and an admission at the same moment: either the bed is closed and nobody is admitted into
    it, or the patient is in it and closing it was refused — never a closed bed with a patient."""
    rounds = 10
    beds = ward.new_ward(beds=rounds)["bed_list"]
    for bed in beds:
        body = ward.admission(bed["id"])
        stays_before = ward.scalar("hms", "SELECT COUNT(*) FROM stays")
        closed, admitted = at_once(
            post(ward, f"/api/hms/beds/{bed['id']}/state", {"state": "closed", "remark": "维修"}),
            post(ward, "/api/hms/stays", body),
        )

        outcome = (closed.status_code, admitted.status_code)
        assert outcome in ((200, 409), (409, 201)), (closed.text, admitted.text)
        now = ward.ok("GET", f"/api/hms/beds/{bed['id']}")
        stays_after = ward.scalar("hms", "SELECT COUNT(*) FROM stays")
        if admitted.status_code == 201:
            assert closed.json()["code"] == "bed_occupied", closed.text
            assert (now["state"], now["stay_id"]) == ("occupied", admitted.json()["id"])
            assert stays_after == stays_before + 1
        else:
            refused_as_taken(admitted, bed["id"])
            assert (now["state"], now["stay_id"]) == ("closed", None)
            assert stays_after == stays_before
