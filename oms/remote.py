"""What oms asks of master data (dbs) and scheduling (dms), as itself (its own service token).

Answers are translated into this service's errors: a record the caller named that does not
exist there is the caller's mistake (422 on that field); a service that does not answer is a
503 that says which one.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from shared.errors import Conflict, Invalid, NotFound, Unavailable, field_error
from shared.i18n import Text
from shared.service_client import ServiceClient


def services(request: Request) -> ServiceClient:
    return request.app.state.services


def _unavailable(service: str) -> Unavailable:
    return Unavailable(
        Text(f"{service} 服务暂时无法访问", f"The {service} service is not reachable"), code="dependency_unavailable"
    )


async def _get(client: ServiceClient, app: str, path: str, params: dict[str, Any] | None = None) -> Any | None:
    """The JSON answer, or None for a 404."""
    answer = await client.request(app, "GET", path, params=params, identity="service")
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise _unavailable(app.lower())
    return answer.json()


async def enabled_record(client: ServiceClient, app: str, path: str, field: str, label: Text) -> dict[str, Any]:
    """A master record the caller chose by id: it must exist and be enabled (else 422 on `field`)."""
    record = await _get(client, app, path)
    if record is None or not record.get("enabled", True):
        state = Text("不存在", "does not exist") if record is None else Text("已停用", "is disabled")
        raise Invalid(
            Text(f"{label.zh}{state.zh}", f"The {label.en} {state.en}"),
            code="bad_reference",
            errors=[field_error(field, state, "bad_reference")],
        )
    return record


async def departments(client: ServiceClient) -> list[dict[str, Any]]:
    page = await _get(client, "DBS", "/api/dbs/departments", {"size": 200, "sort": "code"})
    return [d for d in (page or {}).get("items", []) if d["enabled"] and d["kind"] == "outpatient"]


async def registration_types(client: ServiceClient) -> list[dict[str, Any]]:
    page = await _get(client, "DBS", "/api/dbs/registration-types", {"size": 200})
    return [t for t in (page or {}).get("items", []) if t["enabled"]]


async def enabled_page(client: ServiceClient, path: str, q: str, page: int, size: int) -> dict[str, Any]:
    """One page of the enabled records of a dbs list matching `q`, by code."""
    params = {"q": q, "page": page, "size": size, "enabled": "true", "sort": "code"}
    return await _get(client, "DBS", path, params) or {"items": [], "total": 0}


# The legacy hospital's hours, for a doctor dbs no longer has (its schedules still name it).
LEGACY_HOURS = {"am_start": "08:00", "am_end": "12:00", "pm_start": "14:00", "pm_end": "18:00"}


async def doctor_hours(client: ServiceClient, doctor_id: int) -> dict[str, str]:
    """A doctor's shift times ("HH:MM") from master data."""
    doctor = await _get(client, "DBS", f"/api/dbs/doctors/{doctor_id}") or {}
    return {name: doctor.get(name) or default for name, default in LEGACY_HOURS.items()}


async def available_schedules(client: ServiceClient, **params: Any) -> list[dict[str, Any]]:
    answer = await _get(client, "DMS", "/api/dms/available", {k: v for k, v in params.items() if v is not None})
    return (answer or {}).get("items", [])


async def schedule(client: ServiceClient, schedule_id: int) -> dict[str, Any]:
    found = await _get(client, "DMS", f"/api/dms/schedules/{schedule_id}")
    if found is None:
        raise Invalid(
            Text("排班不存在", "No such schedule"),
            code="bad_reference",
            errors=[field_error("schedule_id", Text("不存在", "does not exist"), "bad_reference")],
        )
    return found


async def book(client: ServiceClient, key: str, schedule_id: int, visit_number: str | None = None) -> dict[str, Any]:
    """Books a place (idempotent by `key`); 409 from dms (full, closed) is passed on as it is."""
    answer = await client.request(
        "DMS",
        "POST",
        "/api/dms/bookings",
        json={"key": key, "schedule_id": schedule_id, "visit_number": visit_number},
        headers={"Idempotency-Key": key},
        identity="service",
    )
    if answer.status_code in (200, 201):
        return answer.json()
    if answer.status_code == 409:
        body = answer.json()
        raise Conflict(
            Text(body.get("detail", "号源不可用"), body.get("detail", "No place")), code=body.get("code", "slot_full")
        )
    if answer.status_code == 404:
        raise NotFound(Text("排班不存在", "No such schedule"))
    raise _unavailable("dms")


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
