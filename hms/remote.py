"""What hms asks of master data (dbs), the outpatient service (oms) and the pharmacy (pms), as
itself. The names it shows are frozen on its own rows when it writes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.errors import Conflict, NotFound, Unavailable
from shared.i18n import Text
from shared.remote import (
    DISABLED,
    ChargeItem,
    ChargeType,
    Drug,
    Remote,
    bad_reference,
    enabled_record,
    get_json,
    items,
)
from shared.service_client import ServiceClient


class Department(Remote):
    id: int
    name: str
    kind: str
    enabled: bool = True


class Doctor(Remote):
    id: int
    name: str
    department_id: int
    enabled: bool = True


class Patient(Remote):
    """What the ward keeps of a patient of oms's library: no ID card, no phone."""

    id: int
    name: str
    sex: str | None = None
    birth_date: date | None = None
    age: int | None = None
    enabled: bool = True


class AdmissionRequest(Remote):
    """An outpatient visit's transfer to inpatient care (oms, 待入院)."""

    id: int
    visit_number: str
    patient_id: int
    patient_name: str
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    note: str | None = None
    state: str
    admission_number: str | None = None
    requested_at: datetime


async def inpatient_department(client: ServiceClient, department_id: int, field: str = "department_id") -> Department:
    department = await enabled_record(
        client, "DBS", f"/api/dbs/departments/{department_id}", field, Text("科室", "department"), Department
    )
    if department.kind != "inpatient":
        raise bad_reference(field, Text("科室", "department"), Text("不是住院科室", "is not an inpatient department"))
    return department


async def doctor(client: ServiceClient, doctor_id: int, field: str = "doctor_id") -> Doctor:
    return await enabled_record(client, "DBS", f"/api/dbs/doctors/{doctor_id}", field, Text("医生", "doctor"), Doctor)


async def charge_type(client: ServiceClient, charge_type_id: int) -> ChargeType:
    return await enabled_record(
        client, "DBS", f"/api/dbs/charge-types/{charge_type_id}", "charge_type_id", Text("收费类型", "charge type"),
        ChargeType,
    )  # fmt: skip


async def drug(client: ServiceClient, drug_id: int, field: str) -> Drug:
    return await enabled_record(client, "DBS", f"/api/dbs/drugs/{drug_id}", field, Text("药品", "drug"), Drug)


async def inpatient_item(client: ServiceClient, item_id: int, field: str) -> ChargeItem:
    label = Text("收费项目", "charge item")
    item = await enabled_record(client, "DBS", f"/api/dbs/charge-items/{item_id}", field, label, ChargeItem)
    if item.scope not in ("inpatient", "both"):
        raise bad_reference(field, label, Text("不是住院收费项目", "is not an inpatient item"))
    return item


async def patient(client: ServiceClient, patient_id: int) -> Patient:
    found = await enabled_record(
        client, "OMS", f"/api/oms/patients/{patient_id}", "patient_id", Text("患者", "patient"), Patient
    )
    if not found.enabled:
        raise bad_reference("patient_id", Text("患者", "patient"), DISABLED)
    return found


async def admission_request(client: ServiceClient, request_id: int) -> AdmissionRequest:
    """A pending transfer of oms (404 when oms has none; 409 when it is no longer pending)."""
    found = await get_json(client, "OMS", f"/api/oms/admission-requests/{request_id}")
    if found is None:
        raise NotFound(Text("入院申请不存在", "No such admission request"))
    request = AdmissionRequest.model_validate(found)
    if request.state != "pending":
        taken = f"（住院号 {request.admission_number}）" if request.admission_number else ""
        raise Conflict(
            Text(f"该入院申请已办理或已取消{taken}", f"The admission request is already {request.state}"),
            code="not_pending",
        )
    return request


async def inpatient_departments(client: ServiceClient) -> list[Department]:
    params = {"size": 200, "enabled": "true", "sort": "code"}
    found = await items(client, "DBS", "/api/dbs/departments", params, Department)
    return [d for d in found if d.kind == "inpatient"]


# The pharmacy's refusals of a claim, in the ward's words (docs/pharmacy.md, "Never both").
PHARMACY_REFUSALS = {
    "already_dispensed": Text(
        "药房已发出这些药品，请先办理退药", "The pharmacy handed these drugs out: return them first"
    ),
    "already_refunded": Text("药房已退过这些药品", "The pharmacy already took these drugs back"),
    "line_taken": Text("药房刚刚处理了这些药品，请刷新后重试", "The pharmacy just settled these drugs: reload"),
}


def pharmacy_unavailable() -> Unavailable:
    return Unavailable(
        Text(
            "药房服务暂时无法确认药品尚未发出，本次退药未办理、未做任何记录，请稍后重试",
            "The pharmacy cannot confirm the drugs were not handed out: nothing was credited or recorded; try again",
        ),
        code="pharmacy_unavailable",
    )


async def claim_drugs(client: ServiceClient, order_id: int, claim: str, body: dict[str, Any]) -> None:
    """Asks the pharmacy to take these lines' fate (`refunded`) under the claim's key, so that a retry is
    answered the same. A 409 (a line handed out and not returned, or claimed before) is passed on in the
    ward's words, its code kept; no answer, or any other, is 503: then nothing may be credited."""
    try:
        answer = await client.request(
            "PMS", "POST", f"/api/pms/dispensing-orders/by-source/hms/{order_id}/refund-claims",
            json=body, headers={"Idempotency-Key": claim}, identity="service",
        )  # fmt: skip
    except Unavailable as exc:
        raise pharmacy_unavailable() from exc
    if answer.status_code in (200, 201):
        return
    if answer.status_code == 409:
        code = answer.json().get("code")
        if code not in PHARMACY_REFUSALS:
            code = "line_taken"
        raise Conflict(PHARMACY_REFUSALS[code], code=code)
    raise pharmacy_unavailable()
