"""Login, refresh, logout, password change, and what a user may do (roles → permissions, scope)."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.keys import SigningKey
from gateway.auth.passwords import hash_password_async, verify_password
from gateway.auth.policy import check_password
from gateway.auth.revocation import Revocations
from gateway.auth.schemas import ServiceTokenOut, TokenOut, UserOut
from gateway.auth.service_grants import SERVICE_GRANTS
from gateway.auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from gateway.settings import GatewaySettings
from gateway.system.models import (
    DataScope,
    LoginLog,
    LoginResult,
    Role,
    RolePermission,
    RotatedRefreshToken,
    Session,
    User,
    UserRole,
    UserStatus,
)
from shared.errors import Invalid, Unauthorized, field_error
from shared.i18n import Text
from shared.kvstore import KeyValueStore
from shared.service_auth import service_secret
from shared.types import local_time, utcnow

log = logging.getLogger("hamp.gateway.auth")

# Service tokens carry user id 0: no user has it, so no user's revocation or lockout touches them.
SERVICE_USER_ID = 0

LOGIN_FAILED = Text("用户名或密码错误", "Wrong user name or password")


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


@dataclass(frozen=True)
class AuthContext:
    """What the auth service works with, besides the database session."""

    key: SigningKey
    settings: GatewaySettings
    store: KeyValueStore
    revocations: Revocations


@dataclass(frozen=True)
class Grants:
    permissions: list[str]
    departments: list[int] | None  # None: every department


async def grants_of(session: AsyncSession, user: User) -> Grants:
    if user.is_superadmin:
        return Grants(["*"], None)
    roles = (
        (
            await session.execute(
                select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user.id)
            )
        )
        .scalars()
        .all()
    )
    role_ids = [r.id for r in roles]
    permissions = (
        (await session.execute(select(RolePermission.permission).where(RolePermission.role_id.in_(role_ids))))
        .scalars()
        .all()
        if role_ids
        else []
    )
    departments: set[int] = set()
    for role in roles:
        if role.data_scope == DataScope.ALL:
            return Grants(sorted(set(permissions)), None)
        if role.data_scope == DataScope.DEPARTMENTS:
            departments.update(int(d) for d in role.department_ids.split(",") if d)
        elif user.department_id is not None:
            departments.add(user.department_id)
    return Grants(sorted(set(permissions)), sorted(departments))


async def user_out(session: AsyncSession, user: User) -> UserOut:
    assert user.id is not None
    grants = await grants_of(session, user)
    return UserOut(
        id=user.id,
        username=user.username,
        real_name=user.real_name,
        permissions=[] if user.must_change_password else grants.permissions,
        must_change_password=user.must_change_password,
        department_id=user.department_id,
    )


async def ensure_superadmin(session: AsyncSession, settings: GatewaySettings) -> str | None:
    """Create the superadmin when there are no users; return the password if it was generated."""
    if (await session.execute(select(func.count()).select_from(User))).scalar_one():
        return None
    password = settings.superadmin_password or secrets.token_urlsafe(12)
    now = utcnow()
    session.add(
        User(
            username=settings.superadmin_username,
            real_name="超级管理员",
            is_superadmin=True,
            password_hash=await hash_password_async(password),
            password_changed_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return None if settings.superadmin_password else password


async def _tokens(session: AsyncSession, user: User, record: Session, refresh_token: str, ctx: AuthContext) -> TokenOut:
    lifetime = ctx.settings.access_token_minutes * 60
    assert user.id is not None
    grants = await grants_of(session, user)
    extra: dict[str, object] = {"iat_ms": int(time.time() * 1000)}
    if grants.departments is not None:
        extra["dept"] = grants.departments
    if user.must_change_password:
        extra["mcp"] = True
    access = issue_access_token(
        ctx.key,
        user_id=user.id,
        username=user.username,
        name=user.real_name,
        # Until the initial password is changed, the token opens nothing but the password form.
        permissions=[] if user.must_change_password else grants.permissions,
        session_id=record.id,
        issuer=ctx.settings.jwt_issuer,
        audience=ctx.settings.jwt_audience,
        lifetime_seconds=lifetime,
        extra=extra,
    )
    return TokenOut(
        access_token=access, expires_in=lifetime, refresh_token=refresh_token, user=await user_out(session, user)
    )


def _log(session: AsyncSession, username: str, user: User | None, client: Client, ok: bool, reason: str) -> None:
    session.add(
        LoginLog(
            at=utcnow(),
            username=username[:64],
            user_id=user.id if user else None,
            ip=client.ip[:64],
            user_agent=client.user_agent[:255],
            result=LoginResult.SUCCESS if ok else LoginResult.FAILURE,
            reason=reason,
        )
    )
    log.info("login %s", "ok" if ok else f"refused: {reason}", extra={"username": username, "ip": client.ip})


def log_refusal(session: AsyncSession, username: str, client: Client, reason: str) -> None:
    _log(session, username, None, client, False, reason)


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


async def record_failure(session: AsyncSession, user: User, ctx: AuthContext) -> None:
    """Counts a failed login; enough of them within the window lock the account."""
    window = ctx.settings.lockout_window_minutes * 60
    failures = await ctx.store.incr(f"login-failures:{user.id}", window)
    if failures >= ctx.settings.lockout_failures:
        minutes = ctx.settings.lockout_minutes
        # "Until unlocked" is a lock far in the future, so one column says both.
        user.locked_until = utcnow() + (timedelta(minutes=minutes) if minutes else timedelta(days=36500))
        user.updated_at = utcnow()
        await ctx.store.delete(f"login-failures:{user.id}")
        await ctx.revocations.reissue_user(user.id)
        log.warning("account locked after %d failed logins", failures, extra={"username": user.username})


async def login(session: AsyncSession, username: str, password: str, client: Client, ctx: AuthContext) -> TokenOut:
    """Refusals are logged and answered in the same transaction, so the login log keeps them:
    the caller commits even when this raises (see router)."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    password_ok = await verify_password(password, user.password_hash if user else None)
    if user is None:
        _log(session, username, None, client, False, "unknown_user")
        raise Unauthorized(LOGIN_FAILED, code="login_failed")
    if _locked(user):
        _log(session, username, user, client, False, "locked")
        until = local_time(user.locked_until, ctx.settings.timezone) if user.locked_until else ""
        raise Unauthorized(
            Text(
                f"账号已锁定（至 {until}），请联系管理员解锁", f"Account locked (until {until}); ask an administrator"
            ),
            code="account_locked",
        )
    if not password_ok:
        _log(session, username, user, client, False, "bad_password")
        await record_failure(session, user, ctx)
        raise Unauthorized(LOGIN_FAILED, code="login_failed")
    if user.status != UserStatus.ACTIVE:
        _log(session, username, user, client, False, "disabled")
        raise Unauthorized(Text("账号已停用", "This account is disabled"), code="account_disabled")
    await ctx.store.delete(f"login-failures:{user.id}")
    now = utcnow()
    refresh_token = new_refresh_token()
    record = Session(
        id=uuid.uuid4().hex,
        user_id=user.id,
        refresh_hash=hash_refresh_token(refresh_token),
        ip=client.ip[:64],
        user_agent=client.user_agent[:255],
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(hours=ctx.settings.refresh_token_hours),
    )
    session.add(record)
    user.last_login_at = now
    _log(session, username, user, client, True, "")
    await session.flush()
    return await _tokens(session, user, record, refresh_token, ctx)


async def end_session(session: AsyncSession, record: Session, reason: str, ctx: AuthContext) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        record.revoked_reason = reason
        await session.flush()
    await ctx.revocations.end_session(record.id)


async def end_user_sessions(
    session: AsyncSession, user_id: int, reason: str, ctx: AuthContext, keep: str | None = None
) -> int:
    records = (
        (await session.execute(select(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))))
        .scalars()
        .all()
    )
    ended = 0
    for record in records:
        if record.id != keep:
            await end_session(session, record, reason, ctx)
            ended += 1
    return ended


async def refresh(session: AsyncSession, refresh_token: str, ctx: AuthContext) -> TokenOut:
    invalid = Unauthorized(Text("登录已失效，请重新登录", "Session expired; log in again"), code="refresh_invalid")
    token_hash = hash_refresh_token(refresh_token)
    record = (await session.execute(select(Session).where(Session.refresh_hash == token_hash))).scalar_one_or_none()
    if record is None:
        rotated = await session.get(RotatedRefreshToken, token_hash)
        if rotated is not None:
            # A refresh token used twice: someone holds a copy. End the whole session.
            reused = await session.get(Session, rotated.session_id)
            if reused is not None:
                await end_session(session, reused, "refresh_reused", ctx)
            log.warning("refresh token reused; session %s revoked", rotated.session_id)
            raise Unauthorized(
                Text("检测到令牌被重复使用，会话已终止", "Refresh token reused; the session was ended"),
                code="refresh_reused",
            )
        raise invalid
    now = utcnow()
    if record.revoked_at is not None or record.expires_at <= now:
        raise invalid
    user = await session.get(User, record.user_id)
    if user is None or user.status != UserStatus.ACTIVE or _locked(user):
        raise invalid
    new_token = new_refresh_token()
    session.add(RotatedRefreshToken(token_hash=token_hash, session_id=record.id, rotated_at=now))
    record.refresh_hash = hash_refresh_token(new_token)
    record.last_used_at = now
    await session.flush()
    return await _tokens(session, user, record, new_token, ctx)


async def logout(session: AsyncSession, session_id: str, ctx: AuthContext) -> None:
    record = await session.get(Session, session_id)
    if record is not None:
        await end_session(session, record, "logout", ctx)


async def current_user(session: AsyncSession, user_id: int) -> UserOut:
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise Unauthorized(Text("账号不可用", "Account not usable"), code="account_disabled")
    return await user_out(session, user)


async def change_password(
    session: AsyncSession, user_id: int, session_id: str, current: str, new: str, ctx: AuthContext
) -> TokenOut:
    user = await session.get(User, user_id)
    record = await session.get(Session, session_id)
    if user is None or record is None or record.revoked_at is not None:
        raise Unauthorized(Text("登录已失效，请重新登录", "Session ended; log in again"), code="token_revoked")
    if not await verify_password(current, user.password_hash):
        raise Invalid(
            Text("当前密码不正确", "The current password is wrong"),
            code="wrong_password",
            errors=[field_error("current_password", Text("不正确", "is wrong"), "wrong_password")],
        )
    check_password(new, user.username, ctx.settings.password_min_length)
    if await verify_password(new, user.password_hash):
        raise Invalid(
            Text("新密码不能与当前密码相同", "The new password must differ from the current one"),
            code="weak_password",
            errors=[field_error("new_password", Text("与当前密码相同", "same as the current one"), "same_password")],
        )
    now = utcnow()
    user.password_hash = await hash_password_async(new)
    user.must_change_password = False
    user.password_changed_at = now
    user.updated_at = now
    # Other devices must log in again with the new password; this one goes on with new tokens.
    await end_user_sessions(session, user.id, "password_changed", ctx, keep=record.id)
    await ctx.revocations.reissue_user(user.id)
    new_refresh = new_refresh_token()
    session.add(RotatedRefreshToken(token_hash=record.refresh_hash, session_id=record.id, rotated_at=now))
    record.refresh_hash = hash_refresh_token(new_refresh)
    await session.flush()
    return await _tokens(session, user, record, new_refresh, ctx)


async def service_token(service_name: str, secret: str, ctx: AuthContext) -> ServiceTokenOut:
    """A service's own token, with only the permissions SERVICE_GRANTS gives it."""
    expected = service_secret(ctx.settings)
    grants = SERVICE_GRANTS.get(service_name)
    if grants is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        log.warning("service token refused for %r", service_name)
        raise Unauthorized(Text("服务凭据无效", "Invalid service credentials"), code="service_credentials_invalid")
    lifetime = ctx.settings.access_token_minutes * 60
    token = issue_access_token(
        ctx.key,
        user_id=SERVICE_USER_ID,
        username=f"service:{service_name}",
        name=service_name,
        permissions=list(grants),
        session_id="",
        issuer=ctx.settings.jwt_issuer,
        audience=ctx.settings.jwt_audience,
        lifetime_seconds=lifetime,
        extra={"svc": service_name},
    )
    return ServiceTokenOut(access_token=token, expires_in=lifetime)


async def reset_password(session: AsyncSession, username: str) -> str:
    """A new generated password that must be changed at next login; ends the user's sessions."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise SystemExit(f"no user named {username!r}")
    password = secrets.token_urlsafe(12)
    now = utcnow()
    user.password_hash = await hash_password_async(password)
    user.must_change_password = not user.is_superadmin
    user.locked_until = None
    user.updated_at = now
    for record in (await session.execute(select(Session).where(Session.user_id == user.id))).scalars():
        record.revoked_at = record.revoked_at or now
    await session.flush()
    return password
