"""Disposals (报损销毁): units of a batch out of stock for good with their ledger row; the only way an
expired batch leaves the warehouse; bad input writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.errors import Problem
from shared.stock import BatchIn, Movement, put
from sms.db import stock
from tests.sms.conftest import WAREHOUSE, SmsApi, line, today

WRITTEN = ("disposals", "stock_batches", "stock_movements", "audit_log", "change_feed")


def counts(api: SmsApi) -> dict[str, int]:
    return {table: api.count(table) for table in WRITTEN}


def disposer(api: SmsApi) -> str:
    return api.token("sms:disposal:read", "sms:disposal:write", username="disposer", user_id=31)


def dispose(api: SmsApi, batch_id: Any, quantity: Any, reason: Any = "过期销毁") -> httpx.Response:
    body = {"batch_id": batch_id, "quantity": quantity, "reason": reason}
    return api.post("disposals", body, token=disposer(api))


def expired_batch(api: SmsApi, drug_id: int, quantity: int) -> int:
    """A batch that expired ten days ago, received back when it was still good (with its ledger row)."""

    async def receive(session: Any) -> int:
        batch = BatchIn(
            drug_id=drug_id,
            batch_no="OLD1",
            expiry_date=today() - dt.timedelta(days=10),
            production_date=today() - dt.timedelta(days=800),
            purchase_price=Decimal("4.00"),
        )
        return await put(
            session, stock, store_id=WAREHOUSE, batch=batch, quantity=quantity, movement=Movement.inbound,
            reference="RK-TEST", person="keeper",
        )  # fmt: skip

    return api._in_app(receive)  # type: ignore[no-any-return]


def test_an_expired_batch_is_disposed_of_with_its_ledger_row(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    batch_id = expired_batch(api, drug, 12)
    # Nothing else takes it out: not an outbound order, not a dispense.
    with pytest.raises(Problem) as refused:
        api.take_out(drug, 1, batch_id)
    assert refused.value.code == "batch_expired"

    answer = dispose(api, batch_id, 12)

    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["number"].startswith("XH") and made["expired"] is True
    assert (made["batch_no"], made["quantity"], made["amount"], made["created_by"]) == ("OLD1", 12, "48.00", "disposer")
    assert made["drug_name"] == api.drug("YP0001")["name"]
    assert [b["quantity"] for b in api.batches()] == [0]
    ledger = [m for m in api.movements() if m["movement"] == "disposal"]
    assert [(m["quantity"], m["reference"], m["reason"], m["person"]) for m in ledger] == [
        (-12, made["number"], "过期销毁", "disposer")
    ]
    assert api.stock_audit() == []
    assert [(a["action"], a["entity"]) for a in api.audit_rows()][-1] == ("create", "disposal")
    listed = api.get("disposals", params={"expired": True}, token=disposer(api)).json()
    assert [d["number"] for d in listed["items"]] == [made["number"]]


def test_part_of_a_good_batch_is_disposed_of(api: SmsApi) -> None:
    posted = api.posted(line(api.drug("YP0001")["id"], "A1", quantity=40))

    answer = dispose(api, posted["lines"][0]["batch_id"], 3, "破损")

    assert answer.status_code == 201 and answer.json()["expired"] is False
    assert [b["quantity"] for b in api.batches()] == [37]
    assert api.stock_audit() == []


def test_more_than_the_batch_holds_is_refused_and_takes_nothing(api: SmsApi) -> None:
    posted = api.posted(line(api.drug("YP0001")["id"], "A1", quantity=5))
    before = counts(api)

    answer = dispose(api, posted["lines"][0]["batch_id"], 6)

    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_stock"
    assert "缺 1" in answer.json()["detail"]
    assert counts(api) == before and [b["quantity"] for b in api.batches()] == [5]


@pytest.mark.parametrize(
    ("case", "field"),
    [("zero", "quantity"), ("negative", "quantity"), ("no reason", "reason"), ("unknown batch", "batch_id")],
)
def test_bad_disposals_are_refused_and_write_nothing(api: SmsApi, case: str, field: str) -> None:
    batch_id = api.posted(line(api.drug("YP0001")["id"], "A1", quantity=5))["lines"][0]["batch_id"]
    before = counts(api)

    answer = {
        "zero": lambda: dispose(api, batch_id, 0),
        "negative": lambda: dispose(api, batch_id, -2),
        "no reason": lambda: dispose(api, batch_id, 1, ""),
        "unknown batch": lambda: dispose(api, 99999, 1),
    }[case]()

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"].endswith(field)
    assert counts(api) == before


def test_disposing_needs_its_permission(api: SmsApi) -> None:
    batch_id = api.posted(line(api.drug("YP0001")["id"], "A1", quantity=5))["lines"][0]["batch_id"]
    answer = api.post("disposals", {"batch_id": batch_id, "quantity": 1, "reason": "破损"})  # the store-keeper
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert api.get("disposals", token=None).status_code == 401
