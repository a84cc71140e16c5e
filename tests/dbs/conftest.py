"""The dbs app under test, on SQLite and on MariaDB, with a superadmin token by default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

import dbs.main
from dbs.db import metadata
from dbs.settings import DbsSettings
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.tokens import SigningKey

SUPERADMIN = object()  # the default: a token holding "*"


class Api:
    """Calls the dbs app in-process; `token=` picks the caller (SUPERADMIN, None for no token, or a JWT)."""

    def __init__(
        self, client: TestClient, signing_key: SigningKey, engine: Engine, database: DatabaseUnderTest
    ) -> None:
        self.client = client
        self.signing_key = signing_key
        self.engine = engine
        self.backend = database.backend
        self.database_url = database.url
        self.superadmin_token = signing_key.token(["*"], user_id=1, username="tester")

    # --- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, token: Any = SUPERADMIN, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is SUPERADMIN:
            token = self.superadmin_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, f"/api/dbs/{path.lstrip('/')}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def token(self, *permissions: str, username: str = "limited") -> str:
        return self.signing_key.token(list(permissions), user_id=2, username=username)

    def create(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST that must succeed; the record as answered."""
        answer = self.post(path, payload)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    # --- the database, read directly ---------------------------------------------------------
    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()

    def audit_rows(self) -> list[dict[str, Any]]:
        audit = metadata.tables["audit_log"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit).order_by(audit.c.id)).mappings().all()
        out = []
        for row in rows:
            entry = dict(row)
            entry["before"] = json.loads(row["before"]) if row["before"] is not None else None
            entry["after"] = json.loads(row["after"]) if row["after"] is not None else None
            out.append(entry)
        return out

    def wipe(self) -> None:
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="module")
def dbs_settings(
    database: DatabaseUnderTest, signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> DbsSettings:
    var_dir: Path = tmp_path_factory.mktemp("dbs")
    return DbsSettings(
        var_dir=var_dir,
        database_url=database.url,
        registry_urls="",
        jwks=signing_key.jwks_json,
        log_to_file=False,
        log_level="WARNING",
    )


@pytest.fixture(scope="module")
def api_module(dbs_settings: DbsSettings, database: DatabaseUnderTest, signing_key: SigningKey) -> Iterator[Api]:
    engine = create_engine(sync_url(database.url))
    try:
        with TestClient(dbs.main.create_app(dbs_settings), raise_server_exceptions=False) as client:
            yield Api(client, signing_key, engine, database)
    finally:
        engine.dispose()


@pytest.fixture
def api(api_module: Api) -> Iterator[Api]:
    """The module's app over an empty database (every dbs table, audit_log included, emptied before a test)."""
    api_module.wipe()
    yield api_module
