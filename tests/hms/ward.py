"""An inpatient ward's calls through the real gateway of a Stack (dbs with its demo data, oms, pms,
hms), and direct looks at what each service stored."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.oms.outpatient_desk import Desk
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

# dbs's demo: its two inpatient departments, a doctor, and charge types with their ratios.
MEDICINE_WARD_DEPARTMENT = "NKBQ"  # 内科病区
SURGERY_WARD_DEPARTMENT = "WKBQ"  # 外科病区
SELF_PAY = "自费"  # ratio 0.00
EMPLOYEE_INSURANCE = "城镇职工医保"  # ratio 0.70


class Ward(Desk):
    """A clerk at the admissions desk, a nurse, a cashier: a superadmin token by default. The
    outpatient desk's calls and looks (Desk), and the ward's own below."""

    _codes = itertools.count(1)

    def rows(self, service: str, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engines[service].connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    # --- master data and beds ------------------------------------------------------------------------
    def department(self, code: str) -> dict[str, Any]:
        found = self.ok("GET", "/api/dbs/departments", params={"q": code})["items"]
        return next(d for d in found if d["code"] == code)

    def doctor(self, code: str = "D001") -> dict[str, Any]:
        return super().doctor(code)

    def charge_type(self, name: str = SELF_PAY) -> dict[str, Any]:
        found = self.ok("GET", "/api/dbs/charge-types", params={"q": name})["items"]
        return next(t for t in found if t["name"] == name)

    def new_ward(self, department_code: str = MEDICINE_WARD_DEPARTMENT, beds: int = 3, price: str = "40.00") -> Any:
        """A ward of its own (so tests do not share beds) with `beds` free beds at `price` a day."""
        n = next(self._codes)
        ward = self.ok(
            "POST", "/api/hms/wards", 201,
            json={"code": f"W{n:03d}-{uuid.uuid4().hex[:4]}", "name": f"病区{n}-{uuid.uuid4().hex[:4]}",
                  "department_id": self.department(department_code)["id"]},
        )  # fmt: skip
        ward["bed_list"] = [
            self.ok("POST", "/api/hms/beds", 201, json={"ward_id": ward["id"], "number": str(i), "daily_price": price})
            for i in range(1, beds + 1)
        ]
        return ward

    # --- the stay --------------------------------------------------------------------------------
    def admission(self, bed_id: int, patient_id: int | None = None, **fields: Any) -> dict[str, Any]:
        """The body of 入院登记 for a new patient (or `patient_id`) into `bed_id`."""
        body: dict[str, Any] = {
            "patient_id": patient_id or self.patient()["id"],
            "doctor_id": self.doctor()["id"],
            "bed_id": bed_id,
            "diagnosis": "社区获得性肺炎",
            "charge_type_id": self.charge_type()["id"],
        }
        body.update(fields)
        return body

    def admit(self, bed_id: int, **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/api/hms/stays", 201, json=self.admission(bed_id, **fields))


def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Polls until `condition()` is truthy (an outbox message on its way) and answers it."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


@contextmanager
def ward_on(backend: str, directory: Path, **overrides: dict[str, Any]) -> Iterator[Ward]:
    """dbs (demo data), the gateway, oms, pms and hms on `backend`; `overrides`: settings by component."""
    with fresh_databases(backend, ["oms", "pms", "hms"], directory) as urls, Stack(directory, urls) as stack:
        stack.start("dbs", demo_data=True, **overrides.get("dbs", {}))
        stack.start("gateway", **overrides.get("gateway", {}))
        for name in ("oms", "pms", "hms"):
            stack.start(name, **overrides.get(name, {}))
        ward = Ward(stack, urls)
        try:
            yield ward
        finally:
            ward.close()
