from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from gateway.state import Auth, Routes
from gateway.system.catalogue import ModuleNode, catalogue, permission_keys
from gateway.system.deps import CurrentActor
from gateway.system.roles import service
from gateway.system.roles.schemas import RoleIn, RoleOut
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging

LABEL = Text("角色", "role")
READ = requires("system:role:read", LABEL)
WRITE = requires("system:role:write", LABEL)

router = APIRouter(prefix="/api/system", tags=["system 角色与权限"])


async def _catalogue(request: Request, routes: Routes) -> list[ModuleNode]:
    return await catalogue(request.app, routes)


Catalogue = Annotated[list[ModuleNode], Depends(_catalogue)]


@router.get("/permissions", response_model=list[ModuleNode], summary="The permission catalogue, by module", **READ)
async def permissions(tree: Catalogue) -> list[ModuleNode]:
    return tree


@router.get("/roles", response_model=Page[RoleOut], summary="List roles", **READ)
async def list_roles(session: ReadSession, paging: Paging) -> Page[RoleOut]:
    return await service.list_roles(session, paging)


@router.post("/roles", response_model=RoleOut, status_code=201, summary="Create a role", **WRITE)
async def create_role(session: WriteSession, body: RoleIn, tree: Catalogue, actor: CurrentActor) -> RoleOut:
    return await service.create_role(session, body, permission_keys(tree), actor)


@router.get("/roles/{role_id}", response_model=RoleOut, summary="Get one role", **READ)
async def get_role(session: ReadSession, role_id: int) -> RoleOut:
    return await service.get_role(session, role_id)


@router.put("/roles/{role_id}", response_model=RoleOut, summary="Update a role", **WRITE)
async def update_role(
    session: WriteSession, role_id: int, body: RoleIn, tree: Catalogue, auth: Auth, actor: CurrentActor
) -> RoleOut:
    return await service.update_role(session, role_id, body, permission_keys(tree), auth, actor)


@router.delete(
    "/roles/{role_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a role (409 while users hold it)",
    **WRITE,
)
async def delete_role(session: WriteSession, role_id: int, actor: CurrentActor) -> Response:
    await service.delete_role(session, role_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
