from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from shared.auth import CurrentPrincipal, require_permission, requires
from shared.clock import utcnow
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.report_pdf import report_pdf
from shared.state import Services, lifespan_value
from shared.tabular import MEDIA_TYPES, TableFormat
from tms.config import Config
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.lookup import Names
from tms.reports.shape import Filters, Lookup, ReportInfo, ReportOut

router = APIRouter(prefix="/api/tms/reports", tags=["reports 统计报表"])
READ = requires("tms:report:read", Text("统计报表", "reports"))

NameCache = Annotated[Names, lifespan_value("names")]


async def _lookup(names: NameCache, client: Services, settings: Config) -> Lookup:
    return await names.lookup(client, utcnow().astimezone(ZoneInfo(settings.timezone)), settings.expiry_warning_days)


Looked = Annotated[Lookup, Depends(_lookup)]
Filtered = Annotated[Filters, Query()]


@router.get("", response_model=list[ReportInfo], summary="The reports there are", **READ)
async def catalogue() -> list[ReportInfo]:
    return service.catalogue(REPORTS)


@router.get("/{key}", response_model=ReportOut, summary="One report, with its filters applied", **READ)
async def report(key: str, session: ReadSession, filters: Filtered, lookup: Looked) -> ReportOut:
    return await service.answer(session, service.find(REPORTS, key), filters, lookup)


@router.get("/{key}/pdf", summary="The report printed, with its chart (PDF)", **READ)
async def report_pdf_view(
    key: str, session: ReadSession, filters: Filtered, lookup: Looked, settings: Config
) -> Response:
    answer = await service.answer(session, service.find(REPORTS, key), filters, lookup)
    return Response(
        report_pdf(answer.model_dump(mode="json"), settings.hospital_name, timezone=settings.timezone),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{key}.pdf"'},
    )


async def _may_export(principal: CurrentPrincipal) -> None:
    require_permission(principal, "tms:data:export")


# The report's own permission, and exporting, which is granted apart.
EXPORT = {**READ, "dependencies": [*READ["dependencies"], Depends(_may_export)]}


@router.get(
    "/{key}/export",
    response_class=FileResponse,
    responses={200: {"content": {MEDIA_TYPES[f]: {} for f in TableFormat}, "description": "The file."}},
    summary="The report as XLSX or CSV (needs tms:data:export as well)",
    **EXPORT,
)
async def report_export(
    key: str, session: WriteSession, filters: Filtered, lookup: Looked, settings: Config,
    format: Annotated[TableFormat, Query(description="xlsx or csv.")] = TableFormat.XLSX,
) -> FileResponse:  # fmt: skip
    path, name = await service.export(session, service.find(REPORTS, key), filters, lookup, format, settings.timezone)
    return FileResponse(path, media_type=MEDIA_TYPES[format], filename=name, background=BackgroundTask(path.unlink))
