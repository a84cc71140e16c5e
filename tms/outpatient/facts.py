"""oms's feed → outpatient facts: visits as registered (less those cancelled), payments and refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.feed import Change
from tms.ingest.context import Context, Handler, fen, month_of
from tms.outpatient.models import (
    CashierDay,
    OutpatientMoneyDay,
    OutpatientMoneyMonth,
    OutpatientPayment,
    OutpatientVisit,
    OutpatientVisitDay,
    OutpatientVisitMonth,
)
from tms.rollups import add_up

CANCELLED = "cancelled"
VISITS = OutpatientVisit.__table__  # type: ignore[attr-defined]
VISIT_DAYS = OutpatientVisitDay.__table__  # type: ignore[attr-defined]
VISIT_MONTHS = OutpatientVisitMonth.__table__  # type: ignore[attr-defined]
MONEY_DAYS = OutpatientMoneyDay.__table__  # type: ignore[attr-defined]
MONEY_MONTHS = OutpatientMoneyMonth.__table__  # type: ignore[attr-defined]


async def on_visits(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    registered = [_visit(c, ctx) for c in changes if c.action == "registered"]
    if registered:
        await session.execute(insert(VISITS), registered)
    days = [_visit_day(v, visits=1) for v in registered]
    later = [c for c in changes if c.action != "registered"]
    if later:
        ids = {int(c.entity_id) for c in later}
        known = {row.id: row for row in (await session.execute(select(VISITS).where(VISITS.c.id.in_(ids)))).mappings()}
        states = {id_: dict(row) for id_, row in known.items()}
        for change in later:
            visit = states.get(int(change.entity_id))
            if visit is None:
                continue  # a change of a visit registered before the feed began: nothing to correct
            if change.action == CANCELLED and visit["state"] != CANCELLED:
                days.append(_visit_day(visit, cancelled=1))
            visit["state"] = change.action
        await session.execute(
            update(VISITS).where(VISITS.c.id == bindparam("visit_id")).values(state=bindparam("new_state")),
            [{"visit_id": id_, "new_state": v["state"]} for id_, v in states.items()],
        )
    await add_up(session, VISIT_DAYS, ("day", "department_id", "doctor_id"), days, fixed=("month",))
    await add_up(session, VISIT_MONTHS, ("month", "department_id", "doctor_id"),
                 [{k: v for k, v in d.items() if k != "day"} for d in days])  # fmt: skip


def _visit(change: Change, ctx: Context) -> dict[str, Any]:
    data = change.data
    local = ctx.local(change.at)
    return {
        "id": int(change.entity_id), "seq": change.seq, "number": data["number"],
        "visit_date": date.fromisoformat(data["visit_date"]), "registered_at": change.at,
        "registered_day": local.date(), "hour": local.hour,
        "department_id": data["department_id"], "doctor_id": data["doctor_id"],
        "registration_type_id": data.get("registration_type_id"), "fee": fen(data.get("fee")), "state": "registered",
    }  # fmt: skip


def _visit_day(visit: dict[str, Any], *, visits: int = 0, cancelled: int = 0) -> dict[str, Any]:
    day = visit["visit_date"]
    return {"day": day, "department_id": visit["department_id"], "doctor_id": visit["doctor_id"],
            "month": month_of(day), "visits": visits, "cancelled": cancelled}  # fmt: skip


async def on_payments(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    rows = [_payment(c, ctx) for c in changes if c.action in ("paid", "refunded")]
    if not rows:
        return
    await session.execute(insert(OutpatientPayment.__table__), rows)  # type: ignore[attr-defined]
    dims = ("department_id", "doctor_id", "method", "category")
    money = [{"day": r["day"], "month": month_of(r["day"]), **{k: r[k] for k in dims}, **_money(r)} for r in rows]
    await add_up(session, MONEY_DAYS, ("day", *dims), money, fixed=("month",))
    await add_up(session, MONEY_MONTHS, ("month", *dims), [{k: v for k, v in m.items() if k != "day"} for m in money])
    await add_up(
        session, CashierDay.__table__, ("day", "cashier", "method"),  # type: ignore[attr-defined]
        [{"day": r["day"], "cashier": r["cashier"], "method": r["method"],
          **{k: v for k, v in _money(r).items() if k != "insured"}} for r in rows],
    )  # fmt: skip


def _payment(change: Change, ctx: Context) -> dict[str, Any]:
    data = change.data
    at = data.get("created_at") or change.at
    local = ctx.local(at)
    refund = change.action == "refunded"
    return {
        "id": int(change.entity_id), "seq": change.seq, "number": data["number"], "refund": refund,
        # Feeds written before `category` existed: a payment's kind is what it paid for.
        "category": data.get("category") or data["kind"], "method": data["method"],
        "amount": fen(data["amount"]), "insured": fen(data.get("insured_amount")),
        "at": local, "day": local.date(), "hour": local.hour, "visit_id": data["visit_id"],
        "department_id": data["department_id"], "doctor_id": data["doctor_id"], "cashier": data.get("cashier") or "",
    }  # fmt: skip


def _money(payment: dict[str, Any]) -> dict[str, int]:
    if payment["refund"]:
        return {"paid": 0, "refunded": -payment["amount"], "insured": payment["insured"], "payments": 0, "refunds": 1}
    return {"paid": payment["amount"], "refunded": 0, "insured": payment["insured"], "payments": 1, "refunds": 0}


HANDLERS: dict[tuple[str, str], Handler] = {("oms", "visit"): on_visits, ("oms", "payment"): on_payments}
