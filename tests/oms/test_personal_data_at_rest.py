"""ID-card numbers and phones are encrypted at rest (table and audit rows) and still found by the
full number through the API, on SQLite (the file read as bytes) and MariaDB (a plain SELECT)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tests.oms.conftest import OmsApi
from tests.oms.test_patients import LI, WANG

NUMBERS = [WANG["id_card"], WANG["phone"], LI["id_card"], LI["phone"], "02162345678"]


def _stored(api: OmsApi) -> bytes:
    """Everything the database holds: the SQLite file and its write-ahead log, or every row of the
    patients and audit tables as MariaDB answers a plain SELECT."""
    if api.backend == "sqlite":
        path = Path(make_url(api.database_url).database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    rows = api.raw_rows("patients") + api.raw_rows("audit_log")
    return repr(rows).encode("unicode_escape") + str(rows).encode()


def test_numbers_are_not_stored_in_clear(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    oms_api.create("patients", LI)
    assert oms_api.put(f"patients/{wang['id']}", {**WANG, "address": "广州"}).status_code == 200
    stored = _stored(oms_api)
    assert "王小明".encode() in stored or "王小明".encode("unicode_escape") in stored, "reading the right data"
    for number in NUMBERS:
        assert number.encode() not in stored, number
    raw = {r["name"]: r for r in oms_api.raw_rows("patients")}
    assert raw["王小明"]["id_card"].startswith("e1:") and raw["王小明"]["phone"].startswith("e1:")
    assert len(raw["王小明"]["id_card_index"]) == 64


def test_the_audit_log_still_shows_the_numbers_to_those_who_may_see_them(oms_api: OmsApi) -> None:
    oms_api.create("patients", WANG)
    (entry,) = oms_api.get("audit-log", params={"entity": "patient"}).json()["items"]
    assert (entry["after"]["id_card"], entry["after"]["phone"]) == (WANG["id_card"], WANG["phone"])
    assert "id_card_index" not in entry["after"] and "phone_index" not in entry["after"]
    masked = oms_api.get("audit-log", params={"entity": "patient"}, token=oms_api.token("oms:audit:read"))
    assert masked.json()["items"][0]["after"]["id_card"] == "4403**********123X"


def test_a_clerk_finds_a_patient_by_the_full_number_with_or_without_pii_read(oms_api: OmsApi) -> None:
    oms_api.create("patients", WANG)
    oms_api.create("patients", LI)
    for permissions, shown in ((("oms:patient:read",), "4403**********123X"), (("oms:patient:read", "pii:read"), None)):
        clerk = oms_api.token(*permissions)

        def found(q: str, clerk: str = clerk) -> list[str]:
            answer = oms_api.get("patients", params={"q": q}, token=clerk)
            assert answer.status_code == 200, answer.text
            return [p["id_card"] for p in answer.json()["items"]]

        assert found(WANG["id_card"]) == [shown or WANG["id_card"]]
        assert found(WANG["id_card"].lower()) == [shown or WANG["id_card"]]
        assert found(WANG["phone"]) == [shown or WANG["id_card"]]
        assert found(LI["phone"]) == [LI["id_card"] if shown is None else "3101**********422X"]
        for part in ("4403**********123X", "138****5678", "123X", "5678", WANG["id_card"][:-1], WANG["phone"][1:]):
            assert found(part) == [], part
