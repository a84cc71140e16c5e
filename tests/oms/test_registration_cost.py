"""What one registration costs (issue 10): the HTTP hops behind the gateway and the SQL statements
oms runs, on the real desk stack (SQLite), for a registration paid in cash once master data is warm.

Budget: gateway -> oms -> dms (dms -> dbs only when its copy of master data has expired), so at
most 3 hops counting the gateway's; at most 20 statements in oms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from shared.service_client import ServiceClient
from tests.oms.outpatient_desk import Desk, desk_on

MAX_STATEMENTS = 20
MAX_HOPS = 3  # the gateway's to oms, and at most two between services


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on("sqlite", Path(tmp_path_factory.mktemp("registration-cost"))) as desk:
        yield desk


class Recorder:
    """Statements run on one database, and the calls services make to each other, in this process."""

    def __init__(self, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.database = database
        self.statements: list[str] = []
        self.calls: list[str] = []
        self.on = False
        original = ServiceClient._request

        async def counted(client: ServiceClient, app: str, method: str, path: str, *args: Any) -> Any:
            if self.on:
                self.calls.append(f"{app} {method} {path}")
            return await original(client, app, method, path, *args)

        monkeypatch.setattr(ServiceClient, "_request", counted)
        event.listen(Engine, "before_cursor_execute", self._statement)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on and conn.engine.url.database == self.database:
            self.statements.append(statement.split("\n")[0][:120])

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)


@pytest.fixture
def recorder(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder(make_url(desk.stack.database_urls["oms"]).database or "", monkeypatch)
    try:
        yield recorder
    finally:
        recorder.close()


def test_a_registration_paid_in_cash_stays_within_its_budget(desk: Desk, recorder: Recorder) -> None:
    schedule = desk.schedule("D001", quota=10)
    # The first registration warms what a running desk has warm (service tokens, master data).
    assert desk.register(desk.patient("预热")["id"], schedule["id"]).status_code == 201
    patient = desk.patient("计数")

    recorder.on = True
    answer = desk.register(patient["id"], schedule["id"])
    recorder.on = False

    assert answer.status_code == 201, answer.text
    assert answer.json()["fee_paid"] is True
    hops = 1 + len(recorder.calls)
    assert hops <= MAX_HOPS, recorder.calls
    assert len(recorder.statements) <= MAX_STATEMENTS, "\n".join(recorder.statements)
