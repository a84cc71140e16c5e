from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from gateway.state import Auth
from gateway.system.deps import CurrentActor, RevealPii
from gateway.system.models import UserStatus
from gateway.system.users import service
from gateway.system.users.schemas import PasswordReset, UserAdminOut, UserCreate, UserCreated, UserIn
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging

LABEL = Text("用户", "user")
READ = requires("system:user:read", LABEL)
WRITE = requires("system:user:write", LABEL)
# Unlocking is the security administrator's job (三员分立), not the account administrator's.
UNLOCK = requires("system:user:unlock", LABEL)
SECURITY = requires("system:security:write", Text("安全管理", "security"))

router = APIRouter(prefix="/api/system/users", tags=["system 用户"])


@router.get("", response_model=Page[UserAdminOut], summary="List users", **READ)
async def list_users(
    session: ReadSession, paging: Paging, reveal: RevealPii, status: Annotated[UserStatus | None, Query()] = None
) -> Page[UserAdminOut]:
    return await service.list_users(session, paging, status, reveal)


@router.post("", response_model=UserCreated, status_code=201, summary="Create a user (one-time password)", **WRITE)
async def create_user(session: WriteSession, body: UserCreate, actor: CurrentActor) -> UserCreated:
    return await service.create_user(session, body, actor)


@router.get("/{user_id}", response_model=UserAdminOut, summary="Get one user", **READ)
async def get_user(session: ReadSession, user_id: int, reveal: RevealPii) -> UserAdminOut:
    return await service.get_user(session, user_id, reveal)


@router.put("/{user_id}", response_model=UserAdminOut, summary="Update a user", **WRITE)
async def update_user(
    session: WriteSession, user_id: int, body: UserIn, auth: Auth, reveal: RevealPii, actor: CurrentActor
) -> UserAdminOut:
    return await service.update_user(session, user_id, body, auth, reveal, actor)


@router.post("/{user_id}/disable", response_model=UserAdminOut, summary="Disable (ends sessions)", **WRITE)
async def disable(
    session: WriteSession, user_id: int, auth: Auth, reveal: RevealPii, actor: CurrentActor
) -> UserAdminOut:
    return await service.set_status(session, user_id, UserStatus.DISABLED, auth, reveal, actor)


@router.post("/{user_id}/enable", response_model=UserAdminOut, summary="Enable", **WRITE)
async def enable(
    session: WriteSession, user_id: int, auth: Auth, reveal: RevealPii, actor: CurrentActor
) -> UserAdminOut:
    return await service.set_status(session, user_id, UserStatus.ACTIVE, auth, reveal, actor)


@router.post("/{user_id}/unlock", response_model=UserAdminOut, summary="Clear a lockout", **UNLOCK)
async def unlock(
    session: WriteSession, user_id: int, auth: Auth, reveal: RevealPii, actor: CurrentActor
) -> UserAdminOut:
    return await service.unlock(session, user_id, auth, reveal, actor)


@router.post("/{user_id}/reset-password", response_model=PasswordReset, summary="New one-time password", **WRITE)
async def reset_password(session: WriteSession, user_id: int, auth: Auth, actor: CurrentActor) -> PasswordReset:
    return await service.reset_password(session, user_id, auth, actor)


@router.post(
    "/{user_id}/force-logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="End all the user's sessions",
    **WRITE,
)
async def force_logout(session: WriteSession, user_id: int, auth: Auth, actor: CurrentActor) -> Response:
    await service.force_logout(session, user_id, auth, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/second-factor/reset",
    response_model=UserAdminOut,
    summary="Forget the user's authenticator (lost phone); ends their sessions",
    **SECURITY,
)
async def reset_second_factor(
    session: WriteSession, user_id: int, auth: Auth, reveal: RevealPii, actor: CurrentActor
) -> UserAdminOut:
    return await service.reset_second_factor(session, user_id, auth, reveal, actor)
