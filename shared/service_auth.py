"""Service identity: a service calls another as itself, with a short-lived gateway token.

A user's token is not enough between services: the outbox relay runs with no user at all, and
a desk clerk granted `oms:visit:write` holds nothing in `dms`. So each service trades the shared
service secret at the gateway (`POST /api/auth/service-token`) for an access token whose
permissions the gateway fixes per service (least privilege, `gateway/auth/service_grants.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from shared.settings import ServiceSettings
from shared.var_files import local_secret

SECRET_FILE = "service-secret"


def service_secret(settings: ServiceSettings) -> str:
    """The setting, or in the embedded profile a secret every process on this machine shares
    through `var/keys/service-secret` (made by whichever process needs it first)."""
    return settings.service_secret or local_secret(settings.var_dir, SECRET_FILE)


# Fetches (token, lifetime in seconds) from the gateway.
TokenFetcher = Callable[[], Awaitable[tuple[str, int]]]


class ServiceTokens:
    """Caches this service's token and fetches a new one when half its life is gone."""

    def __init__(self, fetch: TokenFetcher) -> None:
        self._fetch = fetch
        self._token = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if not self._token or time.monotonic() >= self._renew_at:
                token, lifetime = await self._fetch()
                self._token, self._renew_at = token, time.monotonic() + lifetime / 2
        return self._token

    def forget(self) -> None:
        """After a 401 (the gateway's key rotated, or the token was refused): fetch anew next time."""
        self._token = ""
