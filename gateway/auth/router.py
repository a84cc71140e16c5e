from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from gateway.auth import second_factor, service
from gateway.auth.schemas import (
    LoginIn,
    ModuleOut,
    PasswordChangeIn,
    RefreshIn,
    SecondFactorChallenge,
    SecondFactorCodeIn,
    SecondFactorDisableIn,
    SecondFactorEnabled,
    SecondFactorEnrolment,
    SecondFactorLoginIn,
    SecondFactorStatus,
    ServiceTokenIn,
    ServiceTokenOut,
    TokenOut,
    UserOut,
)
from gateway.auth.service_grants import REVOCATIONS
from gateway.proxy.client_ip import client_ip
from gateway.state import Auth, Key, Limits, RunningModules
from gateway.system.modules import MODULES
from shared.auth import CurrentPrincipal, Principal, password_change_required, require_login_completed, requires
from shared.db import ReadSession, WriteSession, get_database
from shared.errors import Problem
from shared.i18n import Text
from shared.revocation import RevocationMarkers

router = APIRouter(prefix="/api/auth", tags=["auth 登录"])


def _client(request: Request) -> service.Client:
    return service.Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))


@router.post(
    "/login",
    response_model=TokenOut | SecondFactorChallenge,
    summary="Log in with user name and password (with a second factor on: a challenge for the next step)",
)
async def login(body: LoginIn, request: Request, auth: Auth, limits: Limits) -> TokenOut | SecondFactorChallenge:
    client = _client(request)
    refusal: Problem | None = None
    # Not the WriteSession dependency: a refused login must still commit its login-log row
    # (and its failure count), then answer with the refusal.
    async with get_database(request).transaction(queued=False) as session:
        try:
            await limits.login(client.ip, body.username)
            return await service.login(session, body.username, body.password, client, auth)
        except Problem as exc:
            if exc.code == "rate_limited":
                service.log_refusal(session, body.username, client, "rate_limited")
            refusal = exc
    raise refusal


@router.post("/login/second-factor", response_model=TokenOut, summary="Complete a login with a TOTP or recovery code")
async def login_second_factor(body: SecondFactorLoginIn, request: Request, auth: Auth, limits: Limits) -> TokenOut:
    client = _client(request)
    refusal: Problem | None = None
    # As for the password: a wrong code's login-log row and failure count must commit.
    async with get_database(request).transaction(queued=False) as session:
        try:
            # Limited per address and per challenge (its signature's tail); per user, the lockout
            # bounds the guesses.
            await limits.login(client.ip, f"second-factor:{body.challenge[-16:]}")
            return await second_factor.login(session, body.challenge, body.code, client, auth)
        except Problem as exc:
            refusal = exc
    raise refusal


@router.post(
    "/service-token",
    response_model=ServiceTokenOut,
    summary="A service trades the shared service secret for its own short-lived token",
)
async def service_token(body: ServiceTokenIn, request: Request, auth: Auth, limits: Limits) -> ServiceTokenOut:
    await limits.service_token(client_ip(request), body.service)
    return await service.service_token(body.service, body.secret, auth)


@router.post("/refresh", response_model=TokenOut, summary="Trade a refresh token for new tokens (it rotates)")
async def refresh(body: RefreshIn, request: Request, auth: Auth) -> TokenOut:
    refusal: Problem | None = None
    # A reused refresh token ends its session: that must commit although the answer is a 401.
    async with get_database(request).transaction(queued=False) as session:
        try:
            return await service.refresh(session, body.refresh_token, auth)
        except Problem as exc:
            refusal = exc
    raise refusal


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="End this session")
async def logout(session: WriteSession, principal: CurrentPrincipal, auth: Auth) -> Response:
    await service.logout(session, principal.session_id, auth)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, summary="The logged-in user")
async def me(session: ReadSession, principal: CurrentPrincipal, auth: Auth) -> UserOut:
    return await service.current_user(session, principal.user_id, auth)


@router.post("/password", response_model=TokenOut, summary="Change one's own password (new tokens)")
async def change_password(
    session: WriteSession, body: PasswordChangeIn, principal: CurrentPrincipal, request: Request, auth: Auth
) -> TokenOut:
    return await service.change_password(
        session,
        principal.user_id,
        principal.session_id,
        body.current_password,
        body.new_password,
        _client(request),
        auth,
    )


@router.get("/jwks", summary="Public keys that verify access tokens")
async def jwks(key: Key) -> dict:
    return key.jwks()


@router.get("/modules", response_model=list[ModuleOut], summary="Modules and whether a service runs them")
async def modules(principal: CurrentPrincipal, running: RunningModules) -> list[ModuleOut]:
    require_login_completed(principal)
    return [ModuleOut(key=key, name=name, available=key in running) for key, name in MODULES.items()]


async def _enrolling(principal: CurrentPrincipal) -> Principal:
    # Not with the initial password: whoever set it (an administrator) must not enrol a phone.
    if principal.must_change_password:
        raise password_change_required()
    return principal


# A dependency, so that it refuses before the body is even read.
Enrolling = Annotated[Principal, Depends(_enrolling)]


@router.get("/second-factor", response_model=SecondFactorStatus, summary="One's own two-step verification")
async def second_factor_status(session: ReadSession, principal: Enrolling, auth: Auth) -> SecondFactorStatus:
    return await second_factor.status(session, principal.user_id, auth)


@router.post(
    "/second-factor/enrolment",
    response_model=SecondFactorEnrolment,
    summary="Start enrolling an authenticator: a new secret, its otpauth URI and QR code",
)
async def start_enrolment(session: WriteSession, principal: Enrolling, auth: Auth) -> SecondFactorEnrolment:
    return await second_factor.start_enrolment(session, principal.user_id, auth)


@router.post(
    "/second-factor/confirm",
    response_model=SecondFactorEnabled,
    summary="Confirm with a current code: turns it on, answers recovery codes (once) and new tokens",
)
async def confirm_enrolment(
    session: WriteSession, body: SecondFactorCodeIn, principal: Enrolling, auth: Auth
) -> SecondFactorEnabled:
    return await second_factor.confirm_enrolment(session, principal.user_id, principal.session_id, body.code, auth)


@router.post(
    "/second-factor/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Turn one's own two-step verification off (password and a current code)",
)
async def disable_second_factor(
    session: WriteSession, body: SecondFactorDisableIn, principal: Enrolling, auth: Auth
) -> Response:
    await second_factor.disable(session, principal.user_id, body.password, body.code, auth)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/revocations",
    response_model=RevocationMarkers,
    summary="Revoked sessions and re-issued users in force (services without a shared Redis poll this)",
    **requires(REVOCATIONS, Text("令牌吊销", "token revocations")),
)
async def revocations(auth: Auth) -> RevocationMarkers:
    return service.revocation_markers(auth)
