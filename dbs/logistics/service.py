from __future__ import annotations

from dbs.db import audit_log
from dbs.labels import FIELDS
from dbs.logistics.models import Supplier, SupplierIn, SupplierOut, Warehouse, WarehouseIn, WarehouseOut
from shared.crud import Resource
from shared.i18n import Text

warehouses = Resource(
    key="warehouse",
    label=Text("仓库", "warehouse"),
    table=Warehouse,
    create_schema=WarehouseIn,
    read_schema=WarehouseOut,
    audit_table=audit_log,
    search=("name", "location"),
    field_labels=FIELDS,
)
suppliers = Resource(
    key="supplier",
    label=Text("供货商", "supplier"),
    table=Supplier,
    create_schema=SupplierIn,
    read_schema=SupplierOut,
    audit_table=audit_log,
    search=("name", "contact", "phone"),
    field_labels=FIELDS,
)
