"""dms as a real server next to a real dbs (demo data) and gateway, one stack per database.

dms is under test on SQLite and MariaDB (the `database` fixture); dbs, only a source of
doctors here, keeps its own SQLite file. Tests call dms directly, with minted tokens.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, create_engine, func, select

from dms.calendar import monday_of
from dms.db import metadata
from shared.clock import local_today
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.stack import Stack

EVERYTHING = ("*",)


class Dms:
    """Calls dms over HTTP; `perms=` picks the caller's permissions (None: no token)."""

    def __init__(self, stack: Stack, engine: Engine, backend: str) -> None:
        self.stack = stack
        self.url = stack.url("dms")
        self.engine = engine
        self.backend = backend
        self.client = httpx2.Client(base_url=self.url, timeout=30)
        self._days = itertools.count(3)
        self._weeks = itertools.count(10, 3)  # three weeks apart: a test may use the next two

    @property
    def today(self) -> dt.date:
        """Read when used: the fixture lives for a whole module, which may run past midnight."""
        return local_today("Asia/Shanghai")

    @cache  # noqa: B019  (one token per permission set; minting loads a PEM)
    def headers(self, perms: tuple[str, ...] | None = EVERYTHING) -> dict[str, str]:
        return {} if perms is None else self.stack.bearer(list(perms))

    def request(
        self, method: str, path: str, perms: tuple[str, ...] | None = EVERYTHING, headers: Any = None, **kwargs: Any
    ) -> Any:
        headers = {**self.headers(perms), **(headers or {})}
        return self.client.request(method, f"/api/dms/{path.lstrip('/')}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    # --- fresh dates, so tests sharing one database never collide ---------------------------
    def fresh_day(self) -> dt.date:
        return self.today + dt.timedelta(days=next(self._days))

    def fresh_monday(self) -> dt.date:
        return monday_of(self.today) + dt.timedelta(weeks=next(self._weeks))

    def schedule(self, doctor_id: int = 1, day: dt.date | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "doctor_id": doctor_id,
            "date": str(day or self.fresh_day()),
            "shift": "morning",
            "registration_type_id": 1,
            "quota": 10,
            **fields,
        }
        answer = self.post("schedules", body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def book(self, schedule_id: int, key: str, **fields: Any) -> Any:
        return self.post("bookings", {"schedule_id": schedule_id, **fields}, headers={"Idempotency-Key": key})

    # --- the database, read directly ----------------------------------------------------------
    def count(self, table: str, **where: Any) -> int:
        t = metadata.tables[table]
        query = select(func.count()).select_from(t).where(*(t.c[k] == v for k, v in where.items()))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def audit_rows(self, after_id: int = 0) -> list[dict[str, Any]]:
        audit = metadata.tables["audit_log"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).where(audit.c.id > after_id).order_by(audit.c.id)).mappings().all()
        out = []
        for row in rows:
            entry = dict(row)
            for side in ("before", "after"):
                entry[side] = json.loads(row[side]) if row[side] is not None else None
            out.append(entry)
        return out

    def last_audit_id(self) -> int:
        rows = self.audit_rows()
        return rows[-1]["id"] if rows else 0


@pytest.fixture(scope="module")
def stack(database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("dms-stack")
    urls = {"dms": database.url, "dbs": f"sqlite+aiosqlite:///{var_dir / 'dbs.db'}"}
    with Stack(var_dir, urls) as running:
        running.start("dbs", demo_data=True)
        running.start("gateway")
        running.start("dms", database_pool_size=25)
        yield running


@pytest.fixture(scope="module")
def dms(stack: Stack, database: DatabaseUnderTest) -> Iterator[Dms]:
    engine = create_engine(sync_url(database.url))
    api = Dms(stack, engine, database.backend)
    try:
        yield api
    finally:
        api.client.close()
        engine.dispose()
