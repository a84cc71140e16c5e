"""Examinations (检查) of items booked to a stay: the work list, a result with an optional report
file, and its download.

The file goes to the object store before the row that names it commits; if the transaction fails
the file is deleted again (as oms/exams does), so there is no file without its record. A result may
be recorded on a settled stay: results arrive after discharge, and recording one moves no money.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hms.charges.models import Charge, ChargeKind, ChargeOut, ChargeState, ExamOut, ExamState
from hms.charges.service import no_charge, snapshot
from hms.db import audit_log, counters, feed
from hms.stays.models import Stay
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.scope import Departments, restrict
from shared.search import contains
from shared.storage import ObjectStore
from shared.uploads import JPEG, PDF, PNG, check_upload

EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
STATES = {ExamState.pending: ChargeState.booked, ExamState.examined: ChargeState.examined}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _exams(state: ExamState | None, q: str, departments: Departments) -> Any:
    states = [STATES[state]] if state else list(STATES.values())
    query = (
        select(Charge, Stay)
        .join(Stay, Stay.id == Charge.stay_id)
        .where(Charge.needs_exam.is_(True), Charge.kind == ChargeKind.item, Charge.state.in_(states))  # type: ignore[attr-defined, arg-type]
    )
    if q:
        query = query.where(contains(q, Stay.number, Stay.patient_name, Charge.name))
    return restrict(query, Stay.department_id, departments)


def _out(charge: Charge, stay: Stay) -> ExamOut:
    where = {"stay_number": stay.number, "patient_name": stay.patient_name, "department_name": stay.department_name,
             "ward_name": stay.ward_name, "bed_number": stay.bed_number}  # fmt: skip
    return ExamOut.model_validate({**ChargeOut.model_validate(charge).model_dump(), **where})


async def page(
    session: AsyncSession, paging: PageParams, state: ExamState | None, departments: Departments
) -> Page[ExamOut]:
    """The examinations to do (pending) and done, oldest booking first: the order they were asked for."""
    query = _exams(state, paging.q, departments)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(Charge.id).offset(paging.offset).limit(paging.size))  # type: ignore[arg-type]
    return Page(items=[_out(c, s) for c, s in rows.all()], total=total, page=paging.page, size=paging.size)


async def read_upload(file: UploadFile | None, max_bytes: int) -> Upload | None:
    """The report as sent, typed by what its bytes prove (shared/uploads.py)."""
    if file is None:
        return None
    data = await file.read()
    try:
        content_type = check_upload(data, file.filename or "", max_bytes)
    except Invalid as exc:
        exc.errors = [{**error, "field": "file"} for error in exc.errors]  # this form's field is `file`
        raise
    return Upload(file.filename or "report", content_type, data)


def _no_exam() -> NotFound:
    return NotFound(Text("没有该检查项目（须为需检查的住院项目）", "No such examination (an item that needs one)"))


async def _record(
    session: AsyncSession, charge_id: int, result: str, upload: Upload | None, key: str | None, principal: Principal
) -> ExamOut:
    row = (await session.execute(_exams(None, "", principal.departments).where(Charge.id == charge_id))).first()  # type: ignore[arg-type]
    if row is None:
        found = await session.get(Charge, charge_id)
        if found is not None and found.needs_exam and found.state == ChargeState.cancelled:
            raise Conflict(Text("该项目已冲销", "This item is credited"), code="already_credited")
        raise _no_exam()
    # Booked → examined once: of two results at once, the second finds no booked row.
    done = await session.execute(
        update(Charge)
        .where(Charge.id == charge_id, Charge.state == ChargeState.booked)  # type: ignore[arg-type]
        .values(
            state=ChargeState.examined,
            exam_result=result,
            report_key=key,
            report_name=upload.filename[:200] if upload else None,
            examined_by=principal.username,
            examined_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        raise Conflict(Text("该项目已有检查结果", "This examination already has its result"), code="already_examined")
    query = select(Charge).where(Charge.id == charge_id).execution_options(populate_existing=True)  # type: ignore[arg-type]
    charge = (await session.execute(query)).scalar_one()
    stay = row[1]
    await audit.record(session, audit_log, action="examine", entity="charge", entity_id=charge_id,
                       after=snapshot(charge))  # fmt: skip
    await publish(
        session, feed, counters, entity="charge", entity_id=charge_id, action="examined",
        data={"stay_id": stay.id, "stay_number": stay.number, "department_id": stay.department_id,
              "item_id": charge.item_id, "code": charge.code, "files": 1 if upload else 0},
    )  # fmt: skip
    return _out(charge, stay)


async def record(
    db: Database, store: ObjectStore, charge_id: int, result: str, upload: Upload | None, principal: Principal
) -> ExamOut:
    """Stores the report, then commits the result that names it; when anything fails before the
    commit, the stored report is deleted again."""
    if not result.strip():
        raise Invalid(
            Text("请填写检查结果", "Enter the result"), code="required",
            errors=[field_error("result", Text("必填", "required"), "required")],
        )  # fmt: skip
    key = None
    if upload is not None:
        key = f"exams/{utcnow():%Y/%m}/{uuid.uuid4().hex}{EXTENSIONS[upload.content_type]}"
        await store.put(key, upload.data, upload.content_type)
    try:
        async with db.transaction() as session:
            return await _record(session, charge_id, result.strip(), upload, key, principal)
    except BaseException:
        if key is not None:
            await store.delete(key)
        raise


async def report(
    session: AsyncSession, store: ObjectStore, charge_id: int, departments: Departments
) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of an examination's report."""
    row = (await session.execute(_exams(None, "", departments).where(Charge.id == charge_id))).first()  # type: ignore[arg-type]
    if row is None:
        raise no_charge()
    charge = row[0]
    if not charge.report_key:
        raise NotFound(Text("该检查没有报告文件", "This examination has no report file"), code="no_report")
    return (
        charge.report_name or "report",
        await store.content_type(charge.report_key),
        await store.get(charge.report_key),
    )
