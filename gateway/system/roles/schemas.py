from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.system.models import DataScope


class RoleIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    name: str = Field(min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=500)
    permissions: list[str] = Field(default_factory=list, max_length=500)
    data_scope: DataScope = DataScope.ALL
    department_ids: list[int] = Field(default_factory=list, max_length=200)


class RoleOut(BaseModel):
    id: int
    name: str
    description: str | None
    permissions: list[str]
    data_scope: DataScope
    department_ids: list[int]
    # The 三员 role's key ("system_admin", "security_admin", "audit_admin"); None for other roles.
    builtin: str | None = None
    user_count: int
    created_at: datetime
    updated_at: datetime
