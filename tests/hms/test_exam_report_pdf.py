"""The inpatient 检查报告单: printed once the result is recorded, by whoever reads the stay's charges in
its department, with the patient's name and ward but nothing personal beyond."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session

import hms.main
from hms.charges.models import Charge
from hms.db import metadata
from hms.settings import HmsSettings
from hms.stays.models import Stay
from shared.migrations import sync_url
from tests.oms.conftest import ISOLATED
from tests.oms.test_receipt_pdf import text_of
from tests.support.service_api import ServiceApi
from tests.support.tokens import SigningKey

# 15:05 at the hospital on 26 November 2026.
EXAMINED_AT = datetime(2026, 11, 26, 7, 5, tzinfo=UTC)
DEPARTMENT = 11


@pytest.fixture(scope="module")
def hms_api(signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceApi]:
    """hms in process on SQLite, with a superadmin token by default (the report reads no other service)."""
    var_dir: Path = tmp_path_factory.mktemp("hms-print")
    settings = HmsSettings(
        **{**ISOLATED, "var_dir": var_dir, "database_url": f"sqlite+aiosqlite:///{var_dir}/hms.db",
           "jwks": signing_key.jwks_json, "check_revocations": False, "hospital_name": "示例市第一人民医院"}
    )  # fmt: skip
    engine = create_engine(sync_url(settings.database_url))
    try:
        with TestClient(hms.main.create_app(settings), raise_server_exceptions=False) as client:
            yield ServiceApi(client, signing_key, engine, "sqlite", "hms", metadata, signing_key.token(["*"]))
    finally:
        engine.dispose()


def _charge(stay_id: int, name: str, **fields: Any) -> Charge:
    values: dict[str, Any] = {
        "stay_id": stay_id, "kind": "item", "category": "检查费", "item_id": 1, "code": "CT01", "name": name,
        "unit": "次", "unit_price": Decimal("480.00"), "quantity": 1, "amount": Decimal("480.00"), "state": "booked",
        "needs_exam": True, "created_by": "nurse", "created_at": EXAMINED_AT, **fields,
    }  # fmt: skip
    return Charge(**values)


@pytest.fixture(scope="module")
def charges(hms_api: ServiceApi) -> dict[str, int]:
    """A stay in 内科病区 with an examined CT (its report file attached), a test still waiting, and a
    drug line: their ids."""
    with Session(hms_api.engine) as session:
        stay = Stay(
            number="ZY20261125-00008", state="admitted", patient_id=5, patient_name="赵四", sex="female", age=58,
            department_id=DEPARTMENT, department_name="内科病区", doctor_id=1, doctor_name="陈主任", ward_id=1,
            ward_name="内科一病区", bed_id=1, bed_number="12", diagnosis="社区获得性肺炎", charge_type_id=1,
            charge_type_name="自费", reimbursement_ratio=Decimal("0.00"), admitted_at=EXAMINED_AT,
            admitted_by="clerk", updated_at=EXAMINED_AT,
        )  # fmt: skip
        session.add(stay)
        session.flush()
        examined = _charge(
            stay.id, "胸部CT", state="examined", exam_result="右下肺斑片影。\n考虑炎症，建议复查。",  # type: ignore[arg-type]
            report_key="exams/2026/11/ct.pdf", report_name="胸部CT报告.pdf", examined_by="ct_tech",
            examined_at=EXAMINED_AT,
        )  # fmt: skip
        waiting = _charge(stay.id, "血常规")  # type: ignore[arg-type]
        drug = _charge(stay.id, "阿莫西林胶囊", kind="drug", category="药品费", needs_exam=False)  # type: ignore[arg-type]
        session.add_all([examined, waiting, drug])
        session.commit()
        return {"examined": examined.id, "waiting": waiting.id, "drug": drug.id}  # type: ignore[dict-item]


def report(api: ServiceApi, charge_id: int, token: str | None = None) -> Any:
    path = f"charges/{charge_id}/exam/report.pdf"
    return api.get(path, token=token) if token else api.get(path)


def test_the_report_names_the_patient_the_bed_the_result_and_who_examined_when(
    hms_api: ServiceApi, charges: dict[str, int]
) -> None:
    answer = report(hms_api, charges["examined"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    text, pages = text_of(answer.content)
    assert pages == 1
    for expected in (
        "示例市第一人民医院", "住院检查报告单", "ZY20261125-00008", "赵四", "女", "58岁", "内科病区", "内科一病区",
        "床号：12",
        "陈主任", "社区获得性肺炎", "胸部CT", "右下肺斑片影。", "考虑炎症，建议复查。", "胸部CT报告.pdf", "ct_tech",
        "2026-11-26 15:05",
    ):  # fmt: skip
        assert expected in text, expected
    assert "exams/2026" not in text, "the file's storage key is not the reader's business"


def test_an_item_still_waiting_for_its_result_has_no_report(hms_api: ServiceApi, charges: dict[str, int]) -> None:
    waiting = report(hms_api, charges["waiting"])
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers["content-type"].startswith("application/problem+json")
    assert (waiting.json()["code"], waiting.json()["detail"]) == ("not_examined", "该项目尚未检查，没有检查报告单")
    assert report(hms_api, charges["drug"]).status_code == 404  # a drug is never examined
    assert report(hms_api, 999999).status_code == 404


def test_printing_needs_the_charges_read_permission_in_the_stays_department(
    hms_api: ServiceApi, charges: dict[str, int]
) -> None:
    examined = charges["examined"]
    without = report(hms_api, examined, hms_api.token("hms:stay:read", "hms:charge:write"))
    assert without.status_code == 403, without.text
    elsewhere = report(hms_api, examined, hms_api.token("hms:charge:read", dept=[DEPARTMENT + 1]))
    assert elsewhere.status_code == 403, elsewhere.text
    assert report(hms_api, examined, hms_api.token("hms:charge:read", dept=[DEPARTMENT])).status_code == 200
