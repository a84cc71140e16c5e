"""Drugs, suppliers, warehouses and handlers as dbs knows them, fetched with sms's own identity.

sms keeps no table of master data: it asks dbs when an inbound order is written and freezes the
names it shows on its own rows, so later renames never rewrite a posted order. Stock rows keep
only ids; lists ask dbs for the names and selling prices of the drugs on the page, once each.

Answers are frozen pydantic models validated from dbs's JSON, as dms/masterdata.py's are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict

from shared.errors import Invalid, Problem, Unavailable, field_error
from shared.i18n import Text
from shared.service_client import ServiceClient


class Remote(BaseModel):
    """What another service answered: read-only, extra fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Drug(Remote):
    id: int
    code: str = ""
    name: str
    spec: str | None = ""
    unit_name: str | None = None
    # The selling price (the dictionary's price): what stock is worth to the hospital.
    price: Decimal = Decimal(0)
    enabled: bool = True

    @property
    def label(self) -> str:
        """How a message names the drug: name and spec."""
        return f"{self.name} {self.spec}".strip() if self.spec else self.name


class Supplier(Remote):
    id: int
    name: str
    enabled: bool = True


class Warehouse(Remote):
    id: int
    name: str
    enabled: bool = True


class Handler(Remote):
    id: int
    name: str
    enabled: bool = True


Model = TypeVar("Model", bound=Remote)

# What each kind is called in a message, and where dbs serves it.
KINDS: dict[type[Remote], tuple[str, Text]] = {
    Drug: ("drugs", Text("药品", "drug")),
    Supplier: ("suppliers", Text("供货商", "supplier")),
    Warehouse: ("warehouses", Text("仓库", "warehouse")),
    Handler: ("handlers", Text("经办人", "handler")),
}


def _unavailable() -> Unavailable:
    return Unavailable(
        Text("数据中心暂时无法提供主数据", "Master data (dbs) is not available"), code="dependency_unavailable"
    )


class MasterData:
    """Reads from dbs; a missing or disabled record is the caller's input error on `field`."""

    def __init__(self, services: ServiceClient) -> None:
        self.services = services

    async def _fetch(self, model: type[Model], record_id: int) -> Model | None:
        path = f"/api/dbs/{KINDS[model][0]}/{record_id}"
        answer = await self.services.request("DBS", "GET", path, identity="service")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise _unavailable()
        return model.model_validate(answer.json())

    async def _usable(self, model: type[Model], record_id: int, field: str) -> Model:
        found = await self._fetch(model, record_id)
        label = KINDS[model][1]
        if found is None:
            raise _unusable(field, Text(f"所选{label.zh}不存在", f"{label.en} does not exist"), "reference_missing")
        if not found.enabled:  # type: ignore[attr-defined]
            raise _unusable(field, Text(f"所选{label.zh}已停用", f"{label.en} is disabled"), "reference_disabled")
        return found

    async def drug(self, drug_id: int, field: str = "drug_id") -> Drug:
        return await self._usable(Drug, drug_id, field)

    async def supplier(self, supplier_id: int, field: str = "supplier_id") -> Supplier:
        return await self._usable(Supplier, supplier_id, field)

    async def warehouse(self, warehouse_id: int, field: str = "warehouse_id") -> Warehouse:
        return await self._usable(Warehouse, warehouse_id, field)

    async def handler(self, handler_id: int, field: str = "handler_id") -> Handler:
        return await self._usable(Handler, handler_id, field)

    async def drug_lines(self, lines: Iterable[Any]) -> list[dict[str, Any]]:
        """Each line as sent, with its drug's code, name and spec frozen on it (a later rename never
        rewrites a document); 422 on `lines.N.drug_id` for the first drug that is not usable."""
        described = []
        for i, line in enumerate(lines):
            drug = await self.drug(line.drug_id, f"lines.{i}.drug_id")
            described.append(
                {**line.model_dump(), "drug_code": drug.code, "drug_name": drug.name, "drug_spec": drug.spec or ""}
            )
        return described

    async def enabled(self, model: type[Model], limit: int = 200) -> list[Model]:
        """Every enabled record of a kind (demo data: the dictionary's drugs, the first warehouse)."""
        params: dict[str, Any] = {"enabled": "true", "size": limit}
        path = f"/api/dbs/{KINDS[model][0]}"
        answer = await self.services.request("DBS", "GET", path, params=params, identity="service")
        if answer.status_code != 200:
            raise _unavailable()
        return [model.model_validate(item) for item in answer.json()["items"]]

    async def drugs(self, drug_ids: Iterable[int]) -> dict[int, Drug]:
        """The drugs of a page, each asked once and all at once; disabled ones too (stock of a drug
        taken off the dictionary is still stock). A drug dbs no longer knows is left out."""
        ids = sorted(set(drug_ids))
        found = await asyncio.gather(*(self._fetch(Drug, i) for i in ids))
        return {i: d for i, d in zip(ids, found, strict=True) if d is not None}

    async def drug_ids_matching(self, text: str, limit: int = 200) -> list[int]:
        """Drugs whose code or name contains `text` (dbs's own search), for `?q=` on stock lists."""
        params: dict[str, Any] = {"q": text, "size": limit}
        answer = await self.services.request("DBS", "GET", "/api/dbs/drugs", params=params, identity="service")
        if answer.status_code != 200:
            raise _unavailable()
        return [int(d["id"]) for d in answer.json()["items"]]


def _unusable(field: str, message: Text, code: str) -> Problem:
    return Invalid(
        Text(f"引用的主数据不可用：{message.zh}", f"Referenced master data is not usable: {message.en}"),
        code="bad_reference",
        errors=[field_error(field, message, code)],
    )


async def master_data(request: Request) -> MasterData:
    return MasterData(request.app.state.services)
