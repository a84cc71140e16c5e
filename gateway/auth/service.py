"""Login, refresh, logout, and the superadmin made on first start."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.keys import SigningKey
from gateway.auth.passwords import hash_password_async, verify_password
from gateway.auth.schemas import TokenOut, UserOut
from gateway.auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from gateway.settings import GatewaySettings
from gateway.system.models import Session, User, UserStatus
from shared.errors import Unauthorized
from shared.i18n import Text
from shared.types import utcnow

log = logging.getLogger("hamp.gateway.auth")

LOGIN_FAILED = Text("用户名或密码错误", "Wrong user name or password")


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


def permissions_of(user: User) -> list[str]:
    return ["*"] if user.is_superadmin else []


def user_out(user: User) -> UserOut:
    assert user.id is not None
    return UserOut(
        id=user.id,
        username=user.username,
        real_name=user.real_name,
        permissions=permissions_of(user),
        must_change_password=user.must_change_password,
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
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return None if settings.superadmin_password else password


def _tokens(user: User, record: Session, refresh_token: str, key: SigningKey, settings: GatewaySettings) -> TokenOut:
    lifetime = settings.access_token_minutes * 60
    assert user.id is not None
    access = issue_access_token(
        key,
        user_id=user.id,
        username=user.username,
        name=user.real_name,
        permissions=permissions_of(user),
        session_id=record.id,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime_seconds=lifetime,
    )
    return TokenOut(access_token=access, expires_in=lifetime, refresh_token=refresh_token, user=user_out(user))


async def login(
    session: AsyncSession,
    username: str,
    password: str,
    client: Client,
    key: SigningKey,
    settings: GatewaySettings,
) -> TokenOut:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if not await verify_password(password, user.password_hash if user else None) or user is None:
        log.info("login failed", extra={"username": username, "ip": client.ip})
        raise Unauthorized(LOGIN_FAILED, code="login_failed")
    if user.status != UserStatus.ACTIVE:
        raise Unauthorized(Text("账号已停用", "This account is disabled"), code="account_disabled")
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
        expires_at=now + timedelta(hours=settings.refresh_token_hours),
    )
    session.add(record)
    user.last_login_at = now
    await session.flush()
    log.info("login", extra={"username": username, "ip": client.ip})
    return _tokens(user, record, refresh_token, key, settings)


async def refresh(session: AsyncSession, refresh_token: str, key: SigningKey, settings: GatewaySettings) -> TokenOut:
    invalid = Unauthorized(Text("登录已失效，请重新登录", "Session expired; log in again"), code="refresh_invalid")
    record = (
        await session.execute(select(Session).where(Session.refresh_hash == hash_refresh_token(refresh_token)))
    ).scalar_one_or_none()
    now = utcnow()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        raise invalid
    user = await session.get(User, record.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise invalid
    new_token = new_refresh_token()
    record.refresh_hash = hash_refresh_token(new_token)
    record.last_used_at = now
    await session.flush()
    return _tokens(user, record, new_token, key, settings)


async def logout(session: AsyncSession, session_id: str) -> None:
    record = await session.get(Session, session_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        await session.flush()


async def current_user(session: AsyncSession, user_id: int) -> UserOut:
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise Unauthorized(Text("账号不可用", "Account not usable"), code="account_disabled")
    return user_out(user)


async def reset_password(session: AsyncSession, username: str) -> str:
    """A new generated password that must be changed at next login; ends the user's sessions."""
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise SystemExit(f"no user named {username!r}")
    password = secrets.token_urlsafe(12)
    now = utcnow()
    user.password_hash = await hash_password_async(password)
    user.must_change_password = not user.is_superadmin
    user.updated_at = now
    for record in (await session.execute(select(Session).where(Session.user_id == user.id))).scalars():
        record.revoked_at = record.revoked_at or now
    await session.flush()
    return password
