from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoginIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: int
    username: str
    real_name: str
    permissions: list[str]
    must_change_password: bool
    # Why it must be changed: "initial" (chosen by an administrator or generated) or "expired".
    password_change_reason: Literal["initial", "expired"] | None = None
    department_id: int | None = None
    second_factor_enabled: bool = False
    # Must enrol an authenticator before anything else (the token opens only the enrolment).
    second_factor_enrolment_required: bool = False


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    user: UserOut


class ModuleOut(BaseModel):
    key: str
    name: dict[str, str]
    available: bool


class ServiceTokenIn(BaseModel):
    service: str = Field(min_length=1, max_length=16)
    secret: str = Field(min_length=1, max_length=200)


class ServiceTokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class SecondFactorChallenge(BaseModel):
    """The password was right; the login goes on at /api/auth/login/second-factor."""

    second_factor_required: bool = True
    challenge: str
    expires_in: int


class SecondFactorLoginIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    challenge: str = Field(min_length=1, max_length=2000)
    code: str = Field(min_length=1, max_length=32, description="A 6-digit TOTP code or a recovery code.")


class SecondFactorStatus(BaseModel):
    enabled: bool
    required: bool
    enabled_at: datetime | None
    recovery_codes_left: int


class SecondFactorEnrolment(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class SecondFactorCodeIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=32)


class SecondFactorEnabled(BaseModel):
    """Recovery codes are shown this once; only their hashes are kept."""

    recovery_codes: list[str]
    tokens: TokenOut


class SecondFactorDisableIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    password: str = Field(min_length=1, max_length=128)
    code: str = Field(min_length=1, max_length=32)
