"""The data-scope rule (shared/scope.py): departments named → only those; None → every department."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.dialects import sqlite

from shared.errors import Forbidden
from shared.i18n import Text
from shared.scope import check, covers, restrict

visits = Table("visits", MetaData(), Column("id", Integer, primary_key=True), Column("department_id", Integer))


def test_a_scope_covers_its_departments_only_and_none_covers_all() -> None:
    assert covers(frozenset({1, 2}), 2)
    assert not covers(frozenset({1, 2}), 3)
    assert not covers(frozenset({1, 2}), None)  # a record of no department is outside a named scope
    assert not covers(frozenset(), 1)
    assert covers(None, 3) and covers(None, None)


def _sql(query: object) -> str:
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]


def test_restrict_filters_a_query_by_the_departments() -> None:
    query = select(visits.c.id)
    assert restrict(query, visits.c.department_id, None) is query
    assert "visits.department_id IN (7)" in _sql(restrict(query, visits.c.department_id, frozenset({7})))
    # An empty scope sees nothing rather than everything.
    assert "WHERE" in _sql(restrict(query, visits.c.department_id, frozenset()))


def test_check_refuses_outside_the_scope_with_the_callers_words() -> None:
    check(frozenset({1}), 1, Text("不在范围内", "outside"))
    check(None, 5, Text("不在范围内", "outside"))
    with pytest.raises(Forbidden) as refused:
        check(frozenset({1}), 2, Text("该就诊不在您的科室范围内", "This visit is outside your departments"))
    assert refused.value.code == "out_of_scope"
