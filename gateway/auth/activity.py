"""When a session was last used, for the idle timeout (session_idle_minutes).

"Use" is a request the user made with the session's access token: any authenticated call except
those the console sends by itself (a waiting-room list read every 30 s), which carry
`X-Background: 1`. Refreshing is not use either: the console renews tokens on its own.

The gateway notes use in `sessions.last_used_at` after answering, at most once a minute per
session and process (so an active user costs a write a minute, not one per request): the idle
time is measured to within a minute. A session already idle is not revived by a late request;
it is ended when its refresh token is next presented (gateway/auth/service.py).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import update
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.state import gateway_database, gateway_settings
from gateway.system.models import Session
from shared.clock import utcnow

log = logging.getLogger("hamp.gateway.activity")

BACKGROUND_HEADER = b"x-background"
WRITE_EVERY_SECONDS = 60.0


class SessionActivity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._written: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Shared with every Request made below, so the principal the route verified shows here.
        state = scope.setdefault("state", {})
        await self.app(scope, receive, send)
        principal = state.get("principal")
        if principal is None or not principal.session_id:
            return
        if any(k == BACKGROUND_HEADER and v.strip() not in (b"", b"0") for k, v in scope["headers"]):
            return
        await self._note(scope["app"], principal.session_id)

    async def _note(self, app: Starlette, session_id: str) -> None:
        now = time.monotonic()
        if now - self._written.get(session_id, -WRITE_EVERY_SECONDS) < WRITE_EVERY_SECONDS:
            return
        self._written[session_id] = now
        if len(self._written) > 10_000:
            self._written = {k: t for k, t in self._written.items() if now - t < WRITE_EVERY_SECONDS}
        settings = gateway_settings(app)
        at = utcnow()
        idle_since = at - timedelta(minutes=settings.session_idle_minutes)
        try:
            async with gateway_database(app).transaction() as session:
                await session.execute(
                    update(Session)
                    .where(Session.id == session_id, Session.revoked_at.is_(None), Session.last_used_at > idle_since)
                    .values(last_used_at=at)
                )
        except Exception:
            # The answer has gone out; a missed note costs at most an early idle logout.
            self._written.pop(session_id, None)
            log.warning("could not note the use of a session", exc_info=True)
