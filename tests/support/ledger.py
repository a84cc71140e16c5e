"""The books of every service that holds stock, checked through its own audit route: each batch's
quantity is the sum of its ledger rows (shared/stock.py). Any test that moves stock ends with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

STORES = ("sms", "pms")


def assert_books_balance(get: Callable[[str], Any], services: Iterable[str] = STORES) -> None:
    """`get(path)` answers the JSON of a GET with a token that holds `<svc>:stock:read`."""
    for service in services:
        audit = get(f"/api/{service}/stock/audit")
        assert audit["balanced"] is True, f"{service}: stock differs from its ledger: {audit['mismatches']}"
