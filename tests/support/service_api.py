"""A service app under test, in process: HTTP calls with minted tokens, and its tables read directly.

Each test runs either `isolated()` — inside one transaction of the app's own database, its
sessions as SAVEPOINTs, rolled back at the end — or after `wipe()`, for tests that need real
commits (several connections racing, another process or engine reading what the app wrote).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, MetaData, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import fieldcrypt
from tests.support.tokens import SigningKey

DEFAULT = object()  # the caller a subclass chooses when a call names none
T = TypeVar("T")

# A test or module marked so runs after wipe() on committed data, not in a rolled-back transaction.
COMMITS = "commits"


class ServiceApi:
    """Paths are relative to /api/<service> (`api.get("patients")`); `token=` picks the caller:
    DEFAULT (the subclass's `default_token`), None for no token, or a JWT."""

    def __init__(
        self,
        client: TestClient,
        signing_key: SigningKey,
        engine: Engine,
        backend: str,
        service: str,
        metadata: MetaData,
        default_token: str,
    ) -> None:
        self.client = client
        self.signing_key = signing_key
        self.engine = engine
        self.backend = backend
        self.service = service
        self.metadata = metadata
        self.default_token = default_token
        self._pinned: AsyncConnection | None = None

    # --- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, token: Any = DEFAULT, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is DEFAULT:
            token = self.default_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, f"/api/{self.service}/{path.lstrip('/')}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def token(self, *permissions: str, username: str = "limited", user_id: int = 2, **claims: Any) -> str:
        """A JWT holding just these permissions (extra claims, e.g. `dept`, passed through)."""
        return self.signing_key.token(list(permissions), user_id=user_id, username=username, **claims)

    def create(self, path: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST that must answer 201; the record as answered."""
        answer = self.post(path, payload, **kwargs)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    # --- each test's database -----------------------------------------------------------------
    @contextmanager
    def isolated(self) -> Iterator[None]:
        """The block's writes, the app's and the direct reads here, share one transaction of the
        app's database that is rolled back at the end (shared.db.Database.pinned)."""
        portal = self.client.portal
        assert portal is not None, "the TestClient must be entered (with TestClient(app) as client)"
        with portal.wrap_async_context_manager(self.client.app.state.db.pinned()) as conn:
            self._pinned = conn
            try:
                yield
            finally:
                self._pinned = None

    def fresh(self, request: pytest.FixtureRequest) -> Iterator[ServiceApi]:
        """The body of a per-test fixture: isolated, or wiped first when the test is marked `commits`."""
        if request.node.get_closest_marker(COMMITS):
            self.wipe()
            yield self
            return
        with self.isolated():
            yield self

    def _read(self, query: Callable[[Connection], T]) -> T:
        """`query` on the test's transaction when isolated (nothing is committed for another
        connection to see), else on a connection of its own."""
        if self._pinned is not None:
            assert self.client.portal is not None
            return self.client.portal.call(self._pinned.run_sync, query)
        with self.engine.connect() as conn:
            return query(conn)

    # --- the database, read directly ---------------------------------------------------------
    def count(self, table: str) -> int:
        query = select(func.count()).select_from(self.metadata.tables[table])
        return self._read(lambda conn: conn.execute(query).scalar_one())

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Encrypted columns decrypted, when the engine has the app's field keys (fieldcrypt.attach)."""
        selected = self.metadata.tables[table]
        query = select(selected).order_by(*selected.primary_key)
        return self._read(lambda conn: [dict(r) for r in conn.execute(query).mappings()])

    def audit_rows(self) -> list[dict[str, Any]]:
        out = []
        for row in self.rows("audit_log"):
            for side in ("before", "after"):
                row[side] = json.loads(row[side]) if row[side] is not None else None
                if row[side] is not None:  # personal values sealed in the row, opened with the app's keys
                    row[side] = fieldcrypt.open_values(lambda: fieldcrypt.keyring_of(self.engine), row[side])
            out.append(row)
        return out

    def raw_rows(self, table: str) -> list[dict[str, Any]]:
        """What the database itself holds, ciphertext as stored."""
        return self._read(lambda conn: [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table}").mappings()])

    def wipe(self) -> None:
        """Empties every table of the service the database has (the models may run ahead of the migrations)."""
        existing = set(inspect(self.engine).get_table_names())
        # A table that refers to itself (a reversing order to the one it reverses) cannot be
        # emptied row by row in any order MySQL accepts: its key checks are off for the wipe.
        mysql = self.engine.dialect.name == "mysql"
        with self.engine.begin() as conn:
            if mysql:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            try:
                for table in reversed(self.metadata.sorted_tables):
                    if table.name in existing:
                        conn.execute(table.delete())
            finally:
                if mysql:
                    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
