"""Administrators' accounts, managed by whoever holds system:user:write (the superadmin)."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import totp
from gateway.auth.passwords import hash_password_async
from gateway.auth.service import (
    AuthContext,
    end_user_sessions,
    grants_of,
    log_password_reset,
    retire_password,
)
from gateway.db import audit_log
from gateway.system.delegation import Actor
from gateway.system.models import Role, User, UserRole, UserStatus
from gateway.system.roles.builtin import roles_without_active_holder
from gateway.system.roles.service import role_permissions
from gateway.system.users.schemas import PasswordReset, RoleRef, UserAdminOut, UserCreate, UserCreated, UserIn
from shared import audit, fieldcrypt
from shared.clock import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.pii import mask_phone
from shared.search import contains


def _superadmin_protected() -> Conflict:
    return Conflict(
        Text("超级管理员账号不能被授予角色", "The superadmin cannot be given roles"),
        code="superadmin_protected",
    )


def _superadmin_only() -> Forbidden:
    return Forbidden(
        Text("只有超级管理员本人可以管理超级管理员账号", "Only the superadmin may manage the superadmin account"),
        code="superadmin_protected",
    )


# What the audit log masks for viewers without pii:read; encrypted there like in the table.
PERSONAL = {"user": {"phone": "phone"}}
audit.encrypt_personal(audit_log, PERSONAL)


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
        second_factor_enabled=await totp.enabled(session, user.id),
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


async def _managed(session: AsyncSession, user_id: int, actor: Actor, *, stronger_too: bool = False) -> User:
    """A user the actor may change. The superadmin's account only the superadmin may touch (a
    user administrator must not be able to take it over); an account holding more than the actor
    only where `stronger_too` (unlocking or ending sessions gives the actor nothing)."""
    user = await _get(session, user_id)
    if user.is_superadmin and not actor.is_superadmin:
        raise _superadmin_only()
    if not stronger_too and not user.is_superadmin and not actor.covers(await grants_of(session, user)):
        raise actor.refuse_stronger_user()
    return user


async def list_users(
    session: AsyncSession, params: PageParams, status: UserStatus | None, reveal_pii: bool
) -> Page[UserAdminOut]:
    query = select(User)
    if params.q:
        # The phone is encrypted: found by the full number only, through its blind index, by anyone
        # who may list users (the answer stays masked without pii:read); no part of it matches.
        indexes = fieldcrypt.keyring_of(session).lookup("phone", params.q)
        query = query.where(or_(contains(params.q, User.username, User.real_name), User.phone_index.in_(indexes)))
    if status is not None:
        query = query.where(User.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(User.id).offset(params.offset).limit(params.size))).scalars()
    return Page(
        items=[await _out(session, u, reveal_pii) for u in rows], total=total, page=params.page, size=params.size
    )


async def get_user(session: AsyncSession, user_id: int, reveal_pii: bool) -> UserAdminOut:
    return await _out(session, await _get(session, user_id), reveal_pii)


async def _set_roles(session: AsyncSession, user: User, role_ids: list[int], actor: Actor) -> None:
    wanted = sorted(set(role_ids))
    found = {r.id: r for r in (await session.execute(select(Role).where(Role.id.in_(wanted)))).scalars()}
    missing = [r for r in wanted if r not in found]
    if missing:
        raise Invalid(
            Text("所选角色不存在", "A chosen role does not exist"),
            code="bad_reference",
            errors=[field_error("role_ids", Text(f"角色不存在：{missing}", f"no such roles: {missing}"), "missing")],
        )
    held = set((await session.execute(select(UserRole.role_id).where(UserRole.user_id == user.id))).scalars())
    changed = held.symmetric_difference(wanted)
    if changed and user.id == actor.user_id:
        raise actor.refuse_own_roles()
    # Taking a role away is handing out its absence: only roles the actor could give may move.
    for role in (await session.execute(select(Role).where(Role.id.in_(changed)))).scalars().all():
        if not actor.may_grant(role, await role_permissions(session, role.id), user.department_id):
            raise Forbidden(
                Text(f"不能授予或收回超出本人权限的角色：{role.name}", f"Beyond your own grants: role {role.name}"),
                code="grant_beyond_own",
                errors=[field_error("role_ids", Text("超出本人权限", "beyond your own"), "beyond_own")],
            )
    await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role_id=r) for r in wanted)
    await session.flush()


async def create_user(session: AsyncSession, data: UserCreate, actor: Actor) -> UserCreated:
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
    await _set_roles(session, user, data.role_ids, actor)
    out = await _out(session, user, reveal_pii=True)
    await audit.record(session, audit_log, action="create", entity="user", entity_id=user.id, after=_audit_view(out))
    return UserCreated(user=out, initial_password=password)


async def update_user(
    session: AsyncSession, user_id: int, data: UserIn, ctx: AuthContext, reveal_pii: bool, actor: Actor
) -> UserAdminOut:
    user = await _managed(session, user_id, actor)
    before = await _out(session, user, reveal_pii=True)
    if user.is_superadmin and data.role_ids:
        raise _superadmin_protected()
    # A user's own department is their data scope under an "own department" role.
    if user_id == actor.user_id and data.department_id != user.department_id:
        raise actor.refuse_own_roles()
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
    await _set_roles(session, user, data.role_ids, actor)
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
    actor: Actor,
) -> UserAdminOut:
    user = await _managed(session, user_id, actor)
    if user.is_superadmin and status != UserStatus.ACTIVE:
        # The superadmin only bootstraps the three administrators, then may step aside
        # (`hamp superadmin enable` on the host brings it back).
        vacant = await roles_without_active_holder(session)
        if vacant:
            names = "、".join(vacant)
            raise Conflict(
                Text(f"请先为以下三员角色指定在用账号：{names}", f"Give these roles an active holder first: {names}"),
                code="builtin_roles_vacant",
            )
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


async def unlock(session: AsyncSession, user_id: int, ctx: AuthContext, reveal_pii: bool, actor: Actor) -> UserAdminOut:
    user = await _managed(session, user_id, actor, stronger_too=True)
    before = _audit_view(await _out(session, user, reveal_pii=True))
    user.locked_until = None
    await ctx.store.delete(f"login-failures:{user.id}")
    await _audited(session, user, "unlock", before)
    return await _out(session, user, reveal_pii)


async def reset_password(session: AsyncSession, user_id: int, ctx: AuthContext, actor: Actor) -> PasswordReset:
    user = await _managed(session, user_id, actor)
    before = _audit_view(await _out(session, user, reveal_pii=True))
    password = _initial_password()
    # Not checked against the history (it is random), but the old one joins it: the user cannot
    # go back to the password they had before the reset.
    await retire_password(session, user, ctx.settings.password_history)
    user.password_hash = await hash_password_async(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    user.locked_until = None
    await _audited(session, user, "reset_password", before)
    await end_user_sessions(session, user_id, "password_reset", ctx)
    log_password_reset(session, user, "admin_reset")
    await ctx.revocations.reissue_user(user_id)
    return PasswordReset(initial_password=password)


async def force_logout(session: AsyncSession, user_id: int, ctx: AuthContext, actor: Actor) -> int:
    user = await _managed(session, user_id, actor, stronger_too=True)
    ended = await end_user_sessions(session, user.id, "forced", ctx)
    await ctx.revocations.reissue_user(user_id)
    await audit.record(
        session, audit_log, action="force_logout", entity="user", entity_id=user_id, after={"sessions_ended": ended}
    )
    return ended


async def reset_second_factor(
    session: AsyncSession, user_id: int, ctx: AuthContext, reveal_pii: bool, actor: Actor
) -> UserAdminOut:
    """A lost phone: the authenticator and recovery codes are forgotten and the user's sessions
    end; where their permissions require it, they enrol anew at the next login. Like unlocking,
    it gives the actor nothing, so it is allowed on accounts stronger than the actor's."""
    user = await _managed(session, user_id, actor, stronger_too=True)
    before = _audit_view(await _out(session, user, reveal_pii=True))
    await totp.forget(session, user_id)
    await _audited(session, user, "reset_second_factor", before)
    await end_user_sessions(session, user_id, "second_factor_reset", ctx)
    await ctx.revocations.reissue_user(user_id)
    return await _out(session, user, reveal_pii)
