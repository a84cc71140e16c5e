"""HTTP for a ``shared.crud.Resource``: list, get, create, update, enable/disable, delete.

No ``from __future__ import annotations`` here: FastAPI reads the schema classes from the
closures' annotations at route creation.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shared import crud
from shared.auth import CurrentPrincipal, Principal, requires
from shared.db import ReadSession, WriteSession
from shared.paging import Page, PageParams, sortable
from shared.pii import PII_PERMISSION


def viewer_of(principal: Principal) -> crud.Viewer:
    return crud.Viewer(departments=principal.departments, reveal_pii=principal.can(PII_PERMISSION))


def crud_router(resource: crud.Resource, service: str, path: str, tag: str) -> APIRouter:
    """Routes under /api/<service>/<path>; read and write permissions `<service>:<key>:read|write`."""
    create_schema: Any = resource.create_schema
    read_schema: Any = resource.read_schema
    read = requires(f"{service}:{resource.key}:read", resource.label)
    write = requires(f"{service}:{resource.key}:write", resource.label)
    router = APIRouter(prefix=f"/api/{service}/{path}", tags=[tag])
    label = resource.label.en
    paging_of_list = sortable(**crud.sort_columns(resource))

    @router.get("", response_model=Page[read_schema], summary=f"List {label}", **read)
    async def list_(
        session: ReadSession,
        paging: Annotated[PageParams, paging_of_list],
        principal: CurrentPrincipal,
        enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false).")] = None,
    ) -> Any:
        return await crud.list_records(session, resource, paging, {"enabled": enabled}, viewer_of(principal))

    @router.get("/{record_id}", response_model=read_schema, summary=f"Get one {label}", **read)
    async def get(session: ReadSession, record_id: int, principal: CurrentPrincipal) -> Any:
        return await crud.get_record(session, resource, record_id, viewer_of(principal))

    @router.post(
        "", response_model=read_schema, status_code=status.HTTP_201_CREATED, summary=f"Create {label}", **write
    )
    async def create(session: WriteSession, body: create_schema, principal: CurrentPrincipal) -> Any:
        return await crud.create_record(session, resource, body, viewer_of(principal))

    @router.put("/{record_id}", response_model=read_schema, summary=f"Update {label}", **write)
    async def update(session: WriteSession, record_id: int, body: create_schema, principal: CurrentPrincipal) -> Any:
        return await crud.update_record(session, resource, record_id, body, viewer_of(principal))

    @router.post("/{record_id}/disable", response_model=read_schema, summary=f"Disable {label}", **write)
    async def disable(session: WriteSession, record_id: int, principal: CurrentPrincipal) -> Any:
        return await crud.set_enabled(session, resource, record_id, False, viewer_of(principal))

    @router.post("/{record_id}/enable", response_model=read_schema, summary=f"Enable {label}", **write)
    async def enable(session: WriteSession, record_id: int, principal: CurrentPrincipal) -> Any:
        return await crud.set_enabled(session, resource, record_id, True, viewer_of(principal))

    @router.delete(
        "/{record_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary=f"Delete {label} (409 while referenced)",
        **write,
    )
    async def delete(session: WriteSession, record_id: int, principal: CurrentPrincipal) -> Response:
        await crud.delete_record(session, resource, record_id, viewer_of(principal))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
