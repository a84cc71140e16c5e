"""Service identity: a service calls another as itself, with a short-lived gateway token.

A user's token is not enough between services: the outbox relay runs with no user at all, and
a desk clerk granted `oms:visit:write` holds nothing in `dms`. So each service trades the shared
service secret at the gateway (`POST /api/auth/service-token`) for an access token whose
permissions the gateway fixes per service (least privilege, `gateway/auth/service_grants.py`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from shared.settings import ServiceSettings

SECRET_FILE = "service-secret"


def service_secret(settings: ServiceSettings) -> str:
    """The setting, or in the embedded profile a secret every process on this machine shares
    through `var/keys/service-secret` (made by whichever process needs it first)."""
    if settings.service_secret:
        return settings.service_secret
    path = settings.var_dir / "keys" / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _read_when_written(path: Path) -> str:
    # Another process created it a moment ago and may still be writing.
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"{path} stays empty")


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
