"""The relay's back-off, driven by its clock: a refused message waits 2, 4, 8 … at most 60 s, and is
not sent before its time. Straight against a Database, on SQLite and MariaDB; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select

from shared.db import Database
from shared.errors import Unavailable
from shared.outbox import DELIVERED, MAX_BACKOFF_SECONDS, PENDING, OutboxRelay, backoff_seconds, enqueue, outbox_table
from tests.support.clock import FakeClock
from tests.support.tables import database_fixtures

pytestmark = pytest.mark.anyio

metadata = MetaData()
outbox = outbox_table(metadata)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


tables, db = database_fixtures(metadata)


class Receiver:
    """Down until `up` is set; counts the calls."""

    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    async def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
        self.calls += 1
        if not self.up:
            raise Unavailable("oms is not running")
        return httpx.Response(200, json={})


async def _message(db: Database) -> dict[str, Any]:
    async with db.transaction() as session:
        return dict((await session.execute(select(outbox))).mappings().one())


def test_the_back_off_doubles_up_to_a_minute() -> None:
    assert [backoff_seconds(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_seconds(1000) == MAX_BACKOFF_SECONDS


async def test_a_message_is_retried_when_its_back_off_has_passed_and_not_before(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, outbox, destination="oms", path="/api/oms/x", body={"n": 1}, key="k1")
    clock = FakeClock()  # from now on, time moves only when the test says
    receiver = Receiver()
    relay = OutboxRelay(db, outbox, receiver, clock=clock.now)  # type: ignore[arg-type]  # a stand-in client

    assert await relay.deliver_due() == 0
    for attempts, wait in [(1, 2), (2, 4), (3, 8)]:
        message = await _message(db)
        assert (message["status"], message["attempts"], receiver.calls) == (PENDING, attempts, attempts)
        assert message["next_attempt_at"] == clock.now() + timedelta(seconds=wait)
        clock.advance(wait - 0.5)
        await relay.deliver_due()
        assert receiver.calls == attempts  # not due yet: not sent
        clock.advance(0.5)
        await relay.deliver_due()

    receiver.up = True
    clock.advance(16)
    assert await relay.deliver_due() == 1
    message = await _message(db)
    assert (message["status"], message["attempts"], message["delivered_at"]) == (DELIVERED, 5, clock.now())
    clock.advance(3600)
    assert await relay.deliver_due() == 0  # delivered is delivered
    assert receiver.calls == 5
