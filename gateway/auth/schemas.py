from __future__ import annotations

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
    department_id: int | None = None


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
