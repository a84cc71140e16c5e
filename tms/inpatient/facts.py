"""hms's feed → inpatient facts: admissions, transfers, charges and drug orders with their credits,
settlements and their reversals, deposits, and the beds each department has open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.feed import Change
from tms.ingest.context import Context, Handler, fen, month_of
from tms.inpatient.models import (
    InpatientBed,
    InpatientBedCount,
    InpatientCharge,
    InpatientDay,
    InpatientDeposit,
    InpatientDrugOrder,
    InpatientMoneyDay,
    InpatientSettlement,
    InpatientStay,
    InpatientTransfer,
)
from tms.rollups import add_up

DAYS = InpatientDay.__table__  # type: ignore[attr-defined]
MONEY = InpatientMoneyDay.__table__  # type: ignore[attr-defined]
CHARGES = InpatientCharge.__table__  # type: ignore[attr-defined]
DRUG_ORDERS = InpatientDrugOrder.__table__  # type: ignore[attr-defined]
BEDS = InpatientBed.__table__  # type: ignore[attr-defined]
DAY_FIGURES = (
    "admissions",
    "discharges",
    "transfers_in",
    "transfers_out",
    "bed_days",
    "deposits",
    "insured",
    "self_pay",
)
DEPOSIT_PAID_IN = "payment"


def _day_row(day: date, department_id: int, **figures: int) -> dict[str, Any]:
    return {"day": day, "department_id": department_id, "month": month_of(day),
            **{name: figures.get(name, 0) for name in DAY_FIGURES}}  # fmt: skip


async def _add_days(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await add_up(session, DAYS, ("day", "department_id"), rows, fixed=("month",))


async def _add_money(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """`rows`: (day, department_id, kind, category, amount signed): a negative amount is a credit."""
    await add_up(
        session, MONEY, ("day", "department_id", "kind", "category"),
        [{"day": r["day"], "department_id": r["department_id"], "kind": r["kind"], "category": r["category"],
          "month": month_of(r["day"]), "charged": max(r["amount"], 0), "credited": max(-r["amount"], 0)}
         for r in rows],
        fixed=("month",),
    )  # fmt: skip


# --- stays: admitted, transferred ------------------------------------------------------------------


async def on_stays(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    stays, transfers, days = [], [], []
    for change in changes:
        data = change.data
        if change.action == "admitted":
            at = data.get("admitted_at") or change.at
            day = ctx.day(at)
            stays.append({
                "id": int(change.entity_id), "seq": change.seq, "number": data["number"], "admitted_at": ctx.local(at),
                "day": day, "department_id": data["department_id"], "doctor_id": data["doctor_id"],
                "charge_type_id": data["charge_type_id"],
            })  # fmt: skip
            days.append(_day_row(day, data["department_id"], admissions=1))
        elif change.action == "transferred":
            day = ctx.day(change.at)
            origin, to = data["from_department_id"], data["department_id"]
            transfers.append({"seq": change.seq, "stay_id": int(change.entity_id), "at": change.at, "day": day,
                              "from_department_id": origin, "to_department_id": to})  # fmt: skip
            # A move to another bed of the same department (转床) takes nobody out of it.
            if origin != to:
                days += [_day_row(day, origin, transfers_out=1), _day_row(day, to, transfers_in=1)]
    if stays:
        await session.execute(insert(InpatientStay.__table__), stays)  # type: ignore[attr-defined]
    if transfers:
        await session.execute(insert(InpatientTransfer.__table__), transfers)  # type: ignore[attr-defined]
    await _add_days(session, days)


# --- charges: items and bed-days, and their credits ------------------------------------------------


async def on_charges(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    """Charged: in the stay's department on its day (a bed-day: its night's date). Credited: on the
    credit's own day, netted against the department of the charge it credits (the stay may have
    moved since), as a refund lowers the month it is made in."""
    rows = [_charge(c, ctx) for c in changes if c.action in ("charged", "credited")]  # `examined` moves no money
    if not rows:
        return
    credited = {r["reverses_id"] for r in rows if r["reverses_id"] is not None}
    origins = {r["id"]: r["department_id"] for r in rows}
    if credited - origins.keys():
        found = select(CHARGES.c.id, CHARGES.c.department_id).where(CHARGES.c.id.in_(credited - origins.keys()))
        origins.update({id_: department for id_, department in await session.execute(found)})
    for row in rows:
        if row["reverses_id"] is not None:
            row["department_id"] = origins.get(row["reverses_id"], row["department_id"])
    await session.execute(insert(CHARGES), rows)
    await _add_money(session, rows)
    await _add_days(
        session,
        [_day_row(r["day"], r["department_id"], bed_days=r["quantity"]) for r in rows if r["kind"] == "bed_day"],
    )


def _charge(change: Change, ctx: Context) -> dict[str, Any]:
    data = change.data
    service_date = data.get("service_date")
    return {
        "id": int(change.entity_id), "seq": change.seq, "stay_id": data["stay_id"], "kind": data["kind"],
        "category": data["category"], "quantity": int(data.get("quantity") or 0), "amount": fen(data["amount"]),
        "day": date.fromisoformat(service_date) if service_date else ctx.day(change.at),
        "department_id": data["department_id"], "reverses_id": data.get("reverses_id"),
    }  # fmt: skip


# --- drug orders: charged, and lines credited --------------------------------------------------------


async def on_drug_orders(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    rows = []
    for change in changes:
        if change.action not in ("charged", "credited"):
            continue
        data = change.data
        rows.append({
            "seq": change.seq, "order_id": int(change.entity_id), "credit": change.action == "credited",
            "category": data["category"], "amount": fen(data["amount"]), "day": ctx.day(change.at),
            "department_id": data["department_id"],
        })  # fmt: skip
    if not rows:
        return
    # A credit lowers the department the order was booked in.
    booked = {r["order_id"]: r["department_id"] for r in rows if not r["credit"]}
    missing = {r["order_id"] for r in rows if r["credit"]} - booked.keys()
    if missing:
        found = select(DRUG_ORDERS.c.order_id, DRUG_ORDERS.c.department_id).where(
            DRUG_ORDERS.c.order_id.in_(missing), DRUG_ORDERS.c.credit.is_(False)
        )
        booked.update({id_: department for id_, department in await session.execute(found)})
    for row in rows:
        row["department_id"] = booked.get(row["order_id"], row["department_id"])
    await session.execute(insert(DRUG_ORDERS), rows)
    await _add_money(session, [{**r, "kind": "drug"} for r in rows])


# --- settlements: discharges and what insurance paid ------------------------------------------------


async def on_settlements(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    """A settlement discharges the stay on its day; its reversal takes the discharge back on the
    reversal's own day, with its (negative) amounts."""
    rows, days = [], []
    for change in changes:
        if change.action not in ("settled", "reversed"):
            continue
        data = change.data
        at = ctx.local(data.get("at") or change.at)
        reversal = change.action == "reversed"
        row = {
            "id": int(change.entity_id), "seq": change.seq, "number": data["number"], "reversal": reversal,
            "reverses_id": data.get("reverses_id"), "at": at, "day": at.date(), "department_id": data["department_id"],
            "charge_type_id": data.get("charge_type_id"), "total": fen(data["total"]), "insured": fen(data["insured"]),
            "self_pay": fen(data["self_pay"]),
        }  # fmt: skip
        rows.append(row)
        days.append(_day_row(row["day"], row["department_id"], discharges=-1 if reversal else 1,
                             insured=row["insured"], self_pay=row["self_pay"]))  # fmt: skip
    if rows:
        await session.execute(insert(InpatientSettlement.__table__), rows)  # type: ignore[attr-defined]
    await _add_days(session, days)


# --- deposits -------------------------------------------------------------------------------------


async def on_deposits(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    rows = [
        {"id": int(c.entity_id), "seq": c.seq, "number": c.data["number"], "kind": c.data["kind"],
         "method": c.data["method"], "amount": fen(c.data["amount"]), "day": ctx.day(c.at),
         "department_id": c.data["department_id"]}
        for c in changes if c.action == "deposited"
    ]  # fmt: skip
    if not rows:
        return
    await session.execute(insert(InpatientDeposit.__table__), rows)  # type: ignore[attr-defined]
    # 预交款 paid in; a settlement's refund or collection is the account closing, not a deposit.
    await _add_days(
        session,
        [_day_row(r["day"], r["department_id"], deposits=r["amount"]) for r in rows if r["kind"] == DEPOSIT_PAID_IN],
    )


# --- beds: open or not, in which department ---------------------------------------------------------


async def on_beds(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
    """Each change carries the bed's whole standing: compared with the one known, it closes the bed
    in its old department and opens it in its new one, on the change's day."""
    ids = {int(c.entity_id) for c in changes}
    known = {
        row.id: {"department_id": row.department_id, "open": row.open}
        for row in (await session.execute(select(BEDS).where(BEDS.c.id.in_(ids)))).mappings()
    }
    standing: dict[int, dict[str, Any]] = {}
    counts = []
    for change in changes:
        bed_id, data = int(change.entity_id), change.data
        before = standing.get(bed_id) or known.get(bed_id)
        after = {"seq": change.seq, "ward_id": data["ward_id"], "department_id": data["department_id"],
                 "open": bool(data["open"])}  # fmt: skip
        day = ctx.day(change.at)
        if before is not None and before["open"]:
            counts.append({"day": day, "department_id": before["department_id"], "beds": -1})
        if after["open"]:
            counts.append({"day": day, "department_id": after["department_id"], "beds": 1})
        standing[bed_id] = after
    new = [{"id": id_, **s} for id_, s in standing.items() if id_ not in known]
    if new:
        await session.execute(insert(BEDS), new)
    changed = [{f"new_{k}": v for k, v in {"id": id_, **s}.items()} for id_, s in standing.items() if id_ in known]
    if changed:
        await session.execute(
            update(BEDS).where(BEDS.c.id == bindparam("new_id")).values(
                seq=bindparam("new_seq"), ward_id=bindparam("new_ward_id"),
                department_id=bindparam("new_department_id"), open=bindparam("new_open"),
            ),
            changed,
        )  # fmt: skip
    await add_up(session, InpatientBedCount.__table__, ("day", "department_id"), counts)  # type: ignore[attr-defined]


HANDLERS: dict[tuple[str, str], Handler] = {
    ("hms", "stay"): on_stays,
    ("hms", "charge"): on_charges,
    ("hms", "drug_order"): on_drug_orders,
    ("hms", "settlement"): on_settlements,
    ("hms", "deposit"): on_deposits,
    ("hms", "bed"): on_beds,
}
