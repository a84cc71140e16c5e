"""Wards and beds: the bed rules (docs/inpatient.md, "Wards and beds" and "One bed, one stay")."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hms import remote
from hms.db import audit_log, counters, feed
from hms.stays.account import present
from hms.stays.models import Stay
from hms.wards.models import (
    MANUAL_STATES,
    Bed,
    BedIn,
    BedOut,
    BedState,
    BedStateIn,
    BedUpdate,
    BoardWard,
    Occupant,
    Ward,
    WardIn,
    WardOut,
)
from shared import audit
from shared.clock import local_date, utcnow
from shared.errors import Conflict, Invalid, NotFound, Problem, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams, fetch_page
from shared.remote import MISSING
from shared.search import contains
from shared.service_client import ServiceClient


@dataclass(frozen=True)
class Board:
    """What the bed board needs beyond the beds: today, the hospital's zone, the low-balance line."""

    today: date
    timezone: str
    threshold: Decimal


WARD_SORTS = {"code": Ward.code, "name": Ward.name, "id": Ward.id}
BED_SORTS = {"number": Bed.number, "daily_price": Bed.daily_price, "id": Bed.id}


def _duplicate(field: str, label: Text) -> Conflict:
    return Conflict(
        Text(f"{label.zh}已存在", f"This {label.en} already exists"),
        code="duplicate",
        errors=[field_error(field, Text("已存在", "already exists"), "duplicate")],
    )


def natural(number: str) -> tuple[tuple[int, str], ...]:
    """Bed numbers in the order a nurse counts them: 2 before 10, "3A" after "3"."""
    return tuple((int(part), "") if part.isdigit() else (0, part) for part in re.findall(r"\d+|\D+", number))


def _bed_label(ward: Ward | None, bed: Bed) -> str:
    return f"{ward.name} {bed.number}床" if ward else f"{bed.number}床"


def is_open(bed: Bed, ward: Ward) -> bool:
    """A bed a patient could be given: in an enabled ward and not closed (cleaning is still open)."""
    return ward.enabled and bed.state != BedState.closed


async def publish_beds(session: AsyncSession, ward: Ward, beds: list[Bed], action: str) -> None:
    """The feed's `bed` changes: statistics count the open beds of each department over time
    (occupancy) from them. The bed's whole standing each time, and nothing of a patient."""
    for bed in beds:
        await publish(
            session, feed, counters, entity="bed", entity_id=bed.id, action=action,
            data={"number": bed.number, "ward_id": ward.id, "department_id": ward.department_id,
                  "open": is_open(bed, ward)},
        )  # fmt: skip


async def _ward_beds(session: AsyncSession, ward_id: int) -> list[Bed]:
    """The ward's beds as committed, locked: a bed's state changed meanwhile is published after ours."""
    query = select(Bed).where(Bed.ward_id == ward_id).order_by(Bed.id).with_for_update()  # type: ignore[arg-type]
    return list((await session.execute(query.execution_options(populate_existing=True))).scalars())


async def _ward_of_bed(session: AsyncSession, ward_id: int, field: str | None = None) -> Ward:
    """A bed's ward, share-locked before the bed: a change of the ward (enabled, department) and one
    of its beds commit one after the other, each publishing what the other committed."""
    query = select(Ward).where(Ward.id == ward_id).with_for_update(read=True)  # type: ignore[arg-type]
    found = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if found is None:
        raise _missing(Text("病区不存在", "No such ward"), field)
    return found


# --- wards ------------------------------------------------------------------------------------


def _missing(what: Text, field: str | None) -> Problem:
    """A record named in a body is the caller's mistake on that field (422); in the path, a 404."""
    if field is None:
        return NotFound(what)
    return Invalid(what, code="bad_reference", errors=[field_error(field, MISSING, "bad_reference")])


async def get_ward(session: AsyncSession, ward_id: int, field: str | None = None) -> Ward:
    ward = await session.get(Ward, ward_id)
    if ward is None:
        raise _missing(Text("病区不存在", "No such ward"), field)
    return ward


async def _ward_out(session: AsyncSession, wards: list[Ward]) -> list[WardOut]:
    ids = [w.id for w in wards]
    counts: dict[int, Counter[str]] = {i: Counter() for i in ids if i is not None}
    if ids:
        rows = await session.execute(
            select(Bed.ward_id, Bed.state, func.count()).where(Bed.ward_id.in_(ids)).group_by(Bed.ward_id, Bed.state)  # type: ignore[attr-defined]
        )
        for ward_id, state, n in rows.all():
            counts[ward_id][state] = n
    return [
        WardOut.model_validate(w).model_copy(
            update={"beds": sum(counts[w.id].values()), "free_beds": counts[w.id][BedState.free]}  # type: ignore[index]
        )
        for w in wards
    ]


async def wards(
    session: AsyncSession, paging: PageParams, department_id: int | None, enabled: bool | None
) -> Page[WardOut]:
    query = select(Ward)
    if department_id is not None:
        query = query.where(Ward.department_id == department_id)  # type: ignore[arg-type]
    if enabled is not None:
        query = query.where(Ward.enabled == enabled)  # type: ignore[arg-type]
    if paging.q:
        query = query.where(contains(paging.q, Ward.code, Ward.name))
    rows, total = await fetch_page(session, query, paging, Ward.code, Ward.id)
    return Page(items=await _ward_out(session, rows), total=total, page=paging.page, size=paging.size)


async def ward(session: AsyncSession, ward_id: int) -> WardOut:
    return (await _ward_out(session, [await get_ward(session, ward_id)]))[0]


def _snapshot(record: Ward | Bed) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in record.model_dump(mode="json").items()}


async def _flush_unique(session: AsyncSession, field: str, label: Text) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _duplicate(field, label) from exc


async def save_ward(
    session: AsyncSession, services: ServiceClient, body: WardIn, ward_id: int | None = None
) -> WardOut:
    department = await remote.inpatient_department(services, body.department_id)
    clash = (
        await session.execute(
            select(Ward.code, Ward.name).where(
                (Ward.code == body.code) | (Ward.name == body.name),  # type: ignore[arg-type]
                Ward.id != (ward_id or 0),  # type: ignore[arg-type]
            )
        )
    ).first()
    if clash is not None:
        raise _duplicate("code" if clash.code == body.code else "name", Text("病区", "ward"))
    now = utcnow()
    before = None
    moved = False
    if ward_id is None:
        record = Ward(**body.model_dump(), department_name=department.name, created_at=now, updated_at=now)
        session.add(record)
    else:
        record = await get_ward(session, ward_id)
        before = _snapshot(record)
        moved = record.department_id != body.department_id
        for name, value in body.model_dump().items():
            setattr(record, name, value)
        record.department_name = department.name
        record.updated_at = now
    await _flush_unique(session, "code", Text("病区", "ward"))
    await audit.record(
        session, audit_log, action="create" if ward_id is None else "update", entity="ward",
        entity_id=record.id, before=before, after=_snapshot(record),
    )  # fmt: skip
    if moved:
        await publish_beds(session, record, await _ward_beds(session, record.id), "moved")  # type: ignore[arg-type]
    return await ward(session, record.id)  # type: ignore[arg-type]


async def set_ward_enabled(session: AsyncSession, ward_id: int, enabled: bool) -> WardOut:
    record = await get_ward(session, ward_id)
    before = _snapshot(record)
    record.enabled, record.updated_at = enabled, utcnow()
    await session.flush()
    await publish_beds(
        session, record, await _ward_beds(session, ward_id), "ward_enabled" if enabled else "ward_disabled"
    )
    await audit.record(
        session, audit_log, action="enable" if enabled else "disable", entity="ward", entity_id=ward_id,
        before=before, after=_snapshot(record),
    )  # fmt: skip
    return await ward(session, ward_id)


# --- beds -------------------------------------------------------------------------------------


async def get_bed(session: AsyncSession, bed_id: int, field: str | None = None) -> Bed:
    bed = await session.get(Bed, bed_id)
    if bed is None:
        raise _missing(Text("病床不存在", "No such bed"), field)
    return bed


def stay_days(stay: Stay, today: date, timezone: str) -> int:
    """Days in hospital so far, the admission day counting as the first."""
    return max(1, (today - local_date(stay.admitted_at, timezone)).days + 1)


async def _beds_out(session: AsyncSession, beds: list[Bed], board: Board | None = None) -> list[BedOut]:
    """Beds with their ward and, for the board, their occupants: two or three queries for any number of beds."""
    ward_ids = {b.ward_id for b in beds}
    found = await session.execute(select(Ward).where(Ward.id.in_(ward_ids))) if ward_ids else None  # type: ignore[union-attr]
    by_ward = {w.id: w for w in found.scalars()} if found else {}
    occupants: dict[int, Occupant] = {}
    stay_ids = [b.stay_id for b in beds if b.stay_id is not None]
    if board is not None and stay_ids:
        for stay in (await session.execute(select(Stay).where(Stay.id.in_(stay_ids)))).scalars():  # type: ignore[union-attr]
            figures = present(stay, board.threshold)
            occupants[stay.id] = Occupant(  # type: ignore[index]
                stay_id=stay.id, stay_number=stay.number, patient_name=stay.patient_name, sex=stay.sex,  # type: ignore[arg-type]
                age=stay.age, doctor_name=stay.doctor_name, diagnosis=stay.diagnosis, admitted_at=stay.admitted_at,
                days=stay_days(stay, board.today, board.timezone), balance=figures.balance,
                low_balance=figures.low_balance,
            )  # fmt: skip
    out = []
    for bed in beds:
        ward = by_ward.get(bed.ward_id)
        out.append(
            BedOut.model_validate(bed).model_copy(
                update={
                    "ward_name": ward.name if ward else "",
                    "department_id": ward.department_id if ward else 0,
                    "department_name": ward.department_name if ward else "",
                    "occupant": occupants.get(bed.stay_id) if bed.stay_id else None,
                }
            )
        )
    return out


async def beds(
    session: AsyncSession,
    paging: PageParams,
    ward_id: int | None,
    state: BedState | None,
    department_id: int | None,
) -> Page[BedOut]:
    query = select(Bed)
    if ward_id is not None:
        query = query.where(Bed.ward_id == ward_id)  # type: ignore[arg-type]
    if state is not None:
        query = query.where(Bed.state == state)  # type: ignore[arg-type]
    if department_id is not None:
        query = query.where(Bed.ward_id.in_(select(Ward.id).where(Ward.department_id == department_id)))  # type: ignore[attr-defined, arg-type]
    if paging.q:
        query = query.where(contains(paging.q, Bed.number))
    rows, total = await fetch_page(session, query, paging, Bed.ward_id, Bed.number, Bed.id)
    return Page(items=await _beds_out(session, rows), total=total, page=paging.page, size=paging.size)


async def bed(session: AsyncSession, bed_id: int) -> BedOut:
    return (await _beds_out(session, [await get_bed(session, bed_id)]))[0]


async def _audit_bed(session: AsyncSession, action: str, bed: Bed, before: dict[str, Any] | None) -> None:
    await audit.record(
        session, audit_log, action=action, entity="bed", entity_id=bed.id, before=before, after=_snapshot(bed)
    )


async def add_bed(session: AsyncSession, body: BedIn) -> BedOut:
    parent = await _ward_of_bed(session, body.ward_id, "ward_id")
    now = utcnow()
    record = Bed(**body.model_dump(), state=BedState.free, created_at=now, updated_at=now)
    session.add(record)
    await _flush_unique(session, "number", Text("床号", "bed number"))
    await _audit_bed(session, "create", record, None)
    await publish_beds(session, parent, [record], "added")
    return await bed(session, record.id)  # type: ignore[arg-type]


async def update_bed(session: AsyncSession, bed_id: int, body: BedUpdate) -> BedOut:
    record = await get_bed(session, bed_id)
    before = _snapshot(record)
    for name, value in body.model_dump().items():
        setattr(record, name, value)
    record.updated_at = utcnow()
    await _flush_unique(session, "number", Text("床号", "bed number"))
    await _audit_bed(session, "update", record, before)
    return await bed(session, bed_id)


async def set_bed_state(session: AsyncSession, bed_id: int, body: BedStateIn) -> BedOut:
    """A nurse's free / cleaning / closed, for a bed nobody occupies: one conditional UPDATE, so it
    cannot close a bed an admission is taking at that moment."""
    if body.state not in MANUAL_STATES:
        raise Invalid(
            Text("只有入院或转床可以占用病床", "Only an admission or a transfer occupies a bed"),
            code="bad_state",
            errors=[field_error("state", Text("不能手动设为占用", "cannot be set by hand"), "bad_state")],
        )
    record = await get_bed(session, bed_id)
    parent = await _ward_of_bed(session, record.ward_id)
    before = _snapshot(record)
    done = await session.execute(
        update(Bed)
        .where(Bed.id == bed_id, Bed.state != BedState.occupied)  # type: ignore[arg-type]
        .values(state=body.state, remark=body.remark, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        raise Conflict(
            Text(f"{record.number}床有患者在住，不能改变状态", f"Bed {record.number} is occupied"), code="bed_occupied"
        )
    await session.refresh(record)
    await _audit_bed(session, "state", record, before)
    # Every time, not only when it opens or closes: of two nurses at once, the later commit is the
    # later change, and tms counts only what changes whether the bed is open.
    await publish_beds(session, parent, [record], "state")
    return await bed(session, bed_id)


# --- occupancy: the one place a bed is taken or freed ---------------------------------------------


async def take(session: AsyncSession, bed_id: int, stay_id: int) -> Bed:
    """Occupies a free bed for `stay_id`, or 409 `bed_taken`: the conditional UPDATE is the decision
    (docs/inpatient.md, "One bed, one stay")."""
    record = await get_bed(session, bed_id, "bed_id")
    done = await session.execute(
        update(Bed)
        .where(Bed.id == bed_id, Bed.state == BedState.free)  # type: ignore[arg-type]
        .values(state=BedState.occupied, stay_id=stay_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(record)
    if not done.rowcount:
        ward = await session.get(Ward, record.ward_id)
        label = _bed_label(ward, record)
        state = {BedState.occupied: "已有患者", BedState.cleaning: "正在清洁", BedState.closed: "已停用"}.get(
            BedState(record.state), "不可用"
        )
        raise Conflict(
            Text(f"{label}{state}，不能安排", f"Bed {record.number} is {record.state}"), code="bed_taken",
            errors=[field_error("bed_id", Text(state, record.state), "bed_taken")],
        )  # fmt: skip
    return record


async def release(session: AsyncSession, bed_id: int, stay_id: int) -> None:
    """Frees the bed `stay_id` holds (a transfer out, a settlement)."""
    await session.execute(
        update(Bed)
        .where(Bed.id == bed_id, Bed.stay_id == stay_id)  # type: ignore[arg-type]
        .values(state=BedState.free, stay_id=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --- the bed board ------------------------------------------------------------------------------


async def board(session: AsyncSession, ward_id: int | None, view: Board) -> list[BoardWard]:
    query = select(Ward).where(Ward.enabled == True)  # noqa: E712
    if ward_id is not None:
        query = query.where(Ward.id == ward_id)  # type: ignore[arg-type]
    wards_found = list((await session.execute(query.order_by(Ward.code))).scalars())
    all_beds = (
        list(
            (
                await session.execute(
                    select(Bed).where(Bed.ward_id.in_([w.id for w in wards_found])).order_by(Bed.ward_id, Bed.number)  # type: ignore[attr-defined, arg-type]
                )
            ).scalars()
        )
        if wards_found
        else []
    )
    shown = await _beds_out(session, all_beds, view)
    out = []
    for w in wards_found:
        mine = sorted((b for b in shown if b.ward_id == w.id), key=lambda b: natural(b.number))
        counts = {state: sum(1 for b in mine if b.state == state) for state in BedState}
        out.append(
            BoardWard(
                id=w.id,
                code=w.code,
                name=w.name,
                department_id=w.department_id,  # type: ignore[arg-type]
                department_name=w.department_name,
                counts=counts,
                beds=mine,
            )
        )
    return out
