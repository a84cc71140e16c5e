from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.system.models import UserStatus
from shared.fields import Mobile


class UserIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    real_name: str = Field(min_length=1, max_length=50)
    phone: Mobile = None
    department_id: int | None = Field(default=None, ge=1)
    role_ids: list[int] = Field(default_factory=list, max_length=50)


class UserCreate(UserIn):
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")


class RoleRef(BaseModel):
    id: int
    name: str


class UserAdminOut(BaseModel):
    id: int
    username: str
    real_name: str
    phone: str | None
    department_id: int | None
    status: UserStatus
    locked: bool
    locked_until: datetime | None
    is_superadmin: bool
    must_change_password: bool
    second_factor_enabled: bool = False
    roles: list[RoleRef]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserCreated(BaseModel):
    user: UserAdminOut
    initial_password: str


class PasswordReset(BaseModel):
    initial_password: str
