"""Stopping a component's background loops (pollers, relays, heartbeats) at shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("hamp.tasks")

# How long a cancelled task gets to end before it is cancelled again.
RECANCEL_SECONDS = 0.5


async def stop_tasks(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels the tasks and waits until every one has ended, cancelling again those that have not.

    One cancel is not always enough. Python 3.11's `asyncio.wait_for` (aiomysql's connect uses it)
    drops a cancellation that lands just as what it awaits completes; the loop then goes on to its
    next sleep, and a shutdown that cancelled and awaited it once waited as long as that sleep
    (tms's feed pollers: 60 s, in every round that failed again: for ever). Cancelling again asks
    for nothing the first cancel did not."""
    started = [task for task in tasks if task is not None]
    pending = set(started)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in started:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error", task.get_name(), exc_info=task.exception())
