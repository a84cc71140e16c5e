from __future__ import annotations

from dbs.logistics import service
from shared.crud_router import crud_router

TAG = "logistics 仓库与供货商"

routers = [
    crud_router(service.warehouses, "dbs", "warehouses", TAG),
    crud_router(service.suppliers, "dbs", "suppliers", TAG),
]
