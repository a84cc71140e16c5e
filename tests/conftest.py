"""Fixtures shared by the whole suite: signing keys, database backends, a running platform."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared import components
from tests.support.databases import (
    MYSQL_URL,
    mysql_database,
)
from tests.support.servers import Component, require, running_platform
from tests.support.tokens import SigningKey


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "commits: runs on committed data over emptied tables, not in a rolled-back transaction "
        "(tests/support/service_api.py): several connections, or another engine, must see the writes",
    )


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@dataclass
class DatabaseUnderTest:
    backend: str
    url: str


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    """A fresh, empty database for one module, on SQLite and on MariaDB."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        yield DatabaseUnderTest("sqlite", f"sqlite+aiosqlite:///{path}")
        return
    require(bool(MYSQL_URL), "HAMP_TEST_MYSQL_URL is not set (no MariaDB to test against)")
    name = f"hamp_test_{uuid.uuid4().hex[:10]}"
    url, admin = mysql_database(name)
    engine = create_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield DatabaseUnderTest("mariadb", url)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        engine.dispose()


@dataclass
class Platform:
    gateway_url: str
    registry_url: str
    admin_username: str
    admin_password: str
    components: dict[str, Component]

    @property
    def dbs_url(self) -> str:
        return self.components["dbs"].url


@pytest.fixture(scope="session")
def migrated_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir whose SQLite databases `hamp migrate` brought to head, once per session: a platform
    started on a copy of it finds nothing to migrate, which is most of a component's start (about
    3 of its 5 s on SQLite), and is otherwise as fresh as an empty one (the superadmin, demo data and
    the audit seals are made at start, not by migrations)."""
    var_dir = tmp_path_factory.mktemp("migrated")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")} | {"HAMP_VAR_DIR": str(var_dir)}
    subprocess.run([sys.executable, "-m", "shared.cli", "migrate"], env=env, check=True, capture_output=True)
    return var_dir


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, migrated_var: Path) -> Iterator[Platform]:
    """Every component of this checkout as a real process on a free port (registry, dbs, dms, oms,
    pms, gateway), discovering one another through the registry, on embedded SQLite; the gateway
    serves the console."""
    var_dir = tmp_path_factory.mktemp("platform")
    shutil.copytree(migrated_var, var_dir, dirs_exist_ok=True)
    password = f"Pw-{uuid.uuid4().hex[:12]}"
    names = components.available()
    # Each also writes var/logs/<component>.log, as under `hamp up`, for 日志查询 to read
    # (tests/e2e/test_console_system.py); stdout, the .out shown when a start fails, keeps them too.
    to_file = {f"HAMP_{name.upper()}_LOG_TO_FILE": "true" for name in names}
    with running_platform(var_dir, names, password, **to_file) as running:
        yield Platform(running["gateway"].url, running["registry"].url, "admin", password, running)
