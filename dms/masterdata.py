"""Doctors and registration types as dbs knows them, fetched with dms's own identity.

dms keeps no copy of master data: it asks dbs when a schedule or a leave is written and
freezes the names it needs on its own rows, so later renames never rewrite the roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from shared.errors import Invalid, Problem, Unavailable, field_error
from shared.i18n import Text
from shared.service_client import ServiceClient


@dataclass(frozen=True)
class Doctor:
    id: int
    name: str
    department_id: int
    department_name: str
    registration_type_id: int
    registration_type_name: str
    enabled: bool


@dataclass(frozen=True)
class RegistrationType:
    id: int
    name: str
    enabled: bool


class MasterData:
    """Reads from dbs; a missing or disabled record is the caller's input error on `field`."""

    def __init__(self, services: ServiceClient) -> None:
        self.services = services

    async def _fetch(self, path: str) -> dict[str, Any] | None:
        answer = await self.services.request("DBS", "GET", path, identity="service")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise Unavailable(
                Text("数据中心暂时无法提供主数据", "Master data (dbs) is not available"),
                code="dependency_unavailable",
            )
        return answer.json()

    async def doctor(self, doctor_id: int, field: str = "doctor_id", *, allow_disabled: bool = False) -> Doctor:
        data = await self._fetch(f"/api/dbs/doctors/{doctor_id}")
        if data is None:
            raise _unusable(field, Text("所选医生不存在", "doctor does not exist"), "reference_missing")
        doctor = Doctor(
            id=data["id"],
            name=data["name"],
            department_id=data["department_id"],
            department_name=data.get("department_name") or "",
            registration_type_id=data["registration_type_id"],
            registration_type_name=data.get("registration_type_name") or "",
            enabled=bool(data.get("enabled", True)),
        )
        if not doctor.enabled and not allow_disabled:
            raise _unusable(field, Text("所选医生已停用", "doctor is disabled"), "reference_disabled")
        return doctor

    async def registration_type(self, type_id: int, field: str = "registration_type_id") -> RegistrationType:
        data = await self._fetch(f"/api/dbs/registration-types/{type_id}")
        if data is None:
            raise _unusable(field, Text("所选挂号类型不存在", "registration type does not exist"), "reference_missing")
        kind = RegistrationType(id=data["id"], name=data["name"], enabled=bool(data.get("enabled", True)))
        if not kind.enabled:
            raise _unusable(field, Text("所选挂号类型已停用", "registration type is disabled"), "reference_disabled")
        return kind

    async def doctors(self) -> list[dict[str, Any]]:
        """Every enabled doctor (the demo loader's roster)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = await self.services.request(
                "DBS",
                "GET",
                "/api/dbs/doctors",
                params={"page": page, "size": 200, "enabled": "true"},
                identity="service",
            )
            if answer.status_code != 200:
                raise Unavailable(
                    Text("数据中心暂时无法提供医生列表", "dbs gave no doctors"), code="dependency_unavailable"
                )
            body = answer.json()
            found.extend(body["items"])
            if len(found) >= body["total"] or not body["items"]:
                return found
            page += 1


def _unusable(field: str, message: Text, code: str) -> Problem:
    return Invalid(
        Text("引用的主数据不可用", "Referenced master data is not usable"),
        code="bad_reference",
        errors=[field_error(field, message, code)],
    )


def master_data(request: Request) -> MasterData:
    return MasterData(request.app.state.services)
