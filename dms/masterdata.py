"""Doctors and registration types as dbs knows them, fetched with dms's own identity.

dms keeps no table of master data: it asks dbs when a schedule or a leave is written and
freezes the names it needs on its own rows, so later renames never rewrite the roster. A
booking, the hot path of every registration, reads them from a short-lived copy instead
(`masterdata_ttl_seconds`): a change made in dbs reaches bookings within that time.

Answers are frozen pydantic models validated from dbs's JSON, as oms/remote.py's are.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict

from shared.errors import Invalid, Problem, Unavailable, field_error
from shared.i18n import Text
from shared.service_client import ServiceClient


class Remote(BaseModel):
    """What another service answered: read-only, extra fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Doctor(Remote):
    id: int
    code: str = ""
    name: str
    department_id: int
    department_name: str = ""
    registration_type_id: int
    registration_type_name: str = ""
    enabled: bool = True
    # The doctor's hours ("HH:MM"); a shift ends at its end hour.
    am_end: str | None = None
    pm_end: str | None = None


class RegistrationType(Remote):
    id: int
    name: str
    fee: Decimal = Decimal(0)
    enabled: bool = True


Model = TypeVar("Model", bound=Remote)


class Copies:
    """Records read from dbs, kept `ttl` seconds (0: not kept). One per app, not per process: two
    apps in one process (the tests) may talk to two different dbs."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._kept: dict[str, tuple[float, Any]] = {}

    def get(self, path: str) -> Any | None:
        kept = self._kept.get(path)
        if kept is None or kept[0] < time.monotonic():
            return None
        return kept[1]

    def keep(self, path: str, value: Any) -> None:
        if self.ttl > 0:
            self._kept[path] = (time.monotonic() + self.ttl, value)


class MasterData:
    """Reads from dbs; a missing or disabled record is the caller's input error on `field`.
    `copies`: where a booking may read a recent answer instead of asking dbs again."""

    def __init__(self, services: ServiceClient, copies: Copies | None = None) -> None:
        self.services = services
        self.copies = copies or Copies(0)

    async def _fetch(self, path: str, model: type[Model], *, cached: bool = False) -> Model | None:
        if cached and (kept := self.copies.get(path)) is not None:
            return kept  # type: ignore[no-any-return]
        answer = await self.services.request("DBS", "GET", path, identity="service")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise Unavailable(
                Text("数据中心暂时无法提供主数据", "Master data (dbs) is not available"),
                code="dependency_unavailable",
            )
        found = model.model_validate(answer.json())
        self.copies.keep(path, found)
        return found

    async def doctor(
        self, doctor_id: int, field: str = "doctor_id", *, allow_disabled: bool = False, cached: bool = False
    ) -> Doctor:
        doctor = await self._fetch(f"/api/dbs/doctors/{doctor_id}", Doctor, cached=cached)
        if doctor is None:
            raise _unusable(field, Text("所选医生不存在", "doctor does not exist"), "reference_missing")
        if not doctor.enabled and not allow_disabled:
            raise _unusable(field, Text("所选医生已停用", "doctor is disabled"), "reference_disabled")
        return doctor

    async def registration_type(
        self, type_id: int, field: str = "registration_type_id", *, cached: bool = False
    ) -> RegistrationType:
        kind = await self._fetch(f"/api/dbs/registration-types/{type_id}", RegistrationType, cached=cached)
        if kind is None:
            raise _unusable(field, Text("所选挂号类型不存在", "registration type does not exist"), "reference_missing")
        if not kind.enabled:
            raise _unusable(field, Text("所选挂号类型已停用", "registration type is disabled"), "reference_disabled")
        return kind

    async def doctors(self) -> list[Doctor]:
        """Every enabled doctor (the demo loader's roster)."""
        found: list[Doctor] = []
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
            found.extend(Doctor.model_validate(d) for d in body["items"])
            if len(found) >= body["total"] or not body["items"]:
                return found
            page += 1


def _unusable(field: str, message: Text, code: str) -> Problem:
    return Invalid(
        Text("引用的主数据不可用", "Referenced master data is not usable"),
        code="bad_reference",
        errors=[field_error(field, message, code)],
    )


async def master_data(request: Request) -> MasterData:
    copies: Copies = request.app.state.master_copies
    return MasterData(request.app.state.services, copies)
