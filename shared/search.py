"""A user's search text (`q`) as a literal "contains" condition.

In LIKE, `%` and `_` are wildcards: `q=%` would list every record, and `q=_` every record with a
name. What the user typed is matched as typed: the wildcards and the escape character are
escaped, and the comparison is case-insensitive on every database (lower() on both sides, as
MySQL's collation compares anyway).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, or_

ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """The LIKE pattern (with ESCAPE) matching any value that contains `text` literally."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def contains(text: str, *columns: Any) -> ColumnElement[bool]:
    """True where any of `columns` contains `text`, literally and ignoring case."""
    if not columns:
        return false()
    pattern = contains_pattern(text.lower())
    return or_(*(func.lower(column).like(pattern, escape=ESCAPE) for column in columns))
