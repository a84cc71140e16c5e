"""Token-bucket rate limits: logins per address and per user name, API calls per user."""

from __future__ import annotations

import math

from gateway.settings import GatewaySettings
from shared.auth import Principal
from shared.errors import Problem
from shared.i18n import Text
from shared.kvstore import KeyValueStore


class RateLimited(Problem):
    status = 429
    code = "rate_limited"


def _refuse(wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(
        Text(f"请求过于频繁，请 {seconds} 秒后再试", f"Too many requests; try again in {seconds} s"),
        headers={"Retry-After": str(seconds)},
    )


class RateLimits:
    def __init__(self, store: KeyValueStore, settings: GatewaySettings) -> None:
        self.store = store
        self.settings = settings

    async def login(self, ip: str, username: str) -> None:
        per_ip = self.settings.login_rate_per_ip_per_minute
        per_user = self.settings.login_rate_per_user_per_minute
        wait = await self.store.take(f"rate:login-ip:{ip}", per_ip / 60, per_ip)
        if not wait:
            wait = await self.store.take(f"rate:login-user:{username.lower()}", per_user / 60, per_user)
        if wait:
            raise _refuse(wait)

    async def api(self, principal: Principal) -> None:
        wait = await self.store.take(
            f"rate:api:{principal.user_id}", self.settings.api_rate_per_second, self.settings.api_burst
        )
        if wait:
            raise _refuse(wait)
