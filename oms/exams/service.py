"""Examinations (项目检查): results of paid item lines that need one, with report files.

Files go to the object store before the rows that name them commit; if the transaction fails,
the stored files are deleted again, so there is never a file without its record or a record
without its file.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import UploadFile
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.db import audit_log, change_feed, counters
from oms.exams.models import ExamFile, ExamFileOut, ExamOut, ExamResult, ExamResultOut, ExamState
from oms.orders.models import LineState, Order, OrderLine
from oms.visits.models import Visit
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains
from shared.storage import ObjectStore, StoredObject
from shared.uploads import JPEG, PDF, PNG, check_upload

EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
MAX_FILES = 10


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def exams_query(state: ExamState | None, day: date | None = None, q: str = "") -> Any:
    states = [state] if state else [LineState.paid, LineState.examined]
    query = (
        select(OrderLine, Order, Visit)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Visit, Visit.id == Order.visit_id)
        .where(OrderLine.needs_exam.is_(True), OrderLine.state.in_(states))  # type: ignore[attr-defined]
    )
    if day is not None:
        query = query.where(Visit.visit_date == day)
    if q:
        query = query.where(contains(q, Visit.number, Visit.patient_name, OrderLine.name))
    return query


async def _results(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, ExamResultOut]:
    """The results of these lines with their files, in two statements whatever their number."""
    if not line_ids:
        return {}
    found = await session.execute(select(ExamResult).where(ExamResult.line_id.in_(line_ids)))  # type: ignore[attr-defined]
    results = list(found.scalars())
    files: dict[int, list[ExamFileOut]] = {r.id: [] for r in results}  # type: ignore[misc]
    if results:
        rows = await session.execute(
            select(ExamFile).where(ExamFile.result_id.in_(files)).order_by(ExamFile.id)  # type: ignore[attr-defined]
        )
        for f in rows.scalars():
            files[f.result_id].append(ExamFileOut.model_validate(f))
    return {
        r.line_id: ExamResultOut(
            text=r.text,
            examined_by=r.examined_by,
            examined_at=r.examined_at,
            files=files[r.id],  # type: ignore[index]
        )
        for r in results
    }


async def exams_out(session: AsyncSession, rows: Sequence[Any]) -> list[ExamOut]:
    """`rows`: (line, order, visit) as `exams_query` selects them."""
    results = await _results(session, [line.id for line, _, _ in rows])
    return [
        ExamOut(
            line_id=line.id,
            order_id=order.id,
            visit_id=visit.id,
            visit_number=visit.number,
            patient_name=visit.patient_name,
            name=line.name,
            state=line.state,
            result=results.get(line.id),
        )
        for line, order, visit in rows
    ]


async def page(
    session: AsyncSession, paging: PageParams, state: ExamState | None = None, day: date | None = None
) -> Page[ExamOut]:
    query = exams_query(state, day, paging.q)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(OrderLine.id.desc()).offset(paging.offset).limit(paging.size))  # type: ignore[union-attr]
    return Page(items=await exams_out(session, rows.all()), total=total, page=paging.page, size=paging.size)


async def get_exam(session: AsyncSession, line_id: int) -> ExamOut:
    row = (await session.execute(exams_query(None).where(OrderLine.id == line_id))).first()
    if row is None:
        raise NotFound(
            Text("没有该检查项目（须为已缴费、需检查的项目）", "No such examination (a paid item that needs one)")
        )
    return (await exams_out(session, [row]))[0]


async def read_uploads(files: Sequence[UploadFile], max_bytes: int) -> list[Upload]:
    """The report files as sent, each typed by what its bytes prove (shared/uploads.py)."""
    if len(files) > MAX_FILES:
        raise Invalid(
            Text(f"最多上传 {MAX_FILES} 个文件", f"At most {MAX_FILES} files"),
            errors=[field_error("files", Text(f"最多 {MAX_FILES} 个", f"at most {MAX_FILES}"))],
        )
    uploads = []
    for upload in files:
        data = await upload.read()
        content_type = check_upload(data, upload.filename or "", max_bytes)
        uploads.append(Upload(upload.filename or "report", content_type, data))
    return uploads


async def store_files(store: ObjectStore, uploads: list[Upload]) -> list[tuple[Upload, StoredObject]]:
    stored: list[tuple[Upload, StoredObject]] = []
    try:
        for upload in uploads:
            now = utcnow()
            key = f"exams/{now:%Y/%m}/{uuid.uuid4().hex}{EXTENSIONS[upload.content_type]}"
            stored.append((upload, await store.put(key, upload.data, upload.content_type)))
    except BaseException:
        await delete_files(store, [s for _, s in stored])
        raise
    return stored


async def delete_files(store: ObjectStore, stored: list[StoredObject]) -> None:
    for obj in stored:
        await store.delete(obj.key)


async def record_result(
    session: AsyncSession, line_id: int, text: str, stored: list[tuple[Upload, StoredObject]], principal: Principal
) -> ExamOut:
    row = (await session.execute(exams_query(None).where(OrderLine.id == line_id).with_for_update())).first()
    if row is None:
        raise NotFound(
            Text("没有该检查项目（须为已缴费、需检查的项目）", "No such examination (a paid item that needs one)")
        )
    line, order, visit = row
    if line.state != LineState.paid:
        raise Conflict(Text("该项目已有检查结果", "This examination already has its result"), code="already_examined")
    result = ExamResult(line_id=line_id, visit_id=visit.id, text=text, examined_by=principal.username,
                        examined_at=utcnow())  # fmt: skip
    session.add(result)
    await session.flush()
    for upload, obj in stored:
        session.add(
            ExamFile(result_id=result.id, key=obj.key, filename=upload.filename[:200], content_type=obj.content_type,
                     size=obj.size, sha256=obj.sha256)
        )  # fmt: skip
    line.state = LineState.examined
    session.add(line)
    await session.flush()
    (answer,) = await exams_out(session, [(line, order, visit)])
    await audit.record(session, audit_log, action="examine", entity="exam", entity_id=line_id,
                       after=answer.model_dump(mode="json"))  # fmt: skip
    await publish(session, change_feed, counters, entity="exam", entity_id=line_id, action="examined",
                  data={"visit_id": visit.id, "department_id": visit.department_id, "item_id": line.item_id,
                        "files": len(stored)})  # fmt: skip
    return answer


async def record_with_files(
    db: Database, store: ObjectStore, line_id: int, text: str, uploads: list[Upload], principal: Principal
) -> ExamOut:
    """Stores the files, then commits the result that names them in its own transaction; when
    anything fails before the commit is done, the stored files are deleted again."""
    stored = await store_files(store, uploads)
    try:
        async with db.transaction() as session:
            return await record_result(session, line_id, text.strip(), stored, principal)
    except BaseException:
        await delete_files(store, [obj for _, obj in stored])
        raise


async def get_file(session: AsyncSession, file_id: int) -> ExamFile:
    found = await session.get(ExamFile, file_id)
    if found is None:
        raise NotFound(Text("文件不存在", "No such file"))
    return found


async def file_content(session: AsyncSession, store: ObjectStore, file_id: int) -> tuple[ExamFile, bytes]:
    found = await get_file(session, file_id)
    return found, await store.get(found.key)
