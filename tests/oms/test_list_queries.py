"""oms's lists run a fixed number of SQL statements per page, however many rows it holds (no query
per row), on SQLite and on MariaDB: orders, payments, examinations and a visit's detail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, event
from sqlmodel import Session

from oms.exams.models import ExamFile, ExamResult
from oms.orders.models import Order, OrderLine
from oms.payments.models import Payment, RefundLine
from oms.visits.models import Visit
from tests.oms.conftest import OmsApi
from tests.oms.test_patients import WANG

NOW = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
DAY = date(2026, 11, 22)
MANY = 20


def _visit(session: Session, patient_id: int, n: int) -> Visit:
    visit = Visit(
        number=f"MZ20261122-{n:05d}", patient_id=patient_id, patient_name=f"病人{n}", department_id=1,
        department_name="内科", doctor_id=1, doctor_name="李医生", registration_type_id=1,
        registration_type_name="普通号", schedule_id=1, booking_key=f"test-{n}", visit_date=DAY, shift="morning",
        queue_no=n, fee=Decimal("10.00"), fee_paid=True, state="paid", created_by="tester", created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    session.add(visit)
    session.flush()
    return visit


def _paid_order(session: Session, visit: Visit, n: int) -> None:
    """An item order of two lines needing an examination: paid, the first examined (a result with
    two files), the second refunded."""
    order = Order(number=f"XM20261122-{n:05d}", visit_id=visit.id, kind="item", state="paid", total=Decimal("30.00"),
                  created_by="tester", created_at=NOW, updated_at=NOW, paid_at=NOW)  # fmt: skip
    session.add(order)
    session.flush()
    kinds = ((2, "血常规", Decimal("20.00"), "examined"), (3, "尿常规", Decimal("10.00"), "refunded"))
    lines = [
        OrderLine(order_id=order.id, item_id=item, code=f"XM000{item}", name=name, unit="次", unit_price=price,
                  quantity=1, amount=price, needs_exam=True, state=state)
        for item, name, price, state in kinds
    ]  # fmt: skip
    session.add_all(lines)
    session.flush()
    paid = Payment(number=f"SF20261122-{n:05d}", visit_id=visit.id, order_id=order.id, kind="item", method="cash",
                   amount=order.total, settles=f"order:{order.id}", cashier="tester", created_at=NOW,
                   self_amount=order.total, self_method="cash")  # fmt: skip
    session.add(paid)
    session.flush()
    refund = Payment(number=f"TF20261122-{n:05d}", visit_id=visit.id, order_id=order.id, kind="refund",
                     method="cash", amount=-lines[1].amount, refund_of=paid.id, reason="不做了", cashier="tester",
                     created_at=NOW, self_amount=-lines[1].amount, self_method="cash")  # fmt: skip
    session.add(refund)
    session.flush()
    session.add(RefundLine(refund_id=refund.id, line_id=lines[1].id, amount=lines[1].amount))
    result = ExamResult(line_id=lines[0].id, visit_id=visit.id, text="正常", examined_by="tester", examined_at=NOW)
    session.add(result)
    session.flush()
    for k in (1, 2):
        session.add(ExamFile(result_id=result.id, key=f"exams/{n}-{k}.pdf", filename=f"报告{k}.pdf",
                             content_type="application/pdf", size=100 * k, sha256=f"{n:032d}{k:032d}"))  # fmt: skip
    session.flush()


@pytest.fixture
def visits(oms_api: OmsApi) -> Iterator[tuple[int, int]]:
    """A visit with one paid order and a visit with MANY: the ids of both."""
    patient = oms_api.create("patients", WANG)
    with Session(oms_api.engine) as session:
        few, many = _visit(session, patient["id"], 1), _visit(session, patient["id"], 2)
        _paid_order(session, few, 1)
        for n in range(MANY):
            _paid_order(session, many, 100 + n)
        session.commit()
        ids = few.id, many.id
    yield ids  # type: ignore[misc]
    # The next wipe empties the payments in one statement, which MariaDB refuses while a refund
    # still names the payment it reverses.
    with oms_api.engine.begin() as conn:
        conn.execute(delete(RefundLine))
        conn.execute(delete(Payment).where(Payment.refund_of.is_not(None)))  # type: ignore[union-attr]


@contextmanager
def statements(api: OmsApi) -> Iterator[list[str]]:
    """The SQL the app runs meanwhile (the outbox relay's polling, on its own clock, left out)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "outbox" not in statement:
            seen.append(statement)

    engine = api.client.app.state.db.primary.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _cost(api: OmsApi, path: str, **params: Any) -> tuple[int, Any]:
    with statements(api) as seen:
        answer = api.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return len(seen), answer.json()


@pytest.mark.parametrize("path", ["orders", "payments", "exams"])
def test_a_page_of_twenty_costs_what_a_page_of_one_does(oms_api: OmsApi, visits: tuple[int, int], path: str) -> None:
    one, small = _cost(oms_api, path, size=1)
    twenty, large = _cost(oms_api, path, size=MANY)
    assert (len(small["items"]), len(large["items"])) == (1, MANY)
    assert twenty == one, f"{path}: {one} statements for 1 row, {twenty} for {MANY}"


def test_a_visit_with_twenty_orders_costs_what_one_with_one_does(oms_api: OmsApi, visits: tuple[int, int]) -> None:
    few, many = visits
    one, small = _cost(oms_api, f"visits/{few}")
    twenty, large = _cost(oms_api, f"visits/{many}")
    assert (len(small["orders"]), len(large["orders"])) == (1, MANY)
    assert (len(small["payments"]), len(large["payments"])) == (2, 2 * MANY)
    assert twenty == one, f"{one} statements for a visit with 1 order, {twenty} with {MANY}"


def test_every_row_of_a_page_is_what_its_own_page_answers(oms_api: OmsApi, visits: tuple[int, int]) -> None:
    """The batched rows carry what each record answers alone: lines in order, the refunded lines,
    the result with its files."""
    orders = oms_api.items("orders", size=MANY)
    assert [line["name"] for line in orders[0]["lines"]] == ["血常规", "尿常规"]
    for order in orders:
        assert oms_api.get(f"orders/{order['id']}").json() == order
    payments = oms_api.items("payments", size=2 * MANY)
    refunds = [p for p in payments if p["kind"] == "refund"]
    assert refunds and all(len(p["refunded_line_ids"]) == 1 for p in refunds)
    for payment in payments:
        assert oms_api.get(f"payments/{payment['id']}").json() == payment
    exams = oms_api.items("exams", size=MANY)
    assert exams and all([f["filename"] for f in e["result"]["files"]] == ["报告1.pdf", "报告2.pdf"] for e in exams)
    for exam in exams:
        assert oms_api.get(f"exams/{exam['line_id']}").json() == exam
    detail = oms_api.get(f"visits/{visits[1]}").json()
    assert detail["orders"] == sorted(orders[:MANY], key=lambda o: o["id"])
    assert detail["payments"] == sorted(payments[: 2 * MANY], key=lambda p: p["id"])
