"""What the stock query (库存查询) and the stock ledger (操作记录) answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel

from shared.stock import Movement


class StockRow(BaseModel):
    """One batch in one warehouse, valued at its purchase price and at the drug's selling price."""

    batch_id: int
    warehouse_id: int
    drug_id: int
    # From dbs as it is now; empty when dbs no longer knows the drug.
    drug_code: str
    drug_name: str
    drug_spec: str
    unit_name: str | None
    batch_no: str
    production_date: dt.date | None
    expiry_date: dt.date
    expired: bool
    supplier_id: int | None
    quantity: int
    purchase_price: Decimal
    purchase_value: Decimal
    # None when dbs no longer knows the drug.
    selling_price: Decimal | None
    selling_value: Decimal | None


class MovementRow(BaseModel):
    """One ledger row: + into the batch, - out of it."""

    id: int
    at: dt.datetime
    movement: Movement
    movement_label: str
    warehouse_id: int
    batch_id: int
    batch_no: str
    expiry_date: dt.date
    drug_id: int
    drug_name: str
    quantity: int
    reference: str
    person: str
    reason: str | None
