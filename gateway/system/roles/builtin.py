"""三员分立: the three built-in administrators' roles, made at start and never deleted or edited.

GB/T 22239-2019 (level 3) asks that system, security and audit administration be held by
different people, none able to do another's job. Each role below holds only its own
permissions, none of them `pii:read` or a module's business permissions, so none reads
patient data; and since nobody may grant what they do not hold (delegation.py), the system
administrator, who manages accounts and roles, cannot give anyone the security or audit
administrator's powers. Their permission sets are the code's: a start after an upgrade brings
the stored roles back to these lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.system.models import DataScope, Role, RolePermission, User, UserRole, UserStatus
from gateway.system.modules import MODULES
from shared.clock import utcnow
from shared.i18n import Text


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str
    description: str
    permissions: tuple[str, ...]


SYSTEM_ADMIN = BuiltinRole(
    "system_admin",
    "系统管理员",
    "三员之一：管理账号、角色和主数据配置，处理模块间积压的消息；不能查看日志，也不能处理安全事务",
    (
        "system:user:read",
        "system:user:write",
        "system:role:read",
        "system:role:write",
        "dbs:*",
        # Keeping the system running: messages between modules that are stuck (消息队列).
        "system:outbox:read",
        *(f"{module}:outbox:{action}" for module in MODULES for action in ("read", "write")),
    ),
)
SECURITY_ADMIN = BuiltinRole(
    "security_admin",
    "安全管理员",
    "三员之一：查看安全策略，解锁账号，重置两步验证，管理在线会话，查询应用日志",
    (
        "system:user:read",
        "system:user:unlock",
        "system:session:read",
        "system:session:write",
        "system:security:read",
        "system:security:write",
        # 日志查询: the application logs, where a security incident leaves its traces.
        "system:applog:read",
    ),
)
AUDIT_ADMIN = BuiltinRole(
    "audit_admin",
    "审计管理员",
    "三员之一：查阅所有操作日志、登录日志、应用日志和审计链状态，不能更改任何内容",
    (
        "system:audit:read",
        "system:login_log:read",
        "system:applog:read",
        *(f"{module}:audit:read" for module in MODULES),
    ),
)
BUILTIN_ROLES = (SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN)


async def ensure_builtin_roles(session: AsyncSession) -> None:
    """Creates the three roles, or brings their name and permissions back to the code's."""
    now = utcnow()
    existing = {r.builtin: r for r in (await session.execute(select(Role).where(Role.builtin.is_not(None)))).scalars()}
    for spec in BUILTIN_ROLES:
        role = existing.get(spec.key)
        if role is None:
            # A role an administrator made earlier under the same name makes way (it keeps its holders).
            clash = (await session.execute(select(Role).where(Role.name == spec.name))).scalar_one_or_none()
            if clash is not None:
                clash.name = f"{spec.name}（原）"
                await session.flush()
            role = Role(name=spec.name, builtin=spec.key, created_at=now, updated_at=now)
        role.name, role.description = spec.name, spec.description
        role.data_scope, role.department_ids = DataScope.ALL, ""
        session.add(role)
        await session.flush()
        query = select(RolePermission.permission).where(RolePermission.role_id == role.id)
        if set((await session.execute(query)).scalars()) != set(spec.permissions):
            await session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
            session.add_all(RolePermission(role_id=role.id, permission=p) for p in sorted(set(spec.permissions)))
            role.updated_at = now
    await session.flush()


async def roles_without_active_holder(session: AsyncSession) -> list[str]:
    """The built-in roles nobody active holds: the superadmin stays until each has someone."""
    held = set(
        (
            await session.execute(
                select(Role.builtin)
                .join(UserRole, UserRole.role_id == Role.id)
                .join(User, User.id == UserRole.user_id)
                .where(Role.builtin.is_not(None), User.status == UserStatus.ACTIVE)
            )
        ).scalars()
    )
    return [spec.name for spec in BUILTIN_ROLES if spec.key not in held]


def builtin_role_protected() -> Text:
    return Text("三员内置角色不能修改或删除", "A built-in administrator role cannot be changed or deleted")
