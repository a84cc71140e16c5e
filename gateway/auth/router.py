from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from gateway.auth import service
from gateway.auth.schemas import (
    LoginIn,
    ModuleOut,
    PasswordChangeIn,
    RefreshIn,
    ServiceTokenIn,
    ServiceTokenOut,
    TokenOut,
    UserOut,
)
from gateway.proxy.client_ip import client_ip
from gateway.system.modules import MODULES
from shared.auth import CurrentPrincipal, password_change_required
from shared.db import ReadSession, WriteSession, get_database
from shared.errors import Problem

router = APIRouter(prefix="/api/auth", tags=["auth 登录"])


def _client(request: Request) -> service.Client:
    return service.Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))


def _context(request: Request) -> service.AuthContext:
    return request.app.state.auth


@router.post("/login", response_model=TokenOut, summary="Log in with user name and password")
async def login(body: LoginIn, request: Request) -> TokenOut:
    client = _client(request)
    refusal: Problem | None = None
    # Not the WriteSession dependency: a refused login must still commit its login-log row
    # (and its failure count), then answer with the refusal.
    async with get_database(request).transaction(queued=False) as session:
        try:
            await request.app.state.rate_limits.login(client.ip, body.username)
            return await service.login(session, body.username, body.password, client, _context(request))
        except Problem as exc:
            if exc.code == "rate_limited":
                service.log_refusal(session, body.username, client, "rate_limited")
            refusal = exc
    raise refusal


@router.post(
    "/service-token",
    response_model=ServiceTokenOut,
    summary="A service trades the shared service secret for its own short-lived token",
)
async def service_token(body: ServiceTokenIn, request: Request) -> ServiceTokenOut:
    await request.app.state.rate_limits.login(client_ip(request), f"service:{body.service}")
    return await service.service_token(body.service, body.secret, _context(request))


@router.post("/refresh", response_model=TokenOut, summary="Trade a refresh token for new tokens (it rotates)")
async def refresh(body: RefreshIn, request: Request) -> TokenOut:
    refusal: Problem | None = None
    # A reused refresh token ends its session: that must commit although the answer is a 401.
    async with get_database(request).transaction(queued=False) as session:
        try:
            return await service.refresh(session, body.refresh_token, _context(request))
        except Problem as exc:
            refusal = exc
    raise refusal


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="End this session")
async def logout(session: WriteSession, principal: CurrentPrincipal, request: Request) -> Response:
    await service.logout(session, principal.session_id, _context(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, summary="The logged-in user")
async def me(session: ReadSession, principal: CurrentPrincipal) -> UserOut:
    return await service.current_user(session, principal.user_id)


@router.post("/password", response_model=TokenOut, summary="Change one's own password (new tokens)")
async def change_password(
    session: WriteSession, body: PasswordChangeIn, principal: CurrentPrincipal, request: Request
) -> TokenOut:
    return await service.change_password(
        session, principal.user_id, principal.session_id, body.current_password, body.new_password, _context(request)
    )


@router.get("/jwks", summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict:
    return request.app.state.signing_key.jwks()


@router.get("/modules", response_model=list[ModuleOut], summary="Modules and whether a service runs them")
async def modules(request: Request, principal: CurrentPrincipal) -> list[ModuleOut]:
    if principal.must_change_password:
        raise password_change_required()
    registry = request.app.state.registry
    return [
        ModuleOut(key=key, name=name, available=bool(registry and registry.instances(key.upper())))
        for key, name in MODULES.items()
    ]
