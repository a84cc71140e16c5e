"""Roles: a name, the permissions they bundle (checked against the catalogue) and a data scope."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.service import AuthContext
from gateway.db import audit_log
from gateway.system.delegation import Actor
from gateway.system.models import DataScope, Role, RolePermission, UserRole
from gateway.system.roles.builtin import builtin_role_protected
from gateway.system.roles.schemas import RoleIn, RoleOut
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains


async def role_permissions(session: AsyncSession, role_id: int | None) -> list[str]:
    query = select(RolePermission.permission).where(RolePermission.role_id == role_id)
    return list((await session.execute(query)).scalars())


async def _out(session: AsyncSession, role: Role) -> RoleOut:
    permissions = await role_permissions(session, role.id)
    users = (await session.execute(select(func.count()).where(UserRole.role_id == role.id))).scalar_one()
    return RoleOut(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=sorted(permissions),
        data_scope=role.data_scope,
        department_ids=[int(d) for d in role.department_ids.split(",") if d],
        builtin=role.builtin,
        user_count=users,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


async def _get(session: AsyncSession, role_id: int) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise NotFound(Text(f"角色（编号 {role_id}）不存在", f"Role {role_id} not found"))
    return role


async def list_roles(session: AsyncSession, params: PageParams) -> Page[RoleOut]:
    query = select(Role)
    if params.q:
        query = query.where(contains(params.q, Role.name, Role.description))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(Role.id).offset(params.offset).limit(params.size))).scalars().all()
    return Page(items=[await _out(session, r) for r in rows], total=total, page=params.page, size=params.size)


async def get_role(session: AsyncSession, role_id: int) -> RoleOut:
    return await _out(session, await _get(session, role_id))


def _validate(data: RoleIn, catalogue: set[str]) -> None:
    unknown = sorted(set(data.permissions) - catalogue)
    errors = []
    if unknown:
        errors.append(
            field_error(
                "permissions",
                Text(f"不存在的权限：{', '.join(unknown)}", f"Unknown permissions: {', '.join(unknown)}"),
                "unknown_permission",
            )
        )
    if data.data_scope == DataScope.DEPARTMENTS and not data.department_ids:
        errors.append(field_error("department_ids", Text("请选择科室", "choose departments"), "missing"))
    if errors:
        raise Invalid(Text("角色设置有误", "The role is not valid"), code="invalid_role", errors=errors)


async def _check_name(session: AsyncSession, name: str, exclude: int | None) -> None:
    query = select(Role.id).where(func.lower(Role.name) == name.lower())
    if exclude is not None:
        query = query.where(Role.id != exclude)
    if (await session.execute(query)).first():
        raise Conflict(
            Text("角色名称已存在", "A role with this name exists"),
            code="duplicate",
            errors=[field_error("name", Text("已存在", "already exists"), "duplicate")],
        )


async def _holders(session: AsyncSession, role_id: int) -> list[int]:
    return list((await session.execute(select(UserRole.user_id).where(UserRole.role_id == role_id))).scalars())


async def _write(session: AsyncSession, role: Role, data: RoleIn) -> None:
    role.name = data.name
    role.description = data.description
    role.data_scope = data.data_scope
    role.department_ids = (
        ",".join(str(d) for d in sorted(set(data.department_ids))) if data.data_scope == DataScope.DEPARTMENTS else ""
    )
    role.updated_at = utcnow()
    session.add(role)
    await session.flush()
    await session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
    session.add_all(RolePermission(role_id=role.id, permission=p) for p in sorted(set(data.permissions)))
    await session.flush()


def _check_grantable(data: RoleIn, actor: Actor) -> None:
    """The role editor offers nothing beyond the editor's own permissions and data scope."""
    beyond = actor.beyond(data.permissions)
    if beyond:
        raise actor.refuse_beyond("permissions", beyond)
    if not actor.covers_scope(data.data_scope, set(data.department_ids), None):
        raise actor.refuse_scope("data_scope")


async def _check_editable(session: AsyncSession, role: Role, actor: Actor) -> list[str]:
    """A role the actor may change or delete: not built in, not one they hold, nothing beyond
    theirs. Returns its permissions."""
    if role.builtin:
        raise Conflict(builtin_role_protected(), code="builtin_role")
    if actor.user_id in await _holders(session, role.id):
        raise Forbidden(Text("不能修改自己持有的角色", "You cannot change a role you hold yourself"), code="own_roles")
    permissions = await role_permissions(session, role.id)
    if not actor.may_grant(role, permissions):
        raise Forbidden(
            Text("该角色的权限超出您的权限，不能由您修改", "This role holds more than you do; you cannot change it"),
            code="stronger_role",
        )
    return permissions


async def create_role(session: AsyncSession, data: RoleIn, catalogue: set[str], actor: Actor) -> RoleOut:
    _validate(data, catalogue)
    _check_grantable(data, actor)
    await _check_name(session, data.name, None)
    role = Role(name=data.name, created_at=utcnow(), updated_at=utcnow())
    await _write(session, role, data)
    out = await _out(session, role)
    await audit.record(session, audit_log, action="create", entity="role", entity_id=role.id, after=out.model_dump())
    return out


async def update_role(
    session: AsyncSession, role_id: int, data: RoleIn, catalogue: set[str], ctx: AuthContext, actor: Actor
) -> RoleOut:
    role = await _get(session, role_id)
    await _check_editable(session, role, actor)
    before = (await _out(session, role)).model_dump()
    # Permissions that no running service declares any more may stay on a role, but not be added.
    _validate(data, catalogue | set(before["permissions"]))
    _check_grantable(data, actor)
    await _check_name(session, data.name, role_id)
    await _write(session, role, data)
    out = await _out(session, role)
    await audit.record(
        session, audit_log, action="update", entity="role", entity_id=role_id, before=before, after=out.model_dump()
    )
    # Holders get tokens with the new permissions at their next refresh, within seconds.
    for user_id in await _holders(session, role_id):
        await ctx.revocations.reissue_user(user_id)
    return out


async def delete_role(session: AsyncSession, role_id: int, actor: Actor) -> None:
    role = await _get(session, role_id)
    await _check_editable(session, role, actor)
    if await _holders(session, role_id):
        raise Conflict(Text("该角色仍有用户在使用，不能删除", "Users still hold this role"), code="referenced")
    before = (await _out(session, role)).model_dump()
    await session.execute(delete(RolePermission).where(RolePermission.role_id == role_id))
    await session.delete(role)
    await session.flush()
    await audit.record(session, audit_log, action="delete", entity="role", entity_id=role_id, before=before)
