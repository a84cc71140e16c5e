"""oms stores examination reports in a real MinIO (storage_url set): the object lands in the `oms`
bucket with the SHA-256 the record names, downloads give the same bytes, and a result the database
refuses leaves no object behind."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.storage import ObjectStore, StoredObject
from tests.oms.outpatient_desk import Desk, desk_on
from tests.support.minio import client, minio_url  # noqa: F401 — the fixture

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n% exam report on MinIO\ntrailer<<>>\n%%EOF\n"
BUCKET = "oms"


@pytest.fixture(scope="module")
def desk(minio_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:  # noqa: F811
    with desk_on("sqlite", Path(tmp_path_factory.mktemp("exams-minio")), oms={"storage_url": minio_url}) as desk:
        yield desk


def paid_line_needing_exam(desk: Desk, shift: str) -> int:
    """Registration, an item order for a blood test (needs an examination), paid: its line id.
    Each test takes its own shift of the doctor (one schedule per doctor, day and shift)."""
    patient = desk.patient("王五")
    schedule = desk.schedule("D001", quota=5, shift=shift)
    answer = desk.register(patient["id"], schedule["id"], "cash")
    assert answer.status_code == 201, answer.text
    visit = answer.json()
    desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    blood = desk.item("XM0002")
    order = desk.ok(
        "POST",
        f"/api/oms/visits/{visit['id']}/item-orders",
        201,
        json={"lines": [{"charge_item_id": blood["id"], "quantity": 1}]},
    )
    assert order["lines"][0]["needs_exam"] is True
    paid = desk.pay(visit["id"], order["id"], "cash")
    assert paid.status_code == 201, paid.text
    return order["lines"][0]["id"]


def objects(url: str) -> dict[str, bytes]:
    minio = client(url)
    if not minio.bucket_exists(BUCKET):
        return {}
    found = {}
    for obj in minio.list_objects(BUCKET, recursive=True):
        response = minio.get_object(BUCKET, obj.object_name)
        try:
            found[obj.object_name] = response.read()
        finally:
            response.close()
            response.release_conn()
    return found


def test_an_exam_report_is_stored_in_the_oms_bucket(desk: Desk, minio_url: str) -> None:  # noqa: F811
    before = objects(minio_url)
    line_id = paid_line_needing_exam(desk, "morning")
    exam = desk.ok(
        "POST",
        f"/api/oms/exams/{line_id}/result",
        201,
        data={"text": "白细胞计数正常"},
        files=[("files", ("report.pdf", PDF, "application/pdf"))],
    )
    stored = exam["result"]["files"][0]
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest() and stored["size"] == len(PDF)

    new = {k: v for k, v in objects(minio_url).items() if k not in before}
    key = desk.scalar("oms", "SELECT `key` FROM exam_files WHERE id = :id", id=stored["id"])
    assert list(new) == [key] and key.startswith("exams/") and key.endswith(".pdf")
    assert hashlib.sha256(new[key]).hexdigest() == stored["sha256"]
    stat = client(minio_url).stat_object(BUCKET, key)
    assert stat.content_type == "application/pdf"
    assert not (Path(desk.stack.var_dir) / "objects").exists(), "nothing may go to the local store"

    download = desk.call("GET", f"/api/oms/exam-files/{stored['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"


class Spy:
    """The service's store, noting the keys it was asked to put (so the test knows uploads happened)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.put_keys: list[str] = []

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        self.put_keys.append(key)
        return await self.store.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_result_the_database_refuses_leaves_no_object(desk: Desk, minio_url: str) -> None:  # noqa: F811
    line_id = paid_line_needing_exam(desk, "afternoon")
    desk.ok("POST", f"/api/oms/exams/{line_id}/result", 201, data={"text": "first"})
    before = objects(minio_url)

    state = desk.stack.apps["oms"].state
    spy = state.store = Spy(state.store)
    try:
        again = desk.call(
            "POST",
            f"/api/oms/exams/{line_id}/result",
            data={"text": "second"},
            files=[("files", ("late.pdf", PDF, "application/pdf")), ("files", ("late2.pdf", PDF, "application/pdf"))],
        )
    finally:
        state.store = spy.store
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "already_examined"
    # Both files went to MinIO before the database said no, and were deleted again.
    assert len(spy.put_keys) == 2
    assert objects(minio_url) == before
    assert not set(spy.put_keys) & set(objects(minio_url))
