"""The merged 消息队列 (`/api/system/outbox`): each module asked with the caller's token, the
answers merged newest first; a module that refuses the caller or has no outbox is left out."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gateway.system.outbox.service import outbox
from shared.outbox_admin import OutboxStatus
from shared.paging import PageParams


def _message(module: str, message_id: int, created: str) -> dict[str, Any]:
    return {
        "module": module, "id": message_id, "key": f"{module}-{message_id}", "destination": "oms",
        "method": "POST", "path": "/x", "kind": None, "status": "rejected", "attempts": 1,
        "created_at": created, "next_attempt_at": created, "answer_status": 409, "answer": "已取消",
        "resolved_at": None, "resolved_by": None, "resolution_note": None,
    }  # fmt: skip


class Modules:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answers = {
            "oms": httpx.Response(200, json={"items": [_message("oms", 1, "2026-11-28T08:00:00Z")], "total": 1,
                                             "page": 1, "size": 20}),
            "pms": httpx.Response(200, json={"items": [_message("pms", 7, "2026-11-28T09:00:00Z")], "total": 1,
                                             "page": 1, "size": 20}),
            "dms": httpx.Response(404, json={}),
            "dbs": httpx.Response(403, json={}),
        }  # fmt: skip

    async def request(self, module: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.calls.append((module, path, kwargs["params"]))
        answer = self.answers[module]
        answer.request = httpx.Request(method, f"http://{module}{path}")
        return answer


def test_every_modules_messages_merged_newest_first() -> None:
    modules = Modules()
    page = asyncio.run(outbox(modules, ["oms", "pms", "dms", "dbs"], PageParams(1, 20, "", ""), OutboxStatus.REJECTED))  # type: ignore[arg-type]
    assert [(m.module, m.id) for m in page.items] == [("pms", 7), ("oms", 1)]
    assert page.total == 2
    assert [(m, p, q["status"]) for m, p, q in modules.calls] == [
        ("oms", "/api/oms/outbox", "rejected"),
        ("pms", "/api/pms/outbox", "rejected"),
        ("dms", "/api/dms/outbox", "rejected"),
        ("dbs", "/api/dbs/outbox", "rejected"),
    ]
