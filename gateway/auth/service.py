"""Login, refresh, logout, password change, and what a user may do (roles → permissions, scope)."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import totp
from gateway.auth.keys import SigningKey
from gateway.auth.passwords import hash_password_async, verify_password
from gateway.auth.policy import check_password
from gateway.auth.schemas import SecondFactorChallenge, ServiceTokenOut, TokenOut, UserOut
from gateway.auth.service_grants import SERVICE_GRANTS
from gateway.auth.tokens import hash_refresh_token, issue_access_token, issue_service_token, new_refresh_token
from gateway.db import audit_log
from gateway.settings import GatewaySettings
from gateway.system.models import (
    DataScope,
    LoginEvent,
    LoginLog,
    LoginResult,
    PasswordHistory,
    Role,
    RolePermission,
    RotatedRefreshToken,
    Session,
    User,
    UserRole,
    UserStatus,
)
from gateway.system.notifications import service as notifications
from shared import audit
from shared.clock import local_time, utcnow
from shared.errors import Invalid, Unauthorized, Unavailable, field_error
from shared.i18n import Text
from shared.kvstore import KeyValueStore, MemoryStore
from shared.revocation import RevocationMarkers, Revocations
from shared.service_auth import service_secret

log = logging.getLogger("hamp.gateway.auth")

LOGIN_FAILED = Text("用户名或密码错误", "Wrong user name or password")
# Why a session found at refresh can go on no more: its revoked_reason, code and message.
SESSION_ENDED = {
    "idle": ("session_idle", Text("长时间未操作，请重新登录", "You were inactive for too long; log in again")),
    "expired": (
        "session_expired",
        Text("登录已超过最长时长，请重新登录", "The session reached its maximum length; log in again"),
    ),
}


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
    # The time TOTP codes are checked against; tests move it instead of waiting 30 s.
    clock: Callable[[], float] = time.time


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


def password_change_reason(user: User, settings: GatewaySettings) -> str | None:
    """Why the user must change the password before anything else ("initial": one that an
    administrator or the system chose; "expired": older than password_max_age_days), or None."""
    if user.must_change_password:
        return "initial"
    max_age = settings.password_max_age_days
    changed = user.password_changed_at or user.created_at
    if max_age and changed <= utcnow() - timedelta(days=max_age):
        return "expired"
    return None


async def user_out(session: AsyncSession, user: User, settings: GatewaySettings) -> UserOut:
    assert user.id is not None
    change_reason = password_change_reason(user, settings)
    grants = await grants_of(session, user)
    second_factor = await totp.enabled(session, user.id)
    enrol = not second_factor and totp.required(grants.permissions, settings)
    return UserOut(
        id=user.id,
        username=user.username,
        real_name=user.real_name,
        permissions=[] if change_reason or enrol else grants.permissions,
        must_change_password=change_reason is not None,
        password_change_reason=change_reason,
        department_id=user.department_id,
        second_factor_enabled=second_factor,
        second_factor_enrolment_required=enrol,
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
            # A generated password was seen on a console; a configured one was chosen by IT, unless
            # it was generated too (by `hamp up`).
            must_change_password=not settings.superadmin_password or settings.superadmin_password_is_initial,
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return None if settings.superadmin_password else password


async def _tokens(session: AsyncSession, user: User, record: Session, refresh_token: str, ctx: AuthContext) -> TokenOut:
    # Never past the moment the session would be idle or over: renewals the console makes by
    # itself (not use, see activity.py) then cannot carry an idle session on.
    now = utcnow()
    idle_end = record.last_used_at + timedelta(minutes=ctx.settings.session_idle_minutes)
    left = (min(idle_end, record.expires_at) - now).total_seconds()
    lifetime = max(1, min(ctx.settings.access_token_minutes * 60, int(left)))
    assert user.id is not None
    grants = await grants_of(session, user)
    extra: dict[str, object] = {"iat_ms": int(time.time() * 1000)}
    if grants.departments is not None:
        extra["dept"] = grants.departments
    out = await user_out(session, user, ctx.settings)
    if out.must_change_password:
        extra["mcp"] = True
    if out.second_factor_enrolment_required:
        extra["sfe"] = True
    access = issue_access_token(
        ctx.key,
        user_id=user.id,
        username=user.username,
        name=user.real_name,
        # Until the initial password is changed, the token opens nothing but the password form
        # (and until a required second factor is enrolled, nothing but its enrolment).
        permissions=[] if out.must_change_password or out.second_factor_enrolment_required else grants.permissions,
        session_id=record.id,
        issuer=ctx.settings.jwt_issuer,
        audience=ctx.settings.jwt_audience,
        lifetime_seconds=lifetime,
        extra=extra,
    )
    return TokenOut(access_token=access, expires_in=lifetime, refresh_token=refresh_token, user=out)


def _log(
    session: AsyncSession,
    username: str,
    user: User | None,
    client: Client,
    ok: bool,
    reason: str,
    *,
    event: LoginEvent = LoginEvent.LOGIN,
) -> None:
    session.add(
        LoginLog(
            at=utcnow(),
            username=username[:64],
            user_id=user.id if user else None,
            ip=client.ip[:64],
            user_agent=client.user_agent[:255],
            result=LoginResult.SUCCESS if ok else LoginResult.FAILURE,
            reason=reason,
            event=event,
        )
    )
    # A name no account has is often a password typed into the wrong field: only a known
    # account's name goes to the log (the login log table keeps what was typed, for the admins).
    named = {"username": user.username} if user else {}
    log.info("%s %s", event.value, "ok" if ok else f"refused: {reason}", extra={**named, "ip": client.ip})


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
        # Told to the security administrators in this transaction: the lock and its notice stand together.
        await notifications.raise_occurrence(session, notifications.locked_account(user, ctx.settings.timezone))
        log.warning("account locked after %d failed logins", failures, extra={"username": user.username})


async def login(
    session: AsyncSession, username: str, password: str, client: Client, ctx: AuthContext
) -> TokenOut | SecondFactorChallenge:
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
    if await totp.enabled(session, user.id):
        # Failures are not forgiven yet: wrong codes count on with the wrong passwords before them.
        challenge = totp.issue_challenge(ctx.key, ctx.settings, user)
        return SecondFactorChallenge(challenge=challenge, expires_in=totp.CHALLENGE_SECONDS)
    return await open_session(session, user, username, client, ctx)


async def open_session(
    session: AsyncSession, user: User, username: str, client: Client, ctx: AuthContext, reason: str = ""
) -> TokenOut:
    """The login succeeded (every factor): a new session and its tokens."""
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
    _log(session, username, user, client, True, reason)
    await session.flush()
    return await _tokens(session, user, record, refresh_token, ctx)


async def _log_session_end(session: AsyncSession, record: Session, reason: str) -> None:
    """Every ended session in the login log: a logout (by the user or for them: reason says
    which), or an expiry found when the session was next used. The session's own address."""
    user = await session.get(User, record.user_id)
    expired = reason in SESSION_ENDED
    _log(
        session,
        user.username if user else "",
        user,
        Client(record.ip, record.user_agent),
        not expired,
        reason,
        event=LoginEvent.SESSION_EXPIRED if expired else LoginEvent.LOGOUT,
    )


async def end_session(session: AsyncSession, record: Session, reason: str, ctx: AuthContext) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        record.revoked_reason = reason
        await _log_session_end(session, record, reason)
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
    if record.revoked_at is not None:
        raise invalid
    ended = _ended(record, now, ctx.settings)
    if ended:
        await end_session(session, record, ended, ctx)
        code, message = SESSION_ENDED[ended]
        raise Unauthorized(message, code=code)
    user = await session.get(User, record.user_id)
    if user is None or user.status != UserStatus.ACTIVE or _locked(user):
        raise invalid
    new_token = new_refresh_token()
    session.add(RotatedRefreshToken(token_hash=token_hash, session_id=record.id, rotated_at=now))
    # Not last_used_at: the console renews by itself, so a refresh is no sign of a user.
    record.refresh_hash = hash_refresh_token(new_token)
    await session.flush()
    return await _tokens(session, user, record, new_token, ctx)


def _ended(record: Session, now: datetime, settings: GatewaySettings) -> str | None:
    """Why the session is over: "expired" past its absolute lifetime, "idle" unused too long."""
    if record.expires_at <= now:
        return "expired"
    if record.last_used_at <= now - timedelta(minutes=settings.session_idle_minutes):
        return "idle"
    return None


async def logout(session: AsyncSession, session_id: str, ctx: AuthContext) -> None:
    record = await session.get(Session, session_id)
    if record is not None:
        await end_session(session, record, "logout", ctx)


async def current_user(session: AsyncSession, user_id: int, ctx: AuthContext) -> UserOut:
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise Unauthorized(Text("账号不可用", "Account not usable"), code="account_disabled")
    return await user_out(session, user, ctx.settings)


async def change_password(
    session: AsyncSession, user_id: int, session_id: str, current: str, new: str, client: Client, ctx: AuthContext
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
    await _refuse_recent(session, user, new, ctx.settings.password_history)
    before = {"must_change_password": user.must_change_password, "password_changed_at": user.password_changed_at}
    await retire_password(session, user, ctx.settings.password_history)
    now = utcnow()
    user.password_hash = await hash_password_async(new)
    user.must_change_password = False
    user.password_changed_at = now
    user.updated_at = now
    # Other devices must log in again with the new password; this one goes on with new tokens.
    await end_user_sessions(session, user.id, "password_changed", ctx, keep=record.id)
    await ctx.revocations.reissue_user(user.id)
    _log(session, user.username, user, client, True, "", event=LoginEvent.PASSWORD_CHANGED)
    # That it happened and when; never the password nor its hash.
    after = {"must_change_password": False, "password_changed_at": now}
    await audit.record(
        session, audit_log, action="change_password", entity="user", entity_id=user.id, before=before, after=after
    )
    return await renew_tokens(session, user, record, ctx)


async def _refuse_recent(session: AsyncSession, user: User, new: str, history: int) -> None:
    """The current password is one of the last `history`; the others are in password_history."""
    former = (
        await session.execute(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.replaced_at.desc(), PasswordHistory.id.desc())
            .limit(history - 1)
        )
    ).scalars()
    for password_hash in former:
        if await verify_password(new, password_hash):
            raise Invalid(
                Text(f"新密码不能与最近 {history} 次使用过的密码相同", f"Not one of your last {history} passwords"),
                code="reused_password",
                errors=[
                    field_error(
                        "new_password",
                        Text(f"与最近 {history} 次使用过的密码重复", f"one of your last {history} passwords"),
                        "reused_password",
                    )
                ],
            )


async def retire_password(session: AsyncSession, user: User, history: int) -> None:
    """Keeps the password being replaced in the history, and no more of it than the check reads
    (former hashes are secrets too)."""
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, replaced_at=utcnow()))
    await session.flush()
    kept = history - 1
    stale = (
        (
            await session.execute(
                select(PasswordHistory.id)
                .where(PasswordHistory.user_id == user.id)
                .order_by(PasswordHistory.replaced_at.desc(), PasswordHistory.id.desc())
                .offset(kept)
            )
        )
        .scalars()
        .all()
    )
    if stale:
        await session.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(stale)))


def log_password_reset(session: AsyncSession, user: User, reason: str, client: Client | None = None) -> None:
    _log(session, user.username, user, client or Client("", ""), True, reason, event=LoginEvent.PASSWORD_RESET)


async def renew_tokens(session: AsyncSession, user: User, record: Session, ctx: AuthContext) -> TokenOut:
    """New tokens for this session after a change to the account (the old refresh token is spent)."""
    new_refresh = new_refresh_token()
    session.add(RotatedRefreshToken(token_hash=record.refresh_hash, session_id=record.id, rotated_at=utcnow()))
    record.refresh_hash = hash_refresh_token(new_refresh)
    await session.flush()
    return await _tokens(session, user, record, new_refresh, ctx)


def revocation_markers(ctx: AuthContext) -> RevocationMarkers:
    """The markers this gateway wrote, for services in the embedded profile. With a shared store
    (Redis) services read it themselves, and one replica's markers would be only part of them."""
    if not isinstance(ctx.store, MemoryStore):
        raise Unavailable(
            Text("令牌吊销记录在共享 Redis 中，请让服务直接读取", "Revocations are in the shared Redis; read it there"),
            code="revocations_in_shared_store",
        )
    return ctx.revocations.markers()


async def service_token(service_name: str, secret: str, ctx: AuthContext) -> ServiceTokenOut:
    """A service's own token, with only the permissions SERVICE_GRANTS gives it."""
    expected = service_secret(ctx.settings)
    grants = SERVICE_GRANTS.get(service_name)
    if grants is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        log.warning("service token refused for %r", service_name)
        raise Unauthorized(Text("服务凭据无效", "Invalid service credentials"), code="service_credentials_invalid")
    lifetime = ctx.settings.access_token_minutes * 60
    token = issue_service_token(
        ctx.key,
        service_name=service_name,
        permissions=list(grants),
        issuer=ctx.settings.jwt_issuer,
        audience=ctx.settings.jwt_audience,
        lifetime_seconds=lifetime,
    )
    return ServiceTokenOut(access_token=token, expires_in=lifetime)


async def reset_password(session: AsyncSession, username: str, settings: GatewaySettings) -> str:
    """A new generated password that must be changed at next login; ends the user's sessions.
    It is the host's way back in, so it also drops the second factor (a lost phone)."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise SystemExit(f"no user named {username!r}")
    password = secrets.token_urlsafe(12)
    now = utcnow()
    await retire_password(session, user, settings.password_history)
    user.password_hash = await hash_password_async(password)
    # The superadmin's too: a generated password has been on a terminal.
    user.must_change_password = True
    user.password_changed_at = now
    user.locked_until = None
    user.updated_at = now
    if user.is_superadmin:
        # Break-glass: a superadmin that stepped aside after appointing the 三员 comes back only here.
        user.status = UserStatus.ACTIVE
    await totp.forget(session, user.id)
    open_sessions = select(Session).where(Session.user_id == user.id, Session.revoked_at.is_(None))
    for record in (await session.execute(open_sessions)).scalars().all():
        record.revoked_at, record.revoked_reason = now, "password_reset"
        await _log_session_end(session, record, "password_reset")
    log_password_reset(session, user, "cli_reset")
    await session.flush()
    return password
