"""A desk clerk's calls through the real gateway of a Stack, and direct looks at what was stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, text

from shared.clock import local_today
from shared.migrations import sync_url
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

HOSPITAL_TZ = "Asia/Shanghai"
# Doctor's hours under which both of today's shifts take registrations whenever a test runs (but
# in the day's last two minutes): the demo's hours (8–12, 14–18) would make tests depend on the clock.
ALL_DAY = {"am_start": "00:00", "am_end": "23:58", "pm_start": "23:58", "pm_end": "23:59"}


def hospital_today() -> date:
    return local_today(HOSPITAL_TZ)


class Desk:
    def __init__(self, stack: Stack, database_urls: dict[str, str]) -> None:
        self.stack = stack
        self.http = httpx2.Client(base_url=stack.url("gateway"), headers=stack.bearer(), timeout=60)
        self.engines = {name: create_engine(sync_url(url)) for name, url in database_urls.items()}

    def close(self) -> None:
        self.http.close()
        for engine in self.engines.values():
            engine.dispose()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        return self.http.request(method, path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def scalar(self, service: str, sql: str, **params: Any) -> Any:
        with self.engines[service].connect() as conn:
            return conn.execute(text(sql), params).scalar()

    # --- steps ------------------------------------------------------------------------------------
    def patient(self, name: str = "张三", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "sex": "male", "birth_date": "1980-05-01", **fields}
        return self.ok("POST", "/api/oms/patients", 201, json=body)

    def doctor(self, code: str) -> dict[str, Any]:
        found = self.ok("GET", "/api/dbs/doctors", params={"q": code})["items"]
        return next(d for d in found if d["code"] == code)

    def set_hours(self, doctor: dict[str, Any], **hours: str) -> dict[str, Any]:
        fields = ("code", "name", "sex", "title", "department_id", "registration_type_id", "phone", "introduction")
        body = {**{k: doctor[k] for k in (*fields, *ALL_DAY)}, **hours}
        return self.ok("PUT", f"/api/dbs/doctors/{doctor['id']}", json=body)

    def schedule(self, doctor_code: str, quota: int, shift: str = "morning", day: date | None = None) -> dict[str, Any]:
        doctor = self.doctor(doctor_code)
        if any(doctor[k] != v for k, v in ALL_DAY.items()):
            self.set_hours(doctor, **ALL_DAY)
        body = {
            "doctor_id": doctor["id"],
            "date": (day or hospital_today()).isoformat(),
            "shift": shift,
            "registration_type_id": doctor["registration_type_id"],
            "quota": quota,
        }
        return self.ok("POST", "/api/dms/schedules", 201, json=body)

    def register(self, patient_id: int, schedule_id: int, method: str | None = "cash", key: str | None = None) -> Any:
        body = {"patient_id": patient_id, "schedule_id": schedule_id, "payment_method": method}
        return self.call("POST", "/api/oms/visits", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def drug(self, code: str) -> dict[str, Any]:
        return next(d for d in self.ok("GET", "/api/dbs/drugs", params={"q": code})["items"] if d["code"] == code)

    def item(self, code: str) -> dict[str, Any]:
        found = self.ok("GET", "/api/dbs/charge-items", params={"q": code})["items"]
        return next(i for i in found if i["code"] == code)

    def pay(self, visit_id: int, order_id: int | None, method: str = "cash", key: str | None = None) -> Any:
        body = {"visit_id": visit_id, "order_id": order_id, "method": method}
        return self.call("POST", "/api/oms/payments", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def a_week_later() -> date:
    return hospital_today() + timedelta(days=7)


@contextmanager
def desk_on(backend: str, directory: Path, *, dms: dict[str, Any] | None = None,
            oms: dict[str, Any] | None = None) -> Iterator[Desk]:  # fmt: skip
    """A desk over dbs (demo data), the gateway, dms and oms on `backend` (pms has a database and is
    started by the tests that need it); `dms`, `oms`: their setting overrides."""
    with fresh_databases(backend, ["oms", "dms", "pms"], directory) as urls, Stack(directory, urls) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("dms", **(dms or {}))
        stack.start("oms", **(oms or {}))
        desk = Desk(stack, urls)
        try:
            yield desk
        finally:
            desk.close()
