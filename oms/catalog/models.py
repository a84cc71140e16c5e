"""What the desk sees of master data when it prices: enough to choose, never the dictionary itself."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel


class CatalogDrug(BaseModel):
    id: int
    code: str
    name: str
    spec: str
    unit: str
    price: Decimal


class CatalogItem(BaseModel):
    id: int
    code: str
    name: str
    unit: str
    price: Decimal
    needs_exam: bool
