"""Fresh, empty databases for several services at once, on SQLite or on the MariaDB under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.servers import require

MYSQL_URL = os.environ.get("HAMP_TEST_MYSQL_URL", "")


def mysql_database(name: str) -> tuple[str, str]:
    """(async URL of database `name`, sync URL of the server) on the MariaDB under test."""
    server = make_url(MYSQL_URL)
    admin = server.set(drivername="mysql+pymysql", database=None)
    return server.set(drivername="mysql+aiomysql", database=name).render_as_string(False), admin.render_as_string(False)


@contextmanager
def fresh_databases(backend: str, services: list[str], directory: Path) -> Iterator[dict[str, str]]:
    """{service: async URL}; MariaDB databases are dropped afterwards."""
    if backend == "sqlite":
        yield {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}" for name in services}
        return
    require(bool(MYSQL_URL), "HAMP_TEST_MYSQL_URL is not set (no MariaDB to test against)")
    names = {service: f"hamp_test_{service}_{uuid.uuid4().hex[:8]}" for service in services}
    engine = create_engine(mysql_database("x")[1])
    try:
        with engine.begin() as conn:
            for name in names.values():
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        yield {service: mysql_database(name)[0] for service, name in names.items()}
    finally:
        with engine.begin() as conn:
            for name in names.values():
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        engine.dispose()
