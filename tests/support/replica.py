"""A real MariaDB primary with a read replica for tests, started by `.ci/mariadb.sh start-pair`.

`replica_pair` (module) starts a pair of its own in a temp dir on free loopback ports and stops it
afterwards: a primary with a binary log and a replica applying it by GTID, `read_only`, where `hamp`
holds no privilege that bypasses `read_only`. Without the MariaDB binaries it skips, except under
CI=true, where it fails. `replica_database` (module) is a fresh database, created on the primary and
waited for on the replica.

Root on either server is reached over its unix socket, as `.ci/mariadb.sh` itself does (the socket
authentication maps the OS user root to the database user root).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from tests.support.servers import ROOT, free_port, require

SCRIPT = ROOT / ".ci" / "mariadb.sh"
PROGRAMS = ("mariadbd", "mariadb-install-db", "mariadb")


def _script(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f".ci/mariadb.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _sync(url: str, database: str | None = None) -> str:
    """The PyMySQL URL of an aiomysql server URL, optionally of one database on it."""
    parsed = make_url(url).set(drivername="mysql+pymysql", database=database)
    return parsed.update_query_dict({"charset": "utf8mb4"}).render_as_string(hide_password=False)


@dataclass
class ReplicaPair:
    """The servers' URLs (mysql+aiomysql, no database) and the directory .ci/mariadb.sh keeps them in."""

    directory: Path
    primary_url: str
    replica_url: str

    # --- the replica's life ------------------------------------------------------------------
    def stop_replica(self) -> None:
        """Stops the replica's server (it refuses connections until `start_replica`)."""
        _script("stop-replica", str(self.directory))

    def start_replica(self) -> None:
        """Starts the replica's server again; returns once both replication threads run."""
        _script("start-replica", str(self.directory))

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the replica has applied everything the primary has logged so far."""
        position = self.primary_sql("SELECT @@gtid_binlog_pos")[0][0]
        waited = self.replica_sql("SELECT MASTER_GTID_WAIT(:pos, :timeout)", pos=position, timeout=timeout)[0][0]
        if waited != 0:
            status = self.replica_root_sql("SHOW SLAVE STATUS")
            raise TimeoutError(f"the replica did not reach {position} within {timeout} s: {status}")

    def stop_applying(self) -> None:
        """The replica keeps receiving the primary's log but applies none of it (STOP SLAVE SQL_THREAD)."""
        self.replica_root_sql("STOP SLAVE SQL_THREAD")

    def resume_applying(self) -> None:
        self.replica_root_sql("START SLAVE SQL_THREAD")

    # --- SQL, synchronously --------------------------------------------------------------------
    def primary_engine(self, database: str | None = None) -> Engine:
        """`hamp` on the primary."""
        return create_engine(_sync(self.primary_url, database), poolclass=NullPool)

    def replica_engine(self, database: str | None = None) -> Engine:
        """`hamp` on the replica (read_only for it)."""
        return create_engine(_sync(self.replica_url, database), poolclass=NullPool)

    def replica_root_engine(self, database: str | None = None) -> Engine:
        """root on the replica, over its socket: may write the replica's own copy (read_only does not bind it)."""
        socket = self.directory / "replica" / "mysqld.sock"
        url = make_url("mysql+pymysql://root@localhost/").set(
            database=database, query={"unix_socket": str(socket), "charset": "utf8mb4"}
        )
        return create_engine(url, poolclass=NullPool)

    def primary_sql(self, sql: str, database: str | None = None, **params: Any) -> list[Any]:
        return _run(self.primary_engine(database), sql, params)

    def replica_sql(self, sql: str, database: str | None = None, **params: Any) -> list[Any]:
        return _run(self.replica_engine(database), sql, params)

    def replica_root_sql(self, sql: str, database: str | None = None, **params: Any) -> list[Any]:
        return _run(self.replica_root_engine(database), sql, params)


def _run(engine: Engine, sql: str, params: dict[str, Any]) -> list[Any]:
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


@dataclass
class ReplicaDatabase:
    """One database on the pair: `url` on the primary, `replica_url` on the replica (mysql+aiomysql)."""

    pair: ReplicaPair
    name: str
    url: str
    replica_url: str


@pytest.fixture(scope="module")
def replica_pair() -> Iterator[ReplicaPair]:
    """A MariaDB primary and its read replica of this module's own, on free loopback ports."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    require(not missing, f"{', '.join(missing)} not installed (apt-get install mariadb-server mariadb-client)")
    # A short path: a unix socket's path has a ~100 character limit.
    directory = Path(tempfile.mkdtemp(prefix="hamp-pair-"))
    primary_port = free_port()
    replica_port = free_port()
    while replica_port == primary_port:
        replica_port = free_port()
    try:
        out = _script("start-pair", str(directory), str(primary_port), str(replica_port))
        primary_url, replica_url = out.strip().splitlines()[-2:]
        yield ReplicaPair(directory, primary_url, replica_url)
    finally:
        subprocess.run([str(SCRIPT), "stop-pair", str(directory)], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_database(replica_pair: ReplicaPair) -> Iterator[ReplicaDatabase]:
    """A fresh, empty database for one module: created on the primary, present on the replica."""
    name = f"hamp_test_{uuid.uuid4().hex[:10]}"
    replica_pair.primary_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    replica_pair.wait_caught_up()
    deadline = time.monotonic() + 10
    while not replica_pair.replica_sql("SHOW DATABASES LIKE :name", name=name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"database {name} did not reach the replica")
        time.sleep(0.1)
    primary = make_url(replica_pair.primary_url).set(database=name).render_as_string(hide_password=False)
    replica = make_url(replica_pair.replica_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield ReplicaDatabase(replica_pair, name, primary, replica)
    finally:
        try:
            replica_pair.primary_sql(f"DROP DATABASE IF EXISTS `{name}`")
        except Exception:  # the pair is stopped right after; a failed drop must not hide the test's outcome
            pass
