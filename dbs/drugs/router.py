from __future__ import annotations

from dbs.drugs import service
from shared.crud_router import crud_router

TAG = "drugs 药品"

routers = [
    crud_router(service.drug_origins, "dbs", "drug-origins", TAG),
    crud_router(service.drug_types, "dbs", "drug-types", TAG),
    crud_router(service.units, "dbs", "units", TAG),
    crud_router(service.drugs, "dbs", "drugs", TAG),
]
