"""tms stops even when a feed poller lets a cancellation go by. Python 3.11's `asyncio.wait_for`,
which aiomysql's connect uses, drops a cancel that lands as what it awaits completes; the poller then
slept its 60 s and tried again, and a shutdown that had cancelled it once waited for ever (CI: three
tms replicas on MariaDB, stopped while their pollers opened connections)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import tms.ingest.poller
from tms.main import create_app
from tms.settings import TmsSettings


def test_stops_although_a_poller_let_the_cancel_go_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = TmsSettings(var_dir=tmp_path, registry_urls="", log_to_file=False, feed_poll_seconds=60)
    gates: list[asyncio.Future[int]] = []
    all_polling = asyncio.Event()

    async def poll_once(*_: Any) -> int:
        # What aiomysql's connect does: the awaited thing completes in the same moment the task is cancelled.
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        gates.append(gate)
        if len(gates) == len(settings.feed_sources):
            all_polling.set()
        return await asyncio.wait_for(gate, timeout=30)

    monkeypatch.setattr(tms.ingest.poller, "poll_once", poll_once)

    async def start_and_stop() -> None:
        app = create_app(settings)
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        await all_polling.wait()
        for gate in gates:
            gate.set_result(0)
        # The shutdown cancels the pollers before they see their answers.
        stopping = asyncio.ensure_future(context.__aexit__(None, None, None))
        done, _ = await asyncio.wait({stopping}, timeout=10)
        assert done, "tms did not stop: a feed poller kept running"

    asyncio.run(start_and_stop())
