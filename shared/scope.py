"""The data-scope rule, in one place: a principal whose role names departments sees and acts on
records of those departments only; `None` (no department named) means every department.

Principals and viewers carry the departments; each caller decides how a refusal reads (a read
outside the scope is a 404 that tells nothing, a choice outside it a 403 naming the field).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select

from shared.errors import Forbidden
from shared.i18n import Text

Departments = frozenset[int] | None


def covers(departments: Departments, department_id: int | None) -> bool:
    """Whether a record of `department_id` is within the scope."""
    return departments is None or department_id in departments


def restriction(column: Any, departments: frozenset[int]) -> ColumnElement[bool]:
    """The condition limiting rows to the scope's departments by `column`."""
    condition: ColumnElement[bool] = column.in_(departments)
    return condition


def restrict(query: Select[Any], column: Any, departments: Departments) -> Select[Any]:
    """`query` limited to the scope's departments by `column` (unchanged for every department)."""
    return query if departments is None else query.where(restriction(column, departments))


def check(departments: Departments, department_id: int | None, refusal: Text) -> None:
    """403 `out_of_scope` with `refusal` unless the record's department is within the scope."""
    if not covers(departments, department_id):
        raise Forbidden(refusal, code="out_of_scope")
