"""Ended sessions and re-issued users, honoured by the gateway within seconds.

Tokens are short-lived and verified without a database; what revokes them early is a
marker in the key-value store (in process embedded, Redis in production) that lives as long
as an access token can: a session id (logout, force-logout), or a user's "not before" time
(disabled, locked, password or roles changed: tokens issued earlier are refused, so the
next refresh picks up the change).
"""

from __future__ import annotations

import time

from shared.auth import Principal
from shared.errors import Unauthorized
from shared.i18n import Text
from shared.kvstore import KeyValueStore


def _revoked() -> Unauthorized:
    return Unauthorized(Text("登录已失效，请重新登录", "Session ended; log in again"), code="token_revoked")


class Revocations:
    def __init__(self, store: KeyValueStore, token_lifetime_seconds: int) -> None:
        self.store = store
        self.ttl = token_lifetime_seconds + 60

    async def end_session(self, session_id: str) -> None:
        await self.store.set(f"revoked:session:{session_id}", "1", self.ttl)

    async def reissue_user(self, user_id: int) -> None:
        await self.store.set(f"revoked:user:{user_id}", str(time.time()), self.ttl)

    async def check(self, principal: Principal) -> None:
        """Refuses a revoked token. Without the store this raises KeyValueUnavailable, which the
        gateway answers 503: it fails closed."""
        if await self.store.get(f"revoked:session:{principal.session_id}"):
            raise _revoked()
        not_before = await self.store.get(f"revoked:user:{principal.user_id}")
        issued_ms = principal.claims.get("iat_ms", principal.claims.get("iat", 0) * 1000)
        # Whole milliseconds on both sides: a token made in the same millisecond as the marker is new.
        if not_before and issued_ms < int(float(not_before) * 1000):
            raise _revoked()
