"""Field labels for messages, in both languages."""

from __future__ import annotations

from shared.i18n import Text

FIELDS: dict[str, Text] = {
    "code": Text("编码", "code"),
    "name": Text("名称", "name"),
    "spec": Text("规格", "specification"),
    "phone": Text("电话", "phone"),
    "origin_id": Text("产地", "origin"),
    "scope": Text("适用范围", "scope"),
}
