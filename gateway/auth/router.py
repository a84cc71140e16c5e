from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from gateway.auth import service
from gateway.auth.schemas import LoginIn, ModuleOut, RefreshIn, TokenOut, UserOut
from gateway.proxy.client_ip import client_ip
from gateway.system.modules import MODULES
from shared.auth import CurrentPrincipal
from shared.db import ReadSession, WriteSession

router = APIRouter(prefix="/api/auth", tags=["auth 登录"])


def _client(request: Request) -> service.Client:
    return service.Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))


@router.post("/login", response_model=TokenOut, summary="Log in with user name and password")
async def login(session: WriteSession, body: LoginIn, request: Request) -> TokenOut:
    state = request.app.state
    return await service.login(
        session, body.username, body.password, _client(request), state.signing_key, state.settings
    )


@router.post("/refresh", response_model=TokenOut, summary="Trade a refresh token for new tokens (it rotates)")
async def refresh(session: WriteSession, body: RefreshIn, request: Request) -> TokenOut:
    state = request.app.state
    return await service.refresh(session, body.refresh_token, state.signing_key, state.settings)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="End this session")
async def logout(session: WriteSession, principal: CurrentPrincipal) -> Response:
    await service.logout(session, principal.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, summary="The logged-in user")
async def me(session: ReadSession, principal: CurrentPrincipal) -> UserOut:
    return await service.current_user(session, principal.user_id)


@router.get("/jwks", summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict:
    return request.app.state.signing_key.jwks()


@router.get("/modules", response_model=list[ModuleOut], summary="Modules and whether a service runs them")
async def modules(request: Request, principal: CurrentPrincipal) -> list[ModuleOut]:
    registry = request.app.state.registry
    return [
        ModuleOut(key=key, name=name, available=bool(registry and registry.instances(key.upper())))
        for key, name in MODULES.items()
    ]
