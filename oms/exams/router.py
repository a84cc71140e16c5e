"""HTTP for examinations: the work list, recording a result with report files, downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Response, UploadFile

from oms.exams import report, service
from oms.exams.models import ExamOut, ExamState
from oms.state import OmsConfig
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.state import Db, Store

EXAM = Text("项目检查", "examination")
READ = requires("oms:exam:read", EXAM)

router = APIRouter(prefix="/api/oms", tags=["exams 项目检查"])


@router.get("/exams", response_model=Page[ExamOut], summary="Examinations to do (paid) and done (examined)", **READ)
async def list_exams(
    session: ReadSession,
    paging: Paging,
    state: ExamState | None = None,
    day: Annotated[date | None, Query(alias="date", description="The visit's date")] = None,
) -> Page[ExamOut]:
    return await service.page(session, paging, state, day)


@router.get("/exams/{line_id}", response_model=ExamOut, summary="One examination and its result", **READ)
async def get_exam(session: ReadSession, line_id: int) -> ExamOut:
    return await service.get_exam(session, line_id)


@router.get(
    "/exams/{line_id}/report.pdf",
    summary="The printable examination report (检查报告单, PDF); 409 until the result is recorded",
    **READ,
)
async def report_pdf(session: ReadSession, settings: OmsConfig, line_id: int) -> Response:
    return await report.report_pdf(session, line_id, settings)


@router.post(
    "/exams/{line_id}/result",
    response_model=ExamOut,
    status_code=201,
    summary="Record the result, with report files (PDF, PNG or JPEG)",
    **requires("oms:exam:write", EXAM),
)
async def record_result(
    db: Db,
    store: Store,
    settings: OmsConfig,
    line_id: int,
    principal: CurrentPrincipal,
    text: Annotated[str, Form(min_length=1, max_length=5000)],
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> ExamOut:
    uploads = await service.read_uploads(files or [], settings.exam_file_max_bytes)
    return await service.record_with_files(db, store, line_id, text, uploads, principal)


@router.get("/exam-files/{file_id}", summary="Download a report file", **READ)
async def download(session: ReadSession, store: Store, file_id: int) -> Response:
    found, data = await service.file_content(session, store, file_id)
    return Response(
        data,
        media_type=found.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}"},
    )


routers = [router]
