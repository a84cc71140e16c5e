"""The drugs and charge items a desk may price, read from dbs as oms itself.

A clerk holding only the outpatient module has no `dbs:*` permission, so the desk cannot search
master data with the clerk's own token; oms answers from dbs with its service identity. Only
enabled records are offered (a disabled one would be refused at pricing), and the price shown
is a hint: pricing reads it again and freezes it on the line.
"""

from __future__ import annotations

from typing import Any

from oms import remote
from oms.catalog.models import CatalogDrug, CatalogItem
from shared.paging import Page
from shared.service_client import ServiceClient

# Charge items are filtered here (dbs cannot filter by scope): every match is read, a page of
# dbs at a time, up to a catalogue far larger than a hospital's (a few hundred items).
ITEMS_PAGE = 200
ITEMS_PAGES = 20


def _drug(record: dict[str, Any]) -> CatalogDrug:
    return CatalogDrug(
        id=record["id"],
        code=record["code"],
        name=record["name"],
        spec=record.get("spec") or "",
        unit=record.get("unit_name") or "",
        price=record["price"],
    )


def _item(record: dict[str, Any]) -> CatalogItem:
    return CatalogItem(
        id=record["id"],
        code=record["code"],
        name=record["name"],
        unit=record.get("unit_name") or "",
        price=record["price"],
        needs_exam=bool(record.get("needs_exam")),
    )


async def drugs(client: ServiceClient, q: str, page: int, size: int) -> Page[CatalogDrug]:
    found = await remote.enabled_page(client, "/api/dbs/drugs", q, page, size)
    return Page(items=[_drug(d) for d in found["items"]], total=found["total"], page=page, size=size)


async def charge_items(client: ServiceClient, q: str, page: int, size: int) -> Page[CatalogItem]:
    """Outpatient (and general) items only: an inpatient item is refused at outpatient pricing."""
    matches: list[CatalogItem] = []
    for number in range(1, ITEMS_PAGES + 1):
        found = await remote.enabled_page(client, "/api/dbs/charge-items", q, number, ITEMS_PAGE)
        matches += [_item(i) for i in found["items"] if i["scope"] != "inpatient"]
        if number * ITEMS_PAGE >= found["total"]:
            break
    start = (page - 1) * size
    return Page(items=matches[start : start + size], total=len(matches), page=page, size=size)
