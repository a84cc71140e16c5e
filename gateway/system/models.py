"""Accounts: users, roles and their permissions, sessions with their refresh tokens, the login log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from gateway.db import GatewayTable
from shared import fieldcrypt
from shared.audit_chain import chain_model
from shared.fieldcrypt import EncryptedString
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
    # Encrypted at rest, found only by the full number (shared/fieldcrypt.py).
    phone: str | None = Field(default=None, sa_type=EncryptedString("users.phone", 20, index="phone"))
    phone_index: str | None = Field(default=None, max_length=fieldcrypt.INDEX_LENGTH, index=True)
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


fieldcrypt.maintain_indexes(User)


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
    # 三员分立: "system_admin", "security_admin" or "audit_admin" for the built-in roles (roles/builtin.py).
    builtin: str | None = Field(default=None, max_length=32, unique=True)
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


class LoginEvent(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"  # by the user, or the session ended for them (reason says which)
    SESSION_EXPIRED = "session_expired"  # found idle or past its lifetime when next used
    PASSWORD_CHANGED = "password_changed"  # by the user
    PASSWORD_RESET = "password_reset"  # by an administrator or `hamp reset-password`


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
    event: LoginEvent = Field(default=LoginEvent.LOGIN, sa_type=String(24), index=True)
    # The tamper-evident chain (shared/audit_chain.py); filled as the row is flushed, not by callers.
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


chain_model(LoginLog)


class PasswordHistory(GatewayTable, table=True):
    """A user's former password hashes, so that a change cannot go back to a recent one."""

    __tablename__ = "password_history"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    password_hash: str = Field(max_length=255)
    # When it stopped being the password.
    replaced_at: datetime = Field(sa_type=UTCDateTime)


class TotpCredential(GatewayTable, table=True):
    """A user's authenticator (RFC 6238). Enrolment stores the secret; confirming a code enables it."""

    __tablename__ = "totp_credentials"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    # Base32; encrypted at rest like personal data (shared/fieldcrypt.py): a database dump alone
    # must not let anyone compute an administrator's codes.
    secret: str = Field(sa_type=EncryptedString("totp_credentials.secret", 64))
    enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last time step accepted: a code is good once, so a seen code cannot be replayed.
    last_step: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)


class RecoveryCode(GatewayTable, table=True):
    """One-time codes for a lost authenticator; only their SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
