from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gateway.auth.activity import BACKGROUND_HEADER
from gateway.state import ExportSlots, Routes, Settings
from gateway.system.exports import service
from gateway.system.exports.service import Caller, ExportRequest
from shared.auth import LoggedIn
from shared.state import Db
from shared.tabular import MEDIA_TYPES, TableFormat

router = APIRouter(prefix="/api/system", tags=["system 导出"])

# Passed on to the pages asked for: who asks, in which language, from where.
CALLER_HEADERS = frozenset({b"authorization", b"accept-language", b"x-forwarded-for", b"x-forwarded-proto", b"host"})


async def _caller(request: Request, principal: LoggedIn) -> Caller:
    headers = [(k, v) for k, v in request.scope["headers"] if k in CALLER_HEADERS]
    # Not the user's own activity: the pages do not keep their session alive on their own.
    headers.append((BACKGROUND_HEADER, b"1"))
    return Caller(principal, headers, request.scope.get("client"), request.scope.get("scheme", "http"))


async def _export_request(
    request: Request,
    path: Annotated[str, Query(max_length=200, description="The list's path, e.g. /api/oms/visits.")],
    format: Annotated[TableFormat, Query(description="xlsx or csv.")] = TableFormat.XLSX,
    columns: Annotated[
        str,
        Query(max_length=20000, description='JSON: [{"key": "visit.number", "label": "就诊号", "values": {…}}].'),
    ] = "",
    title: Annotated[str, Query(max_length=60, description="The file's name, before the date.")] = "",
) -> ExportRequest:
    return ExportRequest(path, format, columns, title, list(request.query_params.multi_items()))


@router.get(
    "/exports",
    response_class=FileResponse,
    responses={200: {"content": {MEDIA_TYPES[f]: {} for f in TableFormat}, "description": "The file."}},
    summary="Any list as XLSX or CSV, with the list's own filters (its own query parameters beside these); "
    "needs the list's permission and <module>:data:export",
)
async def export(
    request: Request,
    routes: Routes,
    db: Db,
    settings: Settings,
    slots: ExportSlots,
    caller: Annotated[Caller, Depends(_caller)],
    asked: Annotated[ExportRequest, Depends(_export_request)],
) -> FileResponse:
    done = await service.export(
        request.app, routes, db, caller, asked, slots, max_rows=settings.export_max_rows, timezone=settings.timezone
    )
    return FileResponse(
        done.path, media_type=done.media_type, filename=done.filename, background=BackgroundTask(done.path.unlink)
    )
