"""消息队列: the outbox of every running module, merged for the console."""

from __future__ import annotations

from gateway.system.merged import merged_page
from shared.errors import Unavailable
from shared.outbox_admin import OutboxMessage, OutboxStatus
from shared.paging import Page, PageParams
from shared.service_client import ServiceClient


async def outbox(
    client: ServiceClient, modules: list[str], params: PageParams, status: OutboxStatus | None
) -> Page[OutboxMessage]:
    """Merged newest first (gateway/system/merged.py). Each module is asked with the caller's
    token, so it decides what the caller may see: one that refuses, has no outbox (404) or does
    not answer is left out rather than failing the page."""
    return await merged_page(
        modules,
        params,
        lambda module, page: _page_of(client, module, page, status),
        lambda m: (m.created_at, m.module, m.id),
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
