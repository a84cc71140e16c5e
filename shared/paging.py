"""`?page=1&size=20&sort=-created_at&q=…` → `{items, total, page, size}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_PAGE_SIZE = 200


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

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def _page_params(
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = 20,
    sort: Annotated[str, Query(max_length=64, description="Field to sort by; '-' for descending.")] = "",
    q: Annotated[str, Query(max_length=100, description="Search text.")] = "",
) -> PageParams:
    return PageParams(page=page, size=size, sort=sort, q=q.strip())


Paging = Annotated[PageParams, Depends(_page_params)]


def _plain_page_params(
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = 20,
) -> PageParams:
    return PageParams(page=page, size=size, sort="", q="")


# For lists with a fixed order and no search: they do not offer `sort` and `q` only to ignore them.
PlainPaging = Annotated[PageParams, Depends(_plain_page_params)]


async def fetch_page(session: AsyncSession, query: Select, paging: PageParams, *order_by: Any) -> tuple[list, int]:
    """One page of `query` (ORM rows) and the count of all its rows."""
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = await session.execute(query.order_by(*order_by).offset(paging.offset).limit(paging.size))
    return list(rows.scalars()), total
