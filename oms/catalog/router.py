"""HTTP for the price list the desk prices from (drugs, charge items), under oms permissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oms.catalog import service
from oms.catalog.models import CatalogDrug, CatalogItem
from oms.orders.router import READ
from shared.paging import MAX_PAGE_SIZE, Page
from shared.state import Services

# A GET is a read (tests/security/test_domain_routes.py), and whoever reads orders already sees
# their prices: the price list tells them nothing more. Pricing itself needs oms:order:write.
PRICE = READ
Search = Annotated[str, Query(max_length=100, description="Part of the code or name.")]

router = APIRouter(prefix="/api/oms/catalog", tags=["catalog 划价目录"])


@router.get("/drugs", response_model=Page[CatalogDrug], summary="Enabled drugs to price, by code", **PRICE)
async def drugs(
    services: Services,
    q: Search = "",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Page[CatalogDrug]:
    return await service.drugs(services, q.strip(), page, size)


@router.get(
    "/charge-items", response_model=Page[CatalogItem], summary="Enabled outpatient charge items to price", **PRICE
)
async def charge_items(
    services: Services,
    q: Search = "",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Page[CatalogItem]:
    return await service.charge_items(services, q.strip(), page, size)


routers = [router]
