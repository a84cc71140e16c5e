"""Accounts and their sessions."""

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
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Session(GatewayTable, table=True):
    """One login: its refresh token (hashed) rotates on every refresh; revoking ends it."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="users.id", index=True)
    refresh_hash: str = Field(max_length=64, index=True)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
