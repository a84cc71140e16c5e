from __future__ import annotations

from fastapi import APIRouter

from gateway.state import Settings
from gateway.system.policy import service
from gateway.system.policy.service import SecurityPolicy
from shared.auth import requires
from shared.i18n import Text

router = APIRouter(prefix="/api/system", tags=["system 安全策略"])


@router.get(
    "/security-policy",
    response_model=SecurityPolicy,
    summary="The password, lockout, session, second-factor and network policy in force",
    **requires("system:security:read", Text("安全策略", "security policy")),
)
async def security_policy(settings: Settings) -> SecurityPolicy:
    return service.security_policy(settings)
