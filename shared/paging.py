"""`?page=1&size=20&sort=-created_at&q=…` → `{items, total, page, size}`.

`sort` is one rule for every list: a list declares the fields it sorts by
(`Annotated[PageParams, sortable(name=Model.name, …)]`); `?sort=name` orders by one of them,
`?sort=-name` descending; any other field, and any `sort` at all on a list that declares none
(`Paging`, `PlainPaging`), is refused with 422 naming `sort`, never silently ignored.

No ``from __future__ import annotations`` here: FastAPI reads the query parameters of the
dependencies made in `sortable` from their annotations, which name its locals.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Invalid, field_error
from shared.i18n import Text

T = TypeVar("T")

MAX_PAGE_SIZE = 200

PageNumber = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")]
SearchText = Annotated[str, Query(max_length=100, description="Search text.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


@dataclass(frozen=True)
class PageParams:
    page: int
    size: int
    sort: str
    q: str
    # The ORDER BY `sort` asked for, checked against the list's fields; () without `sort`.
    order: tuple[Any, ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def _bad_sort(name: str, fields: Mapping[str, Any]) -> Invalid:
    return Invalid(
        Text(f"不能按 {name} 排序", f"Cannot sort by {name}"),
        code="bad_sort",
        errors=[
            field_error(
                "sort",
                Text("不支持的排序字段", "unknown sort field")
                if fields
                else Text("此列表不支持排序", "this list cannot be sorted"),
            )
        ],
        extensions={"sortable": list(fields)},
    )


def order_by(sort: str, columns: Mapping[str, Any]) -> tuple[Any, ...]:
    """The ORDER BY of `?sort=field` or `?sort=-field`: () without one, 422 for a field not in `columns`."""
    if not sort:
        return ()
    name = sort.removeprefix("-")
    if name not in columns:
        raise _bad_sort(name, columns)
    column = columns[name]
    return (column.desc() if sort.startswith("-") else column.asc(),)


def sortable(**columns: Any) -> Any:
    """The paging dependency of a list sorted by these fields (name → column); use as
    `Annotated[PageParams, sortable(...)]`. The list's own order follows as the tie-break."""
    described = f"Field to sort by, '-' first for descending: {', '.join(columns)}."

    # async: a plain function would be run in a worker thread on every request.
    async def params(
        page: PageNumber = 1,
        size: PageSize = 20,
        sort: Annotated[str, Query(max_length=64, description=described)] = "",
        q: SearchText = "",
    ) -> PageParams:
        return PageParams(page=page, size=size, sort=sort, q=q.strip(), order=order_by(sort, columns))

    return Depends(params)


def _refuse_sort(request: Request) -> None:
    # Not declared (nothing to document), still refused: a client must not believe it sorted.
    sort = request.query_params.get("sort")
    if sort:
        raise _bad_sort(sort.removeprefix("-"), {})


async def _page_params(request: Request, page: PageNumber = 1, size: PageSize = 20, q: SearchText = "") -> PageParams:
    _refuse_sort(request)
    return PageParams(page=page, size=size, sort="", q=q.strip())


# A list in its own fixed order, searched by `q`.
Paging = Annotated[PageParams, Depends(_page_params)]


async def _plain_page_params(request: Request, page: PageNumber = 1, size: PageSize = 20) -> PageParams:
    _refuse_sort(request)
    return PageParams(page=page, size=size, sort="", q="")


# For lists with a fixed order and no search: they do not offer `q` only to ignore it.
PlainPaging = Annotated[PageParams, Depends(_plain_page_params)]


async def fetch_page(
    session: AsyncSession, query: Select[Any], paging: PageParams, *order_by: Any
) -> tuple[list[Any], int]:
    """One page of `query` (ORM rows), in the order `?sort=` asked for and then `order_by`, and
    the count of all its rows."""
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = await session.execute(query.order_by(*paging.order, *order_by).offset(paging.offset).limit(paging.size))
    return list(rows.scalars()), int(total)
