"""The dbs app under test, on SQLite and on MariaDB, with a superadmin token by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

import dbs.main
from dbs.db import metadata
from dbs.settings import DbsSettings
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.service_api import DEFAULT, ServiceApi
from tests.support.tokens import SigningKey

SUPERADMIN = DEFAULT  # the default: a token holding "*"


class Api(ServiceApi):
    """Calls the dbs app in process (a superadmin token by default); paths relative to /api/dbs."""

    def __init__(
        self, client: TestClient, signing_key: SigningKey, engine: Engine, database: DatabaseUnderTest
    ) -> None:
        self.superadmin_token = signing_key.token(["*"], user_id=1, username="tester")
        super().__init__(client, signing_key, engine, database.backend, "dbs", metadata, self.superadmin_token)
        self.database_url = database.url


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
        # Alone with minted tokens: no gateway to hold revocations (tested in tests/security).
        check_revocations=False,
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
def api(api_module: Api, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The module's app over an empty database: each test in a transaction rolled back afterwards,
    or over emptied tables when marked `commits`."""
    yield from api_module.fresh(request)  # type: ignore[misc]  # fresh() yields the Api it is called on
