"""What oms asks of master data (dbs), scheduling (dms) and the pharmacy (pms), as itself (its
own service token).

Answers are frozen pydantic models validated from the JSON (as dms/masterdata.py's are), so a
caller reads `schedule.doctor_id`, not `schedule["doctor_id"]`, and a field dbs or dms stopped
sending fails here, named, not as a KeyError somewhere later. They are translated into this
service's errors: a record the caller named that does not exist there is the caller's mistake
(422 on that field); a service that does not answer is a 503 that says which one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shared.context import current_language
from shared.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, field_error
from shared.i18n import Text
from shared.remote import ChargeType, Remote, get_json, items, unavailable
from shared.service_client import ServiceClient


class Department(Remote):
    id: int
    code: str
    name: str
    kind: str
    enabled: bool = True


class RegistrationType(Remote):
    id: int
    name: str
    fee: Decimal
    enabled: bool = True


# The legacy hospital's hours, for a doctor dbs no longer has (its schedules still name it).
LEGACY_HOURS = {"am_start": "08:00", "am_end": "12:00", "pm_start": "14:00", "pm_end": "18:00"}


class DoctorHours(Remote):
    """A doctor's shift times ("HH:MM")."""

    am_start: str = LEGACY_HOURS["am_start"]
    am_end: str = LEGACY_HOURS["am_end"]
    pm_start: str = LEGACY_HOURS["pm_start"]
    pm_end: str = LEGACY_HOURS["pm_end"]


class Schedule(Remote):
    """A doctor's shift with places (dms /available)."""

    id: int
    doctor_id: int
    doctor_name: str
    department_id: int
    department_name: str
    date: date
    shift: str
    registration_type_id: int
    registration_type_name: str
    quota: int
    booked: int
    free: int


class BookedPlace(Remote):
    """A place booked at dms, with what a visit records of its schedule and the fee it costs now."""

    key: str
    schedule_id: int
    seq: int
    visit_number: str | None
    date: date
    shift: str
    doctor_id: int
    doctor_name: str
    department_id: int
    department_name: str
    registration_type_id: int
    registration_type_name: str
    fee: Decimal


async def departments(client: ServiceClient) -> list[Department]:
    found = await items(client, "DBS", "/api/dbs/departments", {"size": 200, "sort": "code"}, Department)
    return [d for d in found if d.enabled and d.kind == "outpatient"]


async def registration_types(client: ServiceClient) -> list[RegistrationType]:
    return [
        t
        for t in await items(client, "DBS", "/api/dbs/registration-types", {"size": 200}, RegistrationType)
        if t.enabled
    ]


async def charge_types(client: ServiceClient) -> list[ChargeType]:
    params = {"size": 200, "enabled": "true"}
    return [t for t in await items(client, "DBS", "/api/dbs/charge-types", params, ChargeType) if t.enabled]


async def enabled_page(client: ServiceClient, path: str, q: str, page: int, size: int) -> dict[str, Any]:
    """One page of the enabled records of a dbs list matching `q`, by code."""
    params = {"q": q, "page": page, "size": size, "enabled": "true", "sort": "code"}
    return await get_json(client, "DBS", path, params) or {"items": [], "total": 0}


async def doctor_hours(client: ServiceClient, doctor_id: int) -> DoctorHours:
    """A doctor's shift times from master data (the legacy hours for what it does not say)."""
    doctor = await get_json(client, "DBS", f"/api/dbs/doctors/{doctor_id}") or {}
    return DoctorHours.model_validate({name: doctor[name] for name in LEGACY_HOURS if doctor.get(name)})


async def available_schedules(client: ServiceClient, **params: Any) -> list[Schedule]:
    return await items(
        client, "DMS", "/api/dms/available", {k: v for k, v in params.items() if v is not None}, Schedule
    )


def _passed_on(body: dict[str, Any], fallback: str) -> Text:
    detail = body.get("detail") or fallback
    return Text(detail, detail)


def _booking_refused(status: int, body: dict[str, Any]) -> Exception:
    """dms's refusal in this service's terms: the desk's own wording for its conditions (today's
    shifts, the caller's departments), dms's for the rest (full, closed, ended, no such schedule)."""
    code = body.get("code", "")
    if code == "wrong_date":
        return Invalid(
            Text("只能挂今天的号", "Only today's shifts can be registered"),
            code="not_today",
            errors=[field_error("schedule_id", Text("不是今天的排班", "is not today's shift"), "not_today")],
        )
    if code == "outside_departments":
        return Forbidden(Text("不能挂您科室范围以外的号", "That department is outside your scope"), code="out_of_scope")
    if status == 409:
        return Conflict(_passed_on(body, "号源不可用"), code=code or "slot_full")
    return Invalid(
        _passed_on(body, "排班不可用"),
        code="bad_reference",
        errors=[field_error("schedule_id", _passed_on(body, "不可用"), "bad_reference")],
    )


async def book(
    client: ServiceClient,
    key: str,
    schedule_id: int,
    visit_number: str,
    day: date,
    departments: frozenset[int] | None,
) -> BookedPlace:
    """Books a place on `schedule_id` (idempotent by `key`), on `day` and in `departments` only (None:
    any), and answers everything a visit records: the one call a registration makes."""
    answer = await client.request(
        "DMS",
        "POST",
        "/api/dms/bookings",
        json={
            "schedule_id": schedule_id,
            "visit_number": visit_number,
            "date": day.isoformat(),
            "department_ids": None if departments is None else sorted(departments),
        },
        # dms's refusals (full, closed, the shift over) are passed on as it words them: in the caller's language.
        headers={"Idempotency-Key": key, "Accept-Language": current_language()},
        identity="service",
    )
    if answer.status_code in (200, 201):
        return BookedPlace.model_validate(answer.json())
    if answer.status_code in (409, 422):
        raise _booking_refused(answer.status_code, answer.json())
    if answer.status_code == 404:
        raise NotFound(Text("排班不存在", "No such schedule"))
    raise unavailable("dms")


PHARMACY_REFUSALS = {
    "already_dispensed": Text("药房已发出这些药品，不能退费；请先办理退药",
                              "The pharmacy already handed these drugs out: they must be returned first"),
    "already_refunded": Text("这些药品已退费", "These drugs were already refunded"),
    "line_taken": Text("药房刚刚处理了这些药品，请刷新后重试", "The pharmacy just settled these drugs: reload"),
}  # fmt: skip


def _pharmacy_unavailable() -> Unavailable:
    return Unavailable(
        Text(
            "药房服务暂时无法确认药品尚未发出，本次药品退费未办理、未做任何记录，请稍后重试",
            "The pharmacy cannot confirm the drugs were not handed out: nothing was refunded or recorded; try again",
        ),
        code="pharmacy_unavailable",
    )


async def claim_refund(client: ServiceClient, order_id: int, claim: str, body: dict[str, Any]) -> None:
    """Asks the pharmacy to take these lines' fate (`refunded`), under the claim's key so that a
    retry is answered the same. It refuses a line it has dispensed: 409, passed on with its words."""
    try:
        answer = await client.request(
            "PMS", "POST", f"/api/pms/dispensing-orders/by-source/oms/{order_id}/refund-claims",
            json=body, headers={"Idempotency-Key": claim}, identity="service",
        )  # fmt: skip
    except Unavailable as exc:
        raise _pharmacy_unavailable() from exc
    if answer.status_code in (200, 201):
        return
    if answer.status_code == 409:
        reason = PHARMACY_REFUSALS.get(answer.json().get("code"), PHARMACY_REFUSALS["line_taken"])
        raise Conflict(reason, code="not_refundable")
    raise _pharmacy_unavailable()
