from __future__ import annotations

from dbs.db import audit_log
from dbs.drugs.models import Drug, DrugIn, DrugOrigin, DrugOut, DrugType, NamedIn, NamedOut, Unit
from dbs.labels import FIELDS
from shared.crud import Reference, Resource
from shared.i18n import Text

ORIGIN = Text("产地", "origin")
DRUG_TYPE = Text("药品类型", "drug type")
UNIT = Text("计量单位", "unit")


def _named(key: str, label: Text, table: type) -> Resource:
    return Resource(
        key=key,
        label=label,
        table=table,
        create_schema=NamedIn,
        read_schema=NamedOut,
        audit_table=audit_log,
        field_labels=FIELDS,
    )


drug_origins = _named("drug_origin", ORIGIN, DrugOrigin)
drug_types = _named("drug_type", DRUG_TYPE, DrugType)
units = _named("unit", UNIT, Unit)
drugs = Resource(
    key="drug",
    label=Text("药品", "drug"),
    table=Drug,
    create_schema=DrugIn,
    read_schema=DrugOut,
    audit_table=audit_log,
    search=("name", "code", "spec"),
    unique=(("code",), ("name", "spec", "origin_id")),
    references=(
        Reference("type_id", DrugType, DRUG_TYPE),
        Reference("origin_id", DrugOrigin, ORIGIN),
        Reference("unit_id", Unit, UNIT),
    ),
    field_labels=FIELDS,
)
