"""消息队列: the outbox of every running module, merged for the console."""

from __future__ import annotations

from shared.errors import Invalid, Unavailable, field_error
from shared.i18n import Text
from shared.outbox_admin import OutboxMessage, OutboxStatus
from shared.paging import MAX_PAGE_SIZE, Page, PageParams
from shared.service_client import ServiceClient


async def outbox(
    client: ServiceClient, modules: list[str], params: PageParams, status: OutboxStatus | None
) -> Page[OutboxMessage]:
    """As the operation log merges (gateway/system/logs): one module pages itself; several give
    their newest messages, merged by time, at most 200 deep. Each module is asked with the
    caller's token, so it decides what the caller may see: one that refuses, has no outbox (404)
    or does not answer is left out rather than failing the page."""
    if len(modules) == 1:
        return await _page_of(client, modules[0], params, status)
    window = params.page * params.size
    if window > MAX_PAGE_SIZE:
        raise Invalid(
            Text("跨模块查询最多翻到第 200 条，请按模块筛选", "Filter by module to page past 200 rows"),
            code="page_too_deep",
            errors=[field_error("page", Text("请按模块筛选", "filter by module"), "page_too_deep")],
        )
    first = PageParams(page=1, size=window, sort="", q="")
    pages = [await _page_of(client, m, first, status) for m in modules]
    merged = sorted((m for p in pages for m in p.items), key=lambda m: (m.created_at, m.module, m.id), reverse=True)
    return Page(
        items=merged[params.offset : params.offset + params.size],
        total=sum(p.total for p in pages),
        page=params.page,
        size=params.size,
    )


async def _page_of(
    client: ServiceClient, module: str, params: PageParams, status: OutboxStatus | None
) -> Page[OutboxMessage]:
    empty = Page[OutboxMessage](items=[], total=0, page=params.page, size=params.size)
    query = {"page": params.page, "size": params.size, **({"status": status.value} if status else {})}
    try:
        answer = await client.request(module, "GET", f"/api/{module}/outbox", params=query)
    except Unavailable:
        return empty
    if answer.status_code in (401, 403, 404):
        return empty
    answer.raise_for_status()
    return Page[OutboxMessage].model_validate(answer.json())
