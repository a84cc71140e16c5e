"""Administrators' accounts, managed by whoever holds system:user:write (the superadmin)."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.passwords import hash_password_async
from gateway.auth.service import AuthContext, end_user_sessions
from gateway.db import audit_log
from gateway.system.models import Role, User, UserRole, UserStatus
from gateway.system.users.schemas import PasswordReset, RoleRef, UserAdminOut, UserCreate, UserCreated, UserIn
from shared import audit
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.pii import mask_phone
from shared.types import utcnow


def _superadmin_protected() -> Conflict:
    return Conflict(
        Text("超级管理员账号不能被停用或更改角色", "The superadmin cannot be disabled or given roles"),
        code="superadmin_protected",
    )


def _superadmin_only() -> Forbidden:
    return Forbidden(
        Text("只有超级管理员本人可以管理超级管理员账号", "Only the superadmin may manage the superadmin account"),
        code="superadmin_protected",
    )


# What the audit log masks for viewers without pii:read.
PERSONAL = {"user": {"phone": "phone"}}


def _initial_password() -> str:
    # Letters and digits both, so it passes the password policy it is checked against later.
    return secrets.token_urlsafe(9) + str(secrets.randbelow(10)) + "a"


async def _out(session: AsyncSession, user: User, reveal_pii: bool) -> UserAdminOut:
    roles = (
        await session.execute(
            select(Role.id, Role.name).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user.id)
        )
    ).all()
    locked = user.locked_until is not None and user.locked_until > utcnow()
    return UserAdminOut(
        id=user.id,
        username=user.username,
        real_name=user.real_name,
        phone=user.phone if reveal_pii else mask_phone(user.phone),
        department_id=user.department_id,
        status=user.status,
        locked=locked,
        locked_until=user.locked_until if locked else None,
        is_superadmin=user.is_superadmin,
        must_change_password=user.must_change_password,
        roles=[RoleRef(id=r.id, name=r.name) for r in roles],
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def _audit_view(out: UserAdminOut) -> dict:
    return out.model_dump(exclude={"locked_until", "last_login_at", "created_at", "updated_at"})


async def _get(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(Text(f"用户（编号 {user_id}）不存在", f"User {user_id} not found"))
    return user


async def _managed(session: AsyncSession, user_id: int, actor_is_superadmin: bool) -> User:
    """A user the actor may change: anyone's account but the superadmin's, which only the
    superadmin may touch (a user administrator must not be able to take it over)."""
    user = await _get(session, user_id)
    if user.is_superadmin and not actor_is_superadmin:
        raise _superadmin_only()
    return user


async def list_users(
    session: AsyncSession, params: PageParams, status: UserStatus | None, reveal_pii: bool
) -> Page[UserAdminOut]:
    query = select(User)
    if params.q:
        like = f"%{params.q}%"
        # Searching a masked number would tell its hidden digits: only those who may see it search it.
        searched = [User.username, User.real_name, *([User.phone] if reveal_pii else [])]
        query = query.where(or_(*(column.like(like) for column in searched)))
    if status is not None:
        query = query.where(User.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(User.id).offset(params.offset).limit(params.size))).scalars()
    return Page(
        items=[await _out(session, u, reveal_pii) for u in rows], total=total, page=params.page, size=params.size
    )


async def get_user(session: AsyncSession, user_id: int, reveal_pii: bool) -> UserAdminOut:
    return await _out(session, await _get(session, user_id), reveal_pii)


async def _set_roles(session: AsyncSession, user: User, role_ids: list[int]) -> None:
    wanted = sorted(set(role_ids))
    found = set((await session.execute(select(Role.id).where(Role.id.in_(wanted)))).scalars()) if wanted else set()
    missing = [r for r in wanted if r not in found]
    if missing:
        raise Invalid(
            Text("所选角色不存在", "A chosen role does not exist"),
            code="bad_reference",
            errors=[field_error("role_ids", Text(f"角色不存在：{missing}", f"no such roles: {missing}"), "missing")],
        )
    await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role_id=r) for r in wanted)
    await session.flush()


async def create_user(session: AsyncSession, data: UserCreate) -> UserCreated:
    taken = (await session.execute(select(User.id).where(func.lower(User.username) == data.username.lower()))).first()
    if taken:
        raise Conflict(
            Text("用户名已存在", "This user name is taken"),
            code="duplicate",
            errors=[field_error("username", Text("已存在", "already exists"), "duplicate")],
        )
    password = _initial_password()
    now = utcnow()
    user = User(
        username=data.username,
        real_name=data.real_name,
        phone=data.phone,
        department_id=data.department_id,
        password_hash=await hash_password_async(password),
        must_change_password=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    await _set_roles(session, user, data.role_ids)
    out = await _out(session, user, reveal_pii=True)
    await audit.record(session, audit_log, action="create", entity="user", entity_id=user.id, after=_audit_view(out))
    return UserCreated(user=out, initial_password=password)


async def update_user(
    session: AsyncSession, user_id: int, data: UserIn, ctx: AuthContext, reveal_pii: bool, actor_is_superadmin: bool
) -> UserAdminOut:
    user = await _managed(session, user_id, actor_is_superadmin)
    before = await _out(session, user, reveal_pii=True)
    if user.is_superadmin and data.role_ids:
        raise _superadmin_protected()
    phone = data.phone
    if phone and "*" in phone:
        # A masked number sent back unchanged keeps the stored one.
        if phone != mask_phone(user.phone):
            raise Invalid(
                Text("号码不完整", "A number is incomplete"),
                code="masked_value",
                errors=[field_error("phone", Text("请输入完整号码", "enter the full number"), "masked_value")],
            )
        phone = user.phone
    user.real_name, user.phone, user.department_id = data.real_name, phone, data.department_id
    user.updated_at = utcnow()
    await _set_roles(session, user, data.role_ids)
    after = await _out(session, user, reveal_pii=True)
    await audit.record(
        session,
        audit_log,
        action="update",
        entity="user",
        entity_id=user_id,
        before=_audit_view(before),
        after=_audit_view(after),
    )
    if before.roles != after.roles or before.department_id != after.department_id:
        await ctx.revocations.reissue_user(user_id)
    return await _out(session, user, reveal_pii)


async def _audited(session: AsyncSession, user: User, action: str, before: dict) -> None:
    user.updated_at = utcnow()
    await session.flush()
    after = _audit_view(await _out(session, user, reveal_pii=True))
    await audit.record(session, audit_log, action=action, entity="user", entity_id=user.id, before=before, after=after)


async def set_status(
    session: AsyncSession,
    user_id: int,
    status: UserStatus,
    ctx: AuthContext,
    reveal_pii: bool,
    actor_is_superadmin: bool,
) -> UserAdminOut:
    user = await _managed(session, user_id, actor_is_superadmin)
    if user.is_superadmin and status != UserStatus.ACTIVE:
        raise _superadmin_protected()
    before = _audit_view(await _out(session, user, reveal_pii=True))
    if user.status == status:
        return await _out(session, user, reveal_pii)
    user.status = status
    user.updated_at = utcnow()
    await session.flush()
    after = await _out(session, user, reveal_pii=True)
    await audit.record(
        session,
        audit_log,
        action="enable" if status == UserStatus.ACTIVE else "disable",
        entity="user",
        entity_id=user_id,
        before=before,
        after=_audit_view(after),
    )
    if status != UserStatus.ACTIVE:
        await end_user_sessions(session, user_id, "disabled", ctx)
        await ctx.revocations.reissue_user(user_id)
    return await _out(session, user, reveal_pii)


async def unlock(
    session: AsyncSession, user_id: int, ctx: AuthContext, reveal_pii: bool, actor_is_superadmin: bool
) -> UserAdminOut:
    user = await _managed(session, user_id, actor_is_superadmin)
    before = _audit_view(await _out(session, user, reveal_pii=True))
    user.locked_until = None
    await ctx.store.delete(f"login-failures:{user.id}")
    await _audited(session, user, "unlock", before)
    return await _out(session, user, reveal_pii)


async def reset_password(
    session: AsyncSession, user_id: int, ctx: AuthContext, actor_is_superadmin: bool
) -> PasswordReset:
    user = await _managed(session, user_id, actor_is_superadmin)
    before = _audit_view(await _out(session, user, reveal_pii=True))
    password = _initial_password()
    user.password_hash = await hash_password_async(password)
    user.must_change_password = not user.is_superadmin
    user.locked_until = None
    await _audited(session, user, "reset_password", before)
    await end_user_sessions(session, user_id, "password_reset", ctx)
    await ctx.revocations.reissue_user(user_id)
    return PasswordReset(initial_password=password)


async def force_logout(session: AsyncSession, user_id: int, ctx: AuthContext, actor_is_superadmin: bool) -> int:
    user = await _managed(session, user_id, actor_is_superadmin)
    ended = await end_user_sessions(session, user.id, "forced", ctx)
    await ctx.revocations.reissue_user(user_id)
    await audit.record(
        session, audit_log, action="force_logout", entity="user", entity_id=user_id, after={"sessions_ended": ended}
    )
    return ended
