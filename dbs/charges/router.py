from __future__ import annotations

from dbs.charges import service
from shared.crud_router import crud_router

TAG = "charges 收费"

routers = [
    crud_router(service.item_categories, "dbs", "item-categories", TAG),
    crud_router(service.charge_items, "dbs", "charge-items", TAG),
    crud_router(service.charge_types, "dbs", "charge-types", TAG),
]
