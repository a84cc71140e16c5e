from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from shared.auth import requires
from shared.clock import utcnow
from shared.db import ReadSession
from shared.i18n import Text
from shared.state import Services, lifespan_value
from tms.config import Config
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.lookup import Names
from tms.reports.shape import Filters, Lookup, ReportInfo, ReportOut

router = APIRouter(prefix="/api/tms/reports", tags=["reports 统计报表"])
READ = requires("tms:report:read", Text("统计报表", "reports"))

NameCache = Annotated[Names, lifespan_value("names")]


async def _lookup(names: NameCache, client: Services, settings: Config) -> Lookup:
    return await names.lookup(client, utcnow().astimezone(ZoneInfo(settings.timezone)))


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
    from shared.report_pdf import report_pdf  # TODO(lead): top-level once shared/report_pdf.py lands

    answer = await service.answer(session, service.find(REPORTS, key), filters, lookup)
    return Response(
        report_pdf(answer.model_dump(mode="json"), settings.hospital_name),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{key}.pdf"'},
    )
