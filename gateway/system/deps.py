"""What the system routers take from the request: whether to show personal data, who acts.

`Auth` (the auth context) lives in gateway/state.py with the rest of the lifespan's state.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.system.delegation import Actor, load_actor
from shared.auth import CurrentPrincipal
from shared.db import WriteSession
from shared.pii import PII_PERMISSION


async def _reveal_pii(principal: CurrentPrincipal) -> bool:
    return principal.can(PII_PERMISSION)


async def _actor_is_superadmin(principal: CurrentPrincipal) -> bool:
    return "*" in principal.permissions


async def _actor(session: WriteSession, principal: CurrentPrincipal) -> Actor:
    return await load_actor(session, principal)


RevealPii = Annotated[bool, Depends(_reveal_pii)]
ActorIsSuperadmin = Annotated[bool, Depends(_actor_is_superadmin)]
# The administrator making a change, with their grants as the database holds them now.
CurrentActor = Annotated[Actor, Depends(_actor)]
