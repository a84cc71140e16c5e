"""The oms app under test, in process, on SQLite and on MariaDB, with a superadmin token by default.

A test module changes the app's settings by overriding the `oms_overrides` fixture (for
instance `service_urls` pointing at fake dbs and dms apps); everything else is pinned so the
app keeps its own state: no registry, no Redis, no log file, tokens checked against the
test signing key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

import oms.main
from oms.db import metadata
from oms.settings import OmsSettings
from shared import fieldcrypt
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.service_api import DEFAULT, ServiceApi
from tests.support.tokens import SigningKey

SUPERADMIN = DEFAULT  # the default caller: a token holding "*"

# Pinned over any HAMP_* environment (as tests/security/conftest.py ISOLATED).
ISOLATED: dict[str, Any] = {
    "registry_urls": "",
    "redis_url": "",
    "redis_sentinels": "",
    "log_to_file": False,
    "log_level": "WARNING",
}


class OmsApi(ServiceApi):
    """Calls the oms app in process (a superadmin token by default); paths relative to /api/oms."""

    def __init__(
        self, client: TestClient, signing_key: SigningKey, engine: Engine, database: DatabaseUnderTest
    ) -> None:
        self.superadmin_token = signing_key.token(["*"], user_id=1, username="tester")
        super().__init__(client, signing_key, engine, database.backend, "oms", metadata, self.superadmin_token)
        self.database_url = database.url


@pytest.fixture(scope="module")
def oms_overrides() -> dict[str, Any]:
    """Settings a test module sets on the app; override this fixture in the module."""
    return {}


@pytest.fixture(scope="module")
def oms_settings(
    database: DatabaseUnderTest,
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
    oms_overrides: dict[str, Any],
) -> OmsSettings:
    var_dir: Path = tmp_path_factory.mktemp("oms")
    return OmsSettings(
        **{
            **ISOLATED,
            "var_dir": var_dir,
            "database_url": database.url,
            "jwks": signing_key.jwks_json,
            "check_revocations": False,
            **oms_overrides,
        }
    )


@pytest.fixture(scope="module")
def oms_api_module(oms_settings: OmsSettings, database: DatabaseUnderTest, signing_key: SigningKey) -> Iterator[OmsApi]:
    engine = create_engine(sync_url(database.url))
    # The tests read the tables with the app's field keys (personal data is encrypted at rest).
    fieldcrypt.attach_settings(engine, oms_settings)
    try:
        with TestClient(oms.main.create_app(oms_settings), raise_server_exceptions=False) as client:
            yield OmsApi(client, signing_key, engine, database)
    finally:
        engine.dispose()


@pytest.fixture
def oms_api(oms_api_module: OmsApi) -> Iterator[OmsApi]:
    """The module's app over an empty database (every oms table, audit_log included, emptied first)."""
    # Wiped, not isolated (tests/support/service_api.py): the outbox relay's passes would share the
    # test's one connection with the requests, and the desk tests race several writers.
    oms_api_module.wipe()
    yield oms_api_module
