"""Roles: a name, the permissions they bundle (checked against the catalogue) and a data scope."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.service import AuthContext
from gateway.db import audit_log
from gateway.system.models import DataScope, Role, RolePermission, UserRole
from gateway.system.roles.schemas import RoleIn, RoleOut
from shared import audit
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.types import utcnow


async def _out(session: AsyncSession, role: Role) -> RoleOut:
    permissions = (
        (await session.execute(select(RolePermission.permission).where(RolePermission.role_id == role.id)))
        .scalars()
        .all()
    )
    users = (await session.execute(select(func.count()).where(UserRole.role_id == role.id))).scalar_one()
    return RoleOut(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=sorted(permissions),
        data_scope=role.data_scope,
        department_ids=[int(d) for d in role.department_ids.split(",") if d],
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
        query = query.where(or_(Role.name.contains(params.q), Role.description.contains(params.q)))
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


async def create_role(session: AsyncSession, data: RoleIn, catalogue: set[str]) -> RoleOut:
    _validate(data, catalogue)
    await _check_name(session, data.name, None)
    role = Role(name=data.name, created_at=utcnow(), updated_at=utcnow())
    await _write(session, role, data)
    out = await _out(session, role)
    await audit.record(session, audit_log, action="create", entity="role", entity_id=role.id, after=out.model_dump())
    return out


async def update_role(
    session: AsyncSession, role_id: int, data: RoleIn, catalogue: set[str], ctx: AuthContext
) -> RoleOut:
    role = await _get(session, role_id)
    before = (await _out(session, role)).model_dump()
    # Permissions that no running service declares any more may stay on a role, but not be added.
    _validate(data, catalogue | set(before["permissions"]))
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


async def delete_role(session: AsyncSession, role_id: int) -> None:
    role = await _get(session, role_id)
    if await _holders(session, role_id):
        raise Conflict(Text("该角色仍有用户在使用，不能删除", "Users still hold this role"), code="referenced")
    before = (await _out(session, role)).model_dump()
    await session.execute(delete(RolePermission).where(RolePermission.role_id == role_id))
    await session.delete(role)
    await session.flush()
    await audit.record(session, audit_log, action="delete", entity="role", entity_id=role_id, before=before)
