"""Accounts: users, roles and their permissions, sessions with their refresh tokens, the login log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from gateway.db import GatewayTable
from shared.types import UTCDateTime


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class User(GatewayTable, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32)
    real_name: str = Field(max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    department_id: int | None = Field(default=None, description="A dbs department id (no cross-service key).")
    status: UserStatus = Field(default=UserStatus.ACTIVE, sa_type=String(16))
    is_superadmin: bool = False
    password_hash: str = Field(max_length=255)
    must_change_password: bool = False
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DataScope(StrEnum):
    ALL = "all"
    DEPARTMENTS = "departments"
    OWN = "own"


class Role(GatewayTable, table=True):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    description: str | None = Field(default=None, max_length=500)
    data_scope: DataScope = Field(default=DataScope.ALL, sa_type=String(16))
    # The chosen departments of a "departments" scope, as "1,5,9" (dbs ids: no cross-service key).
    department_ids: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RolePermission(GatewayTable, table=True):
    __tablename__ = "role_permissions"

    role_id: int = Field(foreign_key="roles.id", primary_key=True)
    permission: str = Field(max_length=100, primary_key=True)


class UserRole(GatewayTable, table=True):
    __tablename__ = "user_roles"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    role_id: int = Field(foreign_key="roles.id", primary_key=True, index=True)


class Session(GatewayTable, table=True):
    """One login. Its refresh tokens rotate; reusing a rotated one revokes the whole session."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="users.id", index=True)
    refresh_hash: str = Field(max_length=64, index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str = Field(default="", max_length=32)


class RotatedRefreshToken(GatewayTable, table=True):
    """Refresh tokens already traded in: seeing one again means it was stolen (or replayed)."""

    __tablename__ = "rotated_refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="sessions.id", index=True, max_length=32)
    rotated_at: datetime = Field(sa_type=UTCDateTime)


class LoginResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


class LoginLog(GatewayTable, table=True):
    __tablename__ = "login_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=64, index=True)
    user_id: int | None = Field(default=None, index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    result: LoginResult = Field(sa_type=String(16))
    reason: str = Field(default="", max_length=32)
