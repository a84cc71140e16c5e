from __future__ import annotations

from dbs.charges.models import (
    ChargeItem,
    ChargeItemIn,
    ChargeItemOut,
    ChargeType,
    ChargeTypeIn,
    ChargeTypeOut,
    ItemCategory,
)
from dbs.db import audit_log
from dbs.drugs.models import NamedIn, NamedOut, Unit
from dbs.drugs.service import UNIT
from dbs.labels import FIELDS
from shared.crud import Reference, Resource
from shared.i18n import Text

CATEGORY = Text("项目大类", "item category")

item_categories = Resource(
    key="item_category",
    label=CATEGORY,
    table=ItemCategory,
    create_schema=NamedIn,
    read_schema=NamedOut,
    audit_table=audit_log,
    field_labels=FIELDS,
)
charge_items = Resource(
    key="charge_item",
    label=Text("收费项目", "charge item"),
    table=ChargeItem,
    create_schema=ChargeItemIn,
    read_schema=ChargeItemOut,
    audit_table=audit_log,
    search=("name", "code"),
    unique=(("code",), ("name", "scope")),
    references=(Reference("category_id", ItemCategory, CATEGORY), Reference("unit_id", Unit, UNIT)),
    field_labels=FIELDS,
)
charge_types = Resource(
    key="charge_type",
    label=Text("收费类型", "charge type"),
    table=ChargeType,
    create_schema=ChargeTypeIn,
    read_schema=ChargeTypeOut,
    audit_table=audit_log,
    field_labels=FIELDS,
)
