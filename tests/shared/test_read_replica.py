"""The read/write split against a real MariaDB primary and read replica (shared/db.py).

The dbs app runs in process with `database_url` = the primary and `database_replica_urls` = [the
replica]; its migrations run on the primary and reach the replica by replication. Where a request
was served is proved by what only one side holds: a row written into the replica's copy alone, or
a row the replica has received but not yet applied.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import dbs.main
import shared.db
from dbs.db import metadata
from dbs.settings import DbsSettings
from tests.support.replica import ReplicaDatabase, ReplicaPair, replica_database, replica_pair  # noqa: F401
from tests.support.tokens import SigningKey

pytestmark = pytest.mark.mariadb

DEPARTMENTS = metadata.tables["departments"]
AUDIT = metadata.tables["audit_log"]


class App:
    """The dbs app over the pair, called as the superadmin; paths relative to /api/dbs."""

    def __init__(self, client: TestClient, token: str, database: ReplicaDatabase) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.database = database
        self.pair: ReplicaPair = database.pair

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, f"/api/dbs/{path}", headers=self.headers, **kwargs)

    def create_department(self, tag: str) -> dict[str, Any]:
        answer = self.call("POST", "departments", json=department(tag))
        assert answer.status_code == 201, answer.text
        return answer.json()

    def listed_codes(self) -> set[str]:
        answer = self.call("GET", "departments", params={"size": 100})
        assert answer.status_code == 200, answer.text
        return {item["code"] for item in answer.json()["items"]}

    def codes_on_primary(self) -> set[str]:
        with self.pair.primary_engine(self.database.name).connect() as conn:
            return set(conn.scalars(select(DEPARTMENTS.c.code)))

    def codes_on_replica(self) -> set[str]:
        with self.pair.replica_engine(self.database.name).connect() as conn:
            return set(conn.scalars(select(DEPARTMENTS.c.code)))

    def write_replica_only(self, source_id: int, code: str) -> int:
        """A copy of department `source_id` under a new id and code, written into the replica's copy
        alone (as root, whom read_only does not bind; the replica logs nothing, so the primary never
        hears of it). Returns its id."""
        engine = self.pair.replica_root_engine(self.database.name)
        try:
            with engine.begin() as conn:
                row = dict(conn.execute(select(DEPARTMENTS).where(DEPARTMENTS.c.id == source_id)).mappings().one())
                row.update(id=900_000 + source_id, code=code, name=f"只在从库{code}")
                conn.execute(DEPARTMENTS.insert().values(**row))
        finally:
            engine.dispose()
        return row["id"]

    def remove_replica_only(self, record_id: int) -> None:
        engine = self.pair.replica_root_engine(self.database.name)
        try:
            with engine.begin() as conn:
                conn.execute(DEPARTMENTS.delete().where(DEPARTMENTS.c.id == record_id))
        finally:
            engine.dispose()


WRITES = ["create", "update", "disable", "enable", "delete"]


def audited(record_id: int) -> Any:
    """The audit actions on one department, oldest first."""
    where = (AUDIT.c.entity == "department") & (AUDIT.c.entity_id == str(record_id))
    return select(AUDIT.c.action).where(where).order_by(AUDIT.c.id)


def department(tag: str) -> dict[str, Any]:
    return {"code": f"R{tag.upper()}", "name": f"内科{tag}", "kind": "outpatient", "location": "门诊楼二层"}


def new_tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def app(
    replica_database: ReplicaDatabase,  # noqa: F811  (the fixture imported above)
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[App]:
    settings = DbsSettings(
        var_dir=tmp_path_factory.mktemp("dbs-replica"),
        database_url=replica_database.url,
        database_replica_urls=[replica_database.replica_url],
        registry_urls="",
        jwks=signing_key.jwks_json,
        check_revocations=False,
        log_to_file=False,
        log_level="WARNING",
    )
    with TestClient(dbs.main.create_app(settings), raise_server_exceptions=False) as client:
        # The migrations ran on the primary; the replica has its tables once it has caught up.
        replica_database.pair.wait_caught_up()
        yield App(client, signing_key.token(["*"], user_id=1, username="tester"), replica_database)


def test_the_schema_reaches_the_replica_by_replication(app: App) -> None:
    version = "SELECT version_num FROM alembic_version_dbs"
    on_primary = app.pair.primary_sql(version, app.database.name)
    assert on_primary
    assert app.pair.replica_sql(version, app.database.name) == on_primary
    assert app.codes_on_replica() == set()


def test_a_get_reads_the_replica(app: App) -> None:
    tag = new_tag()
    created = app.create_department(tag)
    app.pair.wait_caught_up()
    assert created["code"] in app.listed_codes()

    # A row only the replica's copy holds is listed and found: the GET read the replica.
    only_code = f"REPLICA{tag.upper()}"
    only_id = app.write_replica_only(created["id"], only_code)
    try:
        assert only_code not in app.codes_on_primary()
        assert only_code in app.listed_codes()
        answer = app.call("GET", f"departments/{only_id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["code"] == only_code
    finally:
        app.remove_replica_only(only_id)


def test_a_get_does_not_see_what_the_replica_has_not_applied(app: App) -> None:
    app.pair.stop_applying()
    try:
        created = app.create_department(new_tag())
        assert created["code"] in app.codes_on_primary()
        # Committed on the primary, not yet applied on the replica: the read answers from the replica.
        assert created["code"] not in app.listed_codes()
        assert app.call("GET", f"departments/{created['id']}").status_code == 404
    finally:
        app.pair.resume_applying()
    app.pair.wait_caught_up()
    assert created["code"] in app.listed_codes()
    assert app.call("GET", f"departments/{created['id']}").status_code == 200


def test_writes_go_to_the_primary(app: App) -> None:
    # The replica refuses writes from `hamp`, the account the app uses on both servers.
    with pytest.raises(OperationalError, match="read-only"):
        app.pair.replica_sql("UPDATE departments SET location = location", app.database.name)

    # With the replica applying nothing, every write route succeeds and its change and audit rows
    # are on the primary and absent from the replica: none of them was sent to the replica.
    app.pair.stop_applying()
    try:
        tag = new_tag()
        created = app.create_department(tag)
        record_id = created["id"]
        changed = app.call("PUT", f"departments/{record_id}", json={**department(tag), "location": "住院楼"})
        assert changed.status_code == 200, changed.text
        assert app.call("POST", f"departments/{record_id}/disable").status_code == 200
        assert app.call("POST", f"departments/{record_id}/enable").status_code == 200
        assert created["code"] in app.codes_on_primary()
        assert created["code"] not in app.codes_on_replica()
        assert app.call("DELETE", f"departments/{record_id}").status_code == 204
        assert created["code"] not in app.codes_on_primary()
        with app.pair.primary_engine(app.database.name).connect() as conn:
            assert list(conn.scalars(audited(record_id))) == WRITES
        with app.pair.replica_engine(app.database.name).connect() as conn:
            assert list(conn.scalars(audited(record_id))) == []
    finally:
        app.pair.resume_applying()
    app.pair.wait_caught_up()
    with app.pair.replica_engine(app.database.name).connect() as conn:
        assert list(conn.scalars(audited(record_id))) == WRITES


def test_reads_fall_back_to_the_primary_while_the_replica_is_down(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    # shared.db reads it when a replica fails: a refused replica is skipped for 4 s instead of 10 s.
    window = 4.0
    monkeypatch.setattr(shared.db, "REPLICA_RETRY_SECONDS", window)
    tag = new_tag()
    before = app.create_department(tag)
    app.pair.wait_caught_up()
    marker = f"REPLICA{tag.upper()}"
    marker_id = app.write_replica_only(before["id"], marker)
    try:
        assert marker in app.listed_codes()  # reading the replica

        app.pair.stop_replica()
        try:
            # Reads still answer, from the primary: the replica-only marker is gone, the rest is there.
            refused_at = time.monotonic()
            listed = app.listed_codes()
            assert before["code"] in listed
            assert marker not in listed
            # Writes never needed the replica; what they write is read back from the primary.
            during = app.create_department(new_tag())
            assert during["code"] in app.listed_codes()
            assert app.call("GET", f"departments/{during['id']}").status_code == 200
        finally:
            app.pair.start_replica()
        app.pair.wait_caught_up()  # the replica applies what was written while it was down
        assert during["code"] in app.codes_on_replica()

        if time.monotonic() < refused_at + window - 1:
            assert marker not in app.listed_codes()  # within the window the replica is not asked
        time.sleep(max(0.0, refused_at + window + 0.2 - time.monotonic()))
        # After the window, reads go to the replica again: its marker is back.
        listed = app.listed_codes()
        assert marker in listed
        assert during["code"] in listed
    finally:
        app.remove_replica_only(marker_id)
