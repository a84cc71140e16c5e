"""Ended sessions and re-issued users: every component refuses a revoked token within seconds.

Tokens are short-lived and verified without a database; what revokes them early is a marker
that lives as long as an access token can: a session id (logout, force-logout), or a user's
"not before" time (disabled, locked, password or roles changed: tokens issued earlier are
refused, so the next refresh picks up the change). The gateway writes the markers.

Where the markers are read:
- production: every component reads them from the shared Redis (`Revocations.check`), the
  gateway's replicas and the services alike;
- embedded (no Redis): the markers live in the gateway's process, so a service keeps a
  `RevocationMirror` of them, polled from `GET /api/auth/revocations` every second.

Both fail closed: a Redis that does not answer, or a mirror not refreshed for
`revocation_max_age_seconds`, refuses user tokens (503) instead of letting a revoked one through.
Service tokens (between services, user id 0) are never revoked and are not checked, so the
outbox keeps delivering while the gateway restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from shared.auth import Principal
from shared.errors import Unauthorized, Unavailable
from shared.i18n import Text
from shared.kvstore import KeyValueStore

log = logging.getLogger("hamp.revocation")


class RevocationMarkers(BaseModel):
    """What `GET /api/auth/revocations` answers: the markers in force."""

    sessions: list[str]
    # user id -> not-before, Unix seconds
    users: dict[int, float]


def _revoked() -> Unauthorized:
    return Unauthorized(Text("登录已失效，请重新登录", "Session ended; log in again"), code="token_revoked")


def _is_service(principal: Principal) -> bool:
    return bool(principal.claims.get("svc"))


def _refuse_if_revoked(principal: Principal, session_ended: bool, not_before: float | None) -> None:
    if session_ended:
        raise _revoked()
    issued_ms = principal.claims.get("iat_ms", principal.claims.get("iat", 0) * 1000)
    # Whole milliseconds on both sides: a token made in the same millisecond as the marker is new.
    if not_before and issued_ms < int(not_before * 1000):
        raise _revoked()


class Revocations:
    """The markers in a key-value store: written by the gateway, read by whoever shares the store.

    It also keeps the markers it wrote in memory (`markers()`), which is what the gateway serves
    to services in the embedded profile, where its store is its own process."""

    def __init__(self, store: KeyValueStore, token_lifetime_seconds: int, clock: Callable[[], float] = time.time):
        self.store = store
        self.ttl = token_lifetime_seconds + 60
        self.clock = clock
        self._sessions: dict[str, float] = {}  # session id -> marker expiry
        self._users: dict[int, tuple[float, float]] = {}  # user id -> (not before, marker expiry)

    async def end_session(self, session_id: str) -> None:
        await self.store.set(f"revoked:session:{session_id}", "1", self.ttl)
        self._sessions[session_id] = self.clock() + self.ttl

    async def reissue_user(self, user_id: int) -> None:
        now = self.clock()
        await self.store.set(f"revoked:user:{user_id}", str(now), self.ttl)
        self._users[user_id] = (now, now + self.ttl)

    def markers(self) -> RevocationMarkers:
        now = self.clock()
        self._sessions = {s: expiry for s, expiry in self._sessions.items() if expiry > now}
        self._users = {u: marker for u, marker in self._users.items() if marker[1] > now}
        return RevocationMarkers(sessions=sorted(self._sessions), users={u: m[0] for u, m in self._users.items()})

    async def check(self, principal: Principal) -> None:
        """Refuses a revoked token. Without the store this raises KeyValueUnavailable, which is
        answered 503: it fails closed."""
        if _is_service(principal):
            return
        session_ended = bool(await self.store.get(f"revoked:session:{principal.session_id}"))
        not_before = await self.store.get(f"revoked:user:{principal.user_id}")
        _refuse_if_revoked(principal, session_ended, float(not_before) if not_before else None)


class RevocationMirror:
    """A service's copy of the gateway's markers (embedded profile), refreshed by polling."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.max_age = max_age_seconds
        self.clock = clock
        self._markers = RevocationMarkers(sessions=[], users={})
        self._sessions: frozenset[str] = frozenset()
        self._refreshed_at: float | None = None
        self._created_at = clock()
        self._failing = False
        self._lock = asyncio.Lock()

    async def refresh(self) -> bool:
        try:
            markers = RevocationMarkers.model_validate(await self._fetch())
        except Exception as exc:  # any failure leaves the mirror ageing: check() fails closed
            # Before its first answer the gateway may still be starting (`hamp up` starts it beside
            # the services): no outage until that lasts longer than the markers may age.
            starting = self._refreshed_at is None and self.clock() - self._created_at <= self.max_age
            if not self._failing and not starting:  # once per outage, not once a second
                log.warning("cannot refresh token revocations from the gateway: %s", exc)
                self._failing = True
            return False
        if self._failing:
            log.info("token revocations from the gateway again")
        self._markers, self._sessions, self._failing = markers, frozenset(markers.sessions), False
        self._refreshed_at = self.clock()
        return True

    def _fresh(self) -> bool:
        return self._refreshed_at is not None and self.clock() - self._refreshed_at <= self.max_age

    async def fresh(self) -> bool:
        """A readiness check: user tokens can be checked now."""
        return self._fresh()

    async def run(self, interval_seconds: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval_seconds)

    async def check(self, principal: Principal) -> None:
        if _is_service(principal):
            return
        if not self._fresh():
            # Just started, or the gateway was away: one try now rather than a refusal.
            async with self._lock:
                if not self._fresh():
                    await self.refresh()
            if not self._fresh():
                raise Unavailable(
                    Text("无法确认登录状态，请稍后再试", "Cannot confirm the session is valid; try again shortly"),
                    code="revocation_unavailable",
                    headers={"Retry-After": "5"},
                )
        not_before = self._markers.users.get(principal.user_id)
        _refuse_if_revoked(principal, principal.session_id in self._sessions, not_before)
