"""pms's and sms's feeds → stock movements valued at purchase price, their daily rollups, and
tms's own quantity of every batch (docs/statistics.md, 药房统计 and 仓库统计).

Each change carries, per batch it moved, the drug, batch number, expiry, purchase price and signed
quantity, so a handler needs nothing else: batches are added to, never looked up, and a dispense
applied before the delivery that brought its batch (entities of one page are applied apart) still
leaves the batch right once both are in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.feed import Change
from tms.ingest.context import Context, Handler, fen, month_of
from tms.rollups import add_up
from tms.stores.models import StockBatch, StoreDay, StoreMovement

PHARMACY = 1  # pms keeps its one store as store 1

# The kinds of movement, by source: what the reports' columns add up.
RECEIVED, DISPENSED_OMS, DISPENSED_HMS, RETURNED, TO_WAREHOUSE = (
    "received", "dispensed_oms", "dispensed_hms", "returned", "to_warehouse")  # fmt: skip
INBOUND, INBOUND_REVERSAL, OUTBOUND, RETURNS, DISPOSAL, ADJUSTMENT = (
    "inbound", "inbound_reversal", "outbound", "returns", "disposal", "adjustment")  # fmt: skip


@dataclass(frozen=True)
class Moved:
    """One batch's part of a movement."""

    store_id: int
    drug_id: int
    batch_no: str
    expiry_date: date
    unit_cost: int
    quantity: int  # signed: + into the store, - out of it


def _moved(store_id: int, drug_id: int, line: dict[str, Any], sign: int = 1) -> Moved:
    return Moved(store_id, int(drug_id), str(line["batch_no"]), date.fromisoformat(str(line["expiry_date"])),
                 fen(line["purchase_price"]), sign * int(line["quantity"]))  # fmt: skip


# What each change moved: [(kind, batches)]; nothing for a change that moves no stock.
Movements = list[tuple[str, list[Moved]]]


def _delivery(change: Change) -> Movements:
    if change.action != "received":
        return []
    return [(RECEIVED, [_moved(PHARMACY, li["drug_id"], li) for li in change.data["lines"]])]


def _dispensing(change: Change) -> Movements:
    # Received and refunded orders move no stock: a refunded line was never handed out, and a
    # dispensed one comes back only by a patient's return (drug_return), which is its own change.
    if change.action != "dispensed":
        return []
    kind = DISPENSED_HMS if change.data.get("source") == "hms" else DISPENSED_OMS
    return [(kind, list(_line_batches(change, -1)))]


def _drug_return(change: Change) -> Movements:
    if change.action != "returned":
        return []
    return [(RETURNED, list(_line_batches(change, 1)))]


def _line_batches(change: Change, sign: int) -> Iterator[Moved]:
    for line in change.data["lines"]:
        for batch in line.get("batches", []):
            yield _moved(PHARMACY, line["drug_id"], batch, sign)


def _warehouse_return(change: Change) -> Movements:
    if change.action != "returned":
        return []
    # The lines' quantities are already negative: the units left the pharmacy.
    return [(TO_WAREHOUSE, [_moved(PHARMACY, li["drug_id"], li) for li in change.data["lines"]])]


def _signed_lines(change: Change, sign: int = 1) -> list[Moved]:
    store = int(change.data["warehouse_id"])
    return [_moved(store, li["drug_id"], li, sign) for li in change.data["lines"]]


def _inbound(change: Change) -> Movements:
    # Quantities come signed: a reversal's take the units back out.
    kinds = {"posted": INBOUND, "reversal_posted": INBOUND_REVERSAL}
    return [(kinds[change.action], _signed_lines(change))] if change.action in kinds else []


def _outbound(change: Change) -> Movements:
    return [(OUTBOUND, _signed_lines(change, -1))] if change.action == "posted" else []


def _pharmacy_return(change: Change) -> Movements:
    if change.action != "received":
        return []
    back = [(RETURNS, _signed_lines(change))]
    if change.data.get("destination") == "disposal":
        # Taken straight out again: the warehouse's ledger shows both, and so do its figures.
        back.append((DISPOSAL, _signed_lines(change, -1)))
    return back


def _disposal(change: Change) -> Movements:
    if change.action != "disposed":
        return []
    data = change.data
    return [(DISPOSAL, [_moved(int(data["warehouse_id"]), data["drug_id"], data)])]  # quantity already negative


def _stocktake(change: Change) -> Movements:
    return [(ADJUSTMENT, _signed_lines(change))] if change.action == "approved" else []


def _handler(source: str, moves: Callable[[Change], Movements]) -> Handler:
    async def apply(session: AsyncSession, changes: Sequence[Change], ctx: Context) -> None:
        facts: list[dict[str, Any]] = []
        batches: list[dict[str, Any]] = []
        for change in changes:
            day = ctx.day(change.at)
            for kind, moved in moves(change):
                facts.append({
                    "source": source, "seq": change.seq, "kind": kind, "entity_id": change.entity_id,
                    "number": str(change.data.get("number") or "")[:40], "at": change.at, "day": day,
                    "value": sum(m.quantity * m.unit_cost for m in moved), "quantity": sum(m.quantity for m in moved),
                })  # fmt: skip
                batches += [{"source": source, "store_id": m.store_id, "drug_id": m.drug_id, "batch_no": m.batch_no,
                             "expiry_date": m.expiry_date, "unit_cost": m.unit_cost, "quantity": m.quantity}
                            for m in moved]  # fmt: skip
        if not facts:
            return
        # The (source, seq, kind) unique: a change applied twice fails its page whole.
        await session.execute(insert(StoreMovement.__table__), facts)  # type: ignore[attr-defined]
        await add_up(
            session, StoreDay.__table__, ("day", "source", "kind"),  # type: ignore[attr-defined]
            [{"day": f["day"], "source": source, "kind": f["kind"], "month": month_of(f["day"]), "value": f["value"],
              "quantity": f["quantity"], "movements": 1} for f in facts],
            fixed=("month",),
        )  # fmt: skip
        # A batch's expiry and price are its own from its first arrival (pms and sms keep them so):
        # set with the row, never added.
        await add_up(session, StockBatch.__table__, ("source", "store_id", "drug_id", "batch_no"), batches,  # type: ignore[attr-defined]
                     fixed=("expiry_date", "unit_cost"))  # fmt: skip

    return apply


HANDLERS: dict[tuple[str, str], Handler] = {
    ("pms", "delivery"): _handler("pms", _delivery),
    ("pms", "dispensing_order"): _handler("pms", _dispensing),
    ("pms", "drug_return"): _handler("pms", _drug_return),
    ("pms", "warehouse_return"): _handler("pms", _warehouse_return),
    ("sms", "inbound_order"): _handler("sms", _inbound),
    ("sms", "outbound_order"): _handler("sms", _outbound),
    ("sms", "pharmacy_return"): _handler("sms", _pharmacy_return),
    ("sms", "disposal"): _handler("sms", _disposal),
    ("sms", "stocktake"): _handler("sms", _stocktake),
}
