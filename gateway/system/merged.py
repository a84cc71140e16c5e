"""One list over several modules (the operation log, the message queue), newest first.

One module pages itself. Several each give their newest rows, up to the requested page, and the
gateway merges them by time: at most 200 rows deep (MAX_PAGE_SIZE, what one module is asked for
at once), past which the caller filters by module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.errors import Invalid, field_error
from shared.i18n import Text
from shared.paging import MAX_PAGE_SIZE, Page, PageParams

T = TypeVar("T", bound=BaseModel)


async def merged_page(
    modules: list[str],
    params: PageParams,
    page_of: Callable[[str, PageParams], Awaitable[Page[T]]],
    newest_first: Callable[[T], Any],
) -> Page[T]:
    if len(modules) == 1:
        return await page_of(modules[0], params)
    window = params.page * params.size
    if window > MAX_PAGE_SIZE:
        raise Invalid(
            Text("跨模块查询最多翻到第 200 条，请按模块筛选", "Filter by module to page past 200 rows"),
            code="page_too_deep",
            errors=[field_error("page", Text("请按模块筛选", "filter by module"), "page_too_deep")],
        )
    first = PageParams(page=1, size=window, sort="", q="")
    pages = [await page_of(m, first) for m in modules]
    merged = sorted((row for p in pages for row in p.items), key=newest_first, reverse=True)
    return Page(
        items=merged[params.offset : params.offset + params.size],
        total=sum(p.total for p in pages),
        page=params.page,
        size=params.size,
    )
