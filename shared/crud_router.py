"""HTTP for a ``shared.crud.Resource``: list, get, create, update, enable/disable, delete.

No ``from __future__ import annotations`` here: FastAPI reads the schema classes from the
closures' annotations at route creation.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shared import crud
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.paging import Page, Paging


def crud_router(resource: crud.Resource, service: str, path: str, tag: str) -> APIRouter:
    """Routes under /api/<service>/<path>; read and write permissions `<service>:<key>:read|write`."""
    create_schema: Any = resource.create_schema
    read_schema: Any = resource.read_schema
    read = requires(f"{service}:{resource.key}:read")
    write = requires(f"{service}:{resource.key}:write")
    router = APIRouter(prefix=f"/api/{service}/{path}", tags=[tag])
    label = resource.label.en

    @router.get("", response_model=Page[read_schema], summary=f"List {label}", **read)
    async def list_(
        session: ReadSession,
        paging: Paging,
        enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false).")] = None,
    ) -> Any:
        return await crud.list_records(session, resource, paging, {"enabled": enabled})

    @router.get("/{record_id}", response_model=read_schema, summary=f"Get one {label}", **read)
    async def get(session: ReadSession, record_id: int) -> Any:
        return await crud.get_record(session, resource, record_id)

    @router.post(
        "",
        response_model=read_schema,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create {label}",
        **write,
    )
    async def create(session: WriteSession, body: create_schema) -> Any:
        return await crud.create_record(session, resource, body)

    @router.put("/{record_id}", response_model=read_schema, summary=f"Update {label}", **write)
    async def update(session: WriteSession, record_id: int, body: create_schema) -> Any:
        return await crud.update_record(session, resource, record_id, body)

    @router.post("/{record_id}/disable", response_model=read_schema, summary=f"Disable {label}", **write)
    async def disable(session: WriteSession, record_id: int) -> Any:
        return await crud.set_enabled(session, resource, record_id, False)

    @router.post("/{record_id}/enable", response_model=read_schema, summary=f"Enable {label}", **write)
    async def enable(session: WriteSession, record_id: int) -> Any:
        return await crud.set_enabled(session, resource, record_id, True)

    @router.delete(
        "/{record_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary=f"Delete {label} (409 while referenced)",
        **write,
    )
    async def delete(session: WriteSession, record_id: int) -> Response:
        await crud.delete_record(session, resource, record_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
