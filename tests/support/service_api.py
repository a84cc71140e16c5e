"""A service app under test, in process: HTTP calls with minted tokens, and its tables read directly."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, func, inspect, select

from shared import fieldcrypt
from tests.support.tokens import SigningKey

DEFAULT = object()  # the caller a subclass chooses when a call names none


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

    # --- the database, read directly ---------------------------------------------------------
    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(self.metadata.tables[table])).scalar_one()

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Encrypted columns decrypted, when the engine has the app's field keys (fieldcrypt.attach)."""
        selected = self.metadata.tables[table]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(selected).order_by(*selected.primary_key)).mappings()]

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
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table}").mappings()]

    def wipe(self) -> None:
        """Empties every table of the service the database has (the models may run ahead of the migrations)."""
        existing = set(inspect(self.engine).get_table_names())
        with self.engine.begin() as conn:
            for table in reversed(self.metadata.sorted_tables):
                if table.name in existing:
                    conn.execute(table.delete())
