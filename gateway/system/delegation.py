"""Who may hand out what: nobody grants a permission, a role or a data scope beyond their own,
nobody changes their own roles or scope, and nobody manages an account stronger than theirs.

Without these rules an administrator holding only `system:user:write` could give themselves a
stronger role, and one holding `system:role:write` could edit a role they hold up to anything.
The actor's grants are read from the database, not from the token, so a role changed a moment
ago counts at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.service import Grants, grants_of
from gateway.system.models import DataScope, Role, User
from shared.auth import Principal, permission_granted
from shared.errors import Forbidden, Unauthorized, field_error
from shared.i18n import Text


def _departments(role: Role) -> set[int]:
    return {int(d) for d in role.department_ids.split(",") if d}


@dataclass(frozen=True)
class Actor:
    """The administrator making a change, with what they hold themselves."""

    user_id: int
    is_superadmin: bool
    permissions: frozenset[str]
    departments: frozenset[int] | None  # None: every department

    @classmethod
    def of(cls, user: User, grants: Grants) -> Actor:
        assert user.id is not None
        departments = None if grants.departments is None else frozenset(grants.departments)
        return cls(user.id, user.is_superadmin, frozenset(grants.permissions), departments)

    def beyond(self, permissions: Iterable[str]) -> list[str]:
        """The permissions among these that the actor does not hold."""
        return sorted(p for p in set(permissions) if not permission_granted(self.permissions, p))

    def covers_scope(self, scope: DataScope, departments: set[int], user_department: int | None) -> bool:
        if self.departments is None:
            return True
        if scope == DataScope.ALL:
            return False
        if scope == DataScope.DEPARTMENTS:
            return departments <= self.departments
        return user_department is not None and user_department in self.departments

    def may_grant(self, role: Role, permissions: Iterable[str], user_department: int | None = None) -> bool:
        return not self.beyond(permissions) and self.covers_scope(role.data_scope, _departments(role), user_department)

    def covers(self, grants: Grants) -> bool:
        """Holds at least everything `grants` holds (a user the actor may manage)."""
        if self.beyond(grants.permissions):
            return False
        if self.departments is None:
            return True
        return grants.departments is not None and set(grants.departments) <= self.departments

    # --- the refusals, one place each ---

    @staticmethod
    def refuse_beyond(field: str, permissions: list[str]) -> Forbidden:
        listed = "、".join(permissions)
        return Forbidden(
            Text("不能授予自己没有的权限", "You cannot grant permissions you do not hold"),
            code="grant_beyond_own",
            errors=[field_error(field, Text(f"超出本人权限：{listed}", f"beyond your own: {listed}"), "beyond_own")],
        )

    @staticmethod
    def refuse_scope(field: str) -> Forbidden:
        return Forbidden(
            Text("不能授予超出本人数据范围的权限", "You cannot grant a data scope beyond your own"),
            code="grant_beyond_own",
            errors=[field_error(field, Text("超出本人数据范围", "beyond your own data scope"), "beyond_own")],
        )

    @staticmethod
    def refuse_own_roles() -> Forbidden:
        return Forbidden(
            Text("不能更改自己的角色或所属科室", "You cannot change your own roles or department"),
            code="own_roles",
        )

    @staticmethod
    def refuse_stronger_user() -> Forbidden:
        return Forbidden(
            Text("该用户的权限超出您的权限，不能由您管理", "This user holds more than you do; you cannot manage them"),
            code="stronger_user",
        )


async def load_actor(session: AsyncSession, principal: Principal) -> Actor:
    user = await session.get(User, principal.user_id)
    if user is None:
        raise Unauthorized(Text("账号不可用", "Account not usable"), code="account_disabled")
    return Actor.of(user, await grants_of(session, user))
