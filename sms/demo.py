"""Demo stock: every drug of dbs's dictionary received into the first warehouse in two batches,
and part of each sent on to the pharmacy, so that a demo prescription can be dispensed.

The drugs, the warehouse, a supplier and a handler come from dbs, so the stock is loaded in the
background once dbs (and the gateway, which issues sms's token) answer; a start never waits for
them. The pharmacy gets its part through the outbox, as from any outbound order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import DEMO_WAIT_SECONDS, LifespanPart, demo_in_background_part, demo_when_answered
from shared.clock import local_today
from shared.settings import ServiceSettings
from sms.db import stock
from sms.inbound import service as inbound
from sms.inbound.models import InboundOrderIn
from sms.masterdata import Drug, Handler, MasterData, Supplier, Warehouse
from sms.outbound import service as outbound
from sms.outbound.models import OutboundOrderIn

BY = "demo"
# Per drug: a batch expiring in a year and one in two years, in the warehouse; the pharmacy's
# share leaves from the first (first expiry first), as a store-keeper would send it.
BATCHES = ((365, 200), (730, 300))
TO_PHARMACY = 100


@dataclass(frozen=True)
class Masters:
    drugs: list[Drug]
    warehouse: Warehouse
    supplier: Supplier
    handler: Handler


async def fetch(masters: MasterData) -> Masters:
    drugs, warehouses, suppliers, handlers = await asyncio.gather(
        masters.enabled(Drug), masters.enabled(Warehouse), masters.enabled(Supplier), masters.enabled(Handler)
    )
    if not (drugs and warehouses and suppliers and handlers):
        raise LookupError("dbs has no drugs, warehouses, suppliers or handlers yet")
    return Masters(drugs, warehouses[0], suppliers[0], handlers[0])


async def load(session: AsyncSession, masters: MasterData, found: Masters, today: dt.date) -> bool:
    """Stocks an empty warehouse service; False (and nothing written) when it has stock already."""
    if (await session.execute(select(func.count()).select_from(stock.batches))).scalar_one():
        return False
    lines = [
        {
            "drug_id": drug.id,
            "batch_no": f"DEMO{today:%y%m}-{drug.id:03d}{n}",
            "production_date": (today - dt.timedelta(days=60)).isoformat(),
            "expiry_date": (today + dt.timedelta(days=days)).isoformat(),
            "purchase_price": str((drug.price * Decimal("0.7")).quantize(Decimal("0.01"))),
            "quantity": quantity,
        }
        for drug in found.drugs
        for n, (days, quantity) in enumerate(BATCHES, start=1)
    ]
    header = {"warehouse_id": found.warehouse.id, "supplier_id": found.supplier.id, "handler_id": found.handler.id}
    order = await inbound.create(session, masters, InboundOrderIn.model_validate({**header, "lines": lines}), today, BY)
    await inbound.post(session, order.id, BY)
    to_pharmacy = OutboundOrderIn.model_validate(
        {
            "warehouse_id": found.warehouse.id,
            "remark": "演示数据：药房首批备货",
            "lines": [{"drug_id": drug.id, "quantity": TO_PHARMACY} for drug in found.drugs],
        }
    )
    await outbound.create(session, found.warehouse, {d.id: d for d in found.drugs}, to_pharmacy, today, BY)
    return True


async def load_when_dbs_answers(
    app: FastAPI, settings: ServiceSettings, wait_seconds: float = DEMO_WAIT_SECONDS
) -> bool:
    masters = MasterData(app.state.services)

    async def stocked(session: AsyncSession, found: Masters) -> bool:
        return await load(session, masters, found, local_today(settings.timezone))

    added = await demo_when_answered(app.state.db, "demo stock", lambda: fetch(masters), stocked, wait_seconds)
    if added and getattr(app.state, "outbox", None) is not None:
        app.state.outbox.wake()  # the pharmacy's share goes now, not at the relay's next round
    return added


def demo_stock_part(settings: ServiceSettings) -> LifespanPart:
    """Loads the stock in the background when `demo_data` is on."""
    return demo_in_background_part(settings, lambda app: load_when_dbs_answers(app, settings))
