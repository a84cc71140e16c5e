"""HTTP for examinations: the work list, recording a result with report files, downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile

from oms.exams import service
from oms.exams.models import ExamOut
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, get_database
from shared.errors import Invalid, field_error
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.uploads import check_upload

EXAM = Text("项目检查", "examination")
READ = requires("oms:exam:read", EXAM)
MAX_FILES = 10

router = APIRouter(prefix="/api/oms", tags=["exams 项目检查"])


@router.get("/exams", response_model=Page[ExamOut], summary="Examinations to do (paid) and done (examined)", **READ)
async def list_exams(
    session: ReadSession,
    paging: Paging,
    state: Literal["paid", "examined"] | None = None,
    day: Annotated[date | None, Query(alias="date", description="The visit's date")] = None,
) -> Page[ExamOut]:
    return await service.page(session, paging, state, day)


@router.get("/exams/{line_id}", response_model=ExamOut, summary="One examination and its result", **READ)
async def get_exam(session: ReadSession, line_id: int) -> ExamOut:
    return await service.get_exam(session, line_id)


@router.post(
    "/exams/{line_id}/result",
    response_model=ExamOut,
    status_code=201,
    summary="Record the result, with report files (PDF, PNG or JPEG)",
    **requires("oms:exam:write", EXAM),
)
async def record_result(
    request: Request,
    line_id: int,
    principal: CurrentPrincipal,
    text: Annotated[str, Form(min_length=1, max_length=5000)],
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> ExamOut:
    settings = request.app.state.settings
    if len(files or []) > MAX_FILES:
        raise Invalid(
            Text(f"最多上传 {MAX_FILES} 个文件", f"At most {MAX_FILES} files"),
            errors=[field_error("files", Text(f"最多 {MAX_FILES} 个", f"at most {MAX_FILES}"))],
        )
    uploads = []
    for upload in files or []:
        data = await upload.read()
        content_type = check_upload(data, upload.filename or "", settings.exam_file_max_bytes)
        uploads.append(service.Upload(upload.filename or "report", content_type, data))
    store = request.app.state.store
    stored = await service.store_files(store, uploads)
    try:
        async with get_database(request).transaction() as session:
            return await service.record_result(session, line_id, text.strip(), stored, principal)
    except BaseException:
        await service.delete_files(store, [obj for _, obj in stored])
        raise


@router.get("/exam-files/{file_id}", summary="Download a report file", **READ)
async def download(request: Request, session: ReadSession, file_id: int) -> Response:
    found = await service.get_file(session, file_id)
    data = await request.app.state.store.get(found.key)
    return Response(
        data,
        media_type=found.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}"},
    )


routers = [router]
