"""The user reading their own notices and notifications: any account through its login's
mandatory steps, with no permission of its own (what reaches them is decided per row)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import CurrentPrincipal, Principal, require_login_completed


async def _recipient(principal: CurrentPrincipal) -> Principal:
    require_login_completed(principal)
    return principal


Recipient = Annotated[Principal, Depends(_recipient)]
