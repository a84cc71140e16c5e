"""HTTP for a stay's charges: items (项目记账), credits, examinations and the account (费用明细)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Response, UploadFile, status

from hms.charges import exam_report, exams, service
from hms.charges.models import AccountOut, CancelIn, ChargeOut, ExamOut, ExamState, ItemsIn
from hms.config import Config
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.state import Db, Services, Store

LABEL = Text("住院费用", "inpatient charges")
READ = requires("hms:charge:read", LABEL)
WRITE = requires("hms:charge:write", LABEL)
Id = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/hms", tags=["charges 住院费用"])


@router.post(
    "/stays/{stay_id}/items",
    response_model=list[ChargeOut],
    status_code=status.HTTP_201_CREATED,
    summary="Book charge items to a stay (项目记账), priced by dbs now",
    responses={409: {"description": "The stay is settled (`stay_settled`)"}},
    **WRITE,
)
async def book_items(
    session: WriteSession, services: Services, principal: CurrentPrincipal, stay_id: Id, body: ItemsIn
) -> list[ChargeOut]:
    return await service.book_items(session, services, stay_id, body, principal)


@router.post(
    "/charges/{charge_id}/cancel",
    response_model=ChargeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Credit an item not yet examined (冲销), once; answers the credit row",
    responses={409: {"description": "Already credited or examined, not an item, or the stay settled"}},
    **WRITE,
)
async def cancel(session: WriteSession, principal: CurrentPrincipal, charge_id: Id, body: CancelIn) -> ChargeOut:
    return await service.cancel(session, charge_id, body, principal)


@router.get(
    "/exams", response_model=Page[ExamOut], summary="Examinations to do and done (q: ZY number, patient, item)", **READ
)
async def list_exams(
    session: ReadSession, principal: CurrentPrincipal, paging: Paging, state: ExamState | None = None
) -> Page[ExamOut]:
    return await exams.page(session, paging, state, principal.departments)


@router.post(
    "/charges/{charge_id}/exam",
    response_model=ExamOut,
    summary="Record an examination's result, with an optional report (PDF, PNG or JPEG)",
    responses={409: {"description": "The result is already recorded (`already_examined`)"}},
    **WRITE,
)
async def record_exam(
    db: Db,
    store: Store,
    config: Config,
    principal: CurrentPrincipal,
    charge_id: Id,
    result: Annotated[str, Form(min_length=1, max_length=5000)],
    file: Annotated[UploadFile | None, Form()] = None,
) -> ExamOut:
    upload = await exams.read_upload(file, config.exam_file_max_bytes)
    return await exams.record(db, store, charge_id, result, upload, principal)


@router.get(
    "/charges/{charge_id}/exam/report.pdf",
    summary="The printable examination report (检查报告单, PDF); 409 until the result is recorded",
    **READ,
)
async def exam_report_pdf(session: ReadSession, config: Config, principal: CurrentPrincipal, charge_id: Id) -> Response:
    return await exam_report.report_pdf(session, charge_id, config, principal.departments)


@router.get("/charges/{charge_id}/report", summary="Download an examination's report", **READ)
async def download_report(session: ReadSession, store: Store, principal: CurrentPrincipal, charge_id: Id) -> Response:
    name, content_type, data = await exams.report(session, store, charge_id, principal.departments)
    return Response(
        data, media_type=content_type, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    )


@router.get("/stays/{stay_id}/account", response_model=AccountOut, summary="A stay's account (费用明细)", **READ)
async def account(session: ReadSession, config: Config, principal: CurrentPrincipal, stay_id: Id) -> AccountOut:
    return await service.statement(session, stay_id, principal, config.low_balance_threshold)


routers = [router]
