"""`?page=1&size=20&sort=-created_at&q=…` → `{items, total, page, size}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

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
