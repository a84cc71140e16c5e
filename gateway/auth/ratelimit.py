"""Token-bucket rate limits: logins per address and per user name, service tokens per address and
service, API calls per user."""

from __future__ import annotations

import math

from gateway.auth.service_grants import SERVICE_GRANTS
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

    async def service_token(self, ip: str, service: str) -> None:
        """A budget per address and service, not the logins': the replicas of every service on one
        machine (`hamp up`, pods behind one node's address) would use up a person's logins there,
        and the replicas of one service the budget of its name. The secret is random, 32 bytes:
        this bounds the load of a caller who does not hold it, not a guess."""
        rate = self.settings.service_token_rate_per_minute
        # Names that get no token share one budget: a caller cannot make itself new ones.
        name = service if service in SERVICE_GRANTS else "-"
        wait = await self.store.take(f"rate:service-token:{ip}:{name}", rate / 60, rate)
        if wait:
            raise _refuse(wait)

    async def api(self, principal: Principal) -> None:
        wait = await self.store.take(
            f"rate:api:{principal.user_id}", self.settings.api_rate_per_second, self.settings.api_burst
        )
        if wait:
            raise _refuse(wait)
