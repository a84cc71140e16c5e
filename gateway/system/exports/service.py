"""导出: any list of any module as XLSX or CSV, walked through its own API (docs/exports.md).

The gateway asks itself for the list page by page (200 rows), in process, as the caller: the
request carries the caller's Authorization and the principal the export request verified, so the
proxy, the service, its data scope and its masking treat every page exactly as they treat the
screen, and the rate limiter (which the export request itself passed) is not charged 500 times.
Rows go to a temporary file as they come; nothing is sent before the last page was read, so a
file that arrives is complete and a failure is an ordinary problem answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError

from gateway.db import audit_log
from gateway.proxy.routes import Route, RouteTable, find_route, routes_from_openapi
from gateway.system.modules import MODULES
from shared import audit
from shared.auth import Principal, require_login_completed, require_permission
from shared.clock import local_today
from shared.db import Database
from shared.errors import Forbidden, Invalid, NotFound, Problem, Unavailable, field_error
from shared.i18n import Text, render
from shared.paging import MAX_PAGE_SIZE
from shared.pii import mask_id_card
from shared.tabular import MEDIA_TYPES, Column, TableFormat, TableWriter, default_columns

EXPORTS_PATH = "/api/system/exports"
EXPORT_RESOURCE = Text("数据导出", "Data export")
SYSTEM = {"zh": "系统管理", "en": "System"}
LIST_PATH = re.compile(r"^/api/([a-z]+)/[A-Za-z0-9_\-/]+$")
# Query parameters of the export itself, not passed on to the list.
OWN_PARAMETERS = frozenset({"path", "format", "columns", "title", "page", "size"})
# Long runs of digits in a filter may be an ID-card or phone number: the audit row keeps them masked.
DIGITS = re.compile(r"\d[\dXx]{6,}")


def export_permission(module: str) -> str:
    return f"{module}:data:export"


class ColumnIn(BaseModel):
    key: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=100)
    values: dict[str, str] | None = None


@dataclass(frozen=True)
class ExportRequest:
    path: str
    format: TableFormat
    columns: str
    title: str
    query: list[tuple[str, str]]


@dataclass(frozen=True)
class Caller:
    """What the export request knows of its caller, for the pages it asks for on their behalf."""

    principal: Principal
    headers: list[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    scheme: str


@dataclass(frozen=True)
class Exported:
    path: Path
    filename: str
    media_type: str
    rows: int


def _bad(field: str, zh: str, en: str, code: str = "invalid") -> Invalid:
    return Invalid(Text(zh, en), code=code, errors=[field_error(field, Text(zh, en), code)])


def _module_of(path: str) -> str:
    match = LIST_PATH.match(path)
    module = match.group(1) if match else ""
    if not match or ".." in path or path.startswith(EXPORTS_PATH) or (module not in MODULES and module != "system"):
        raise _bad("path", "不是可导出的列表地址", "Not the address of a list that can be exported", "not_a_list")
    return module


def parse_columns(text: str) -> list[Column] | None:
    if not text:
        return None
    try:
        parsed = [ColumnIn.model_validate(c) for c in json.loads(text)]
    except (ValueError, TypeError, ValidationError) as exc:
        raise _bad("columns", "列的说明有误", "The columns are not described correctly") from exc
    if not parsed:
        return None
    return [Column(c.key, c.label, c.values) for c in parsed]


async def _route(app: FastAPI, table: RouteTable, module: str, path: str) -> Route:
    known = routes_from_openapi(app.openapi()) if module == "system" else await table.routes(module)
    if known is None:
        raise Unavailable(
            Text(
                f"模块 {module} 当前没有可用实例，请稍后再试",
                f"Module {module} has no live instance; try again shortly",
            ),
            code="no_live_instance",
        )
    route = find_route(known, "GET", path)
    if route is None or not route.permission:
        raise NotFound(Text("没有这个列表", "No such list"), code="not_a_list")
    return route


def _authorize(principal: Principal, module: str, route: Route) -> None:
    require_login_completed(principal)
    permission = export_permission(module)
    if not principal.can(permission):
        name = {**MODULES, "system": SYSTEM}[module]
        raise Forbidden(
            Text(f"没有导出{name['zh']}数据的权限", f"You may not export {name['en'].lower()} data"),
            code="permission_denied",
            extensions={"permission": permission},
        )
    assert route.permission is not None
    require_permission(principal, route.permission)


async def export(
    app: FastAPI,
    table: RouteTable,
    db: Database,
    caller: Caller,
    request: ExportRequest,
    slots: asyncio.Semaphore,
    *,
    max_rows: int,
    timezone: str,
) -> Exported:
    """The list at `request.path` with the caller's filters as a file, and one audit row. At most
    `slots` exports run at once: each walks a whole list through the services, and a crowd of them
    would slow every desk; one more is told to try again shortly."""
    if slots.locked():
        raise Unavailable(
            Text("正在进行的导出较多，请稍后再试", "Too many exports are running; try again shortly"),
            code="exports_busy",
            headers={"Retry-After": "10"},
        )
    async with slots:
        return await _export(app, table, db, caller, request, max_rows=max_rows, timezone=timezone)


async def _export(
    app: FastAPI,
    table: RouteTable,
    db: Database,
    caller: Caller,
    request: ExportRequest,
    *,
    max_rows: int,
    timezone: str,
) -> Exported:
    module = _module_of(request.path)
    route = await _route(app, table, module, request.path)
    _authorize(caller.principal, module, route)
    columns = parse_columns(request.columns)
    title = request.title.strip() or (route.resource_label or {}).get("zh") or request.path.rsplit("/", 1)[-1]
    writer: TableWriter | None = None
    try:
        async for items in walk(app, caller, request.path, request.query, max_rows):
            if writer is None:
                writer = TableWriter(
                    request.format, columns or default_columns(items[0] if items else {}), timezone, title
                )
            await asyncio.to_thread(writer.add, items)
        if writer is None:  # pragma: no cover - _pages always yields the first page
            raise NotFound(Text("没有这个列表", "No such list"), code="not_a_list")
        await asyncio.to_thread(writer.finish)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    async with db.transaction() as session:
        await audit.record(
            session,
            audit_log,
            action="export",
            entity="export",
            entity_id=request.path,
            after={
                "path": request.path,
                "format": request.format.value,
                "rows": writer.rows,
                "filters": audited_filters(request.query),
            },
        )
    day = local_today(timezone).strftime("%Y%m%d")
    return Exported(writer.path, f"{title}_{day}.{request.format.value}", MEDIA_TYPES[request.format], writer.rows)


def audited_filters(query: list[tuple[str, str]]) -> dict[str, str]:
    """The filters as the audit keeps them: whether a search was used, not what was searched for
    (it may be a patient's ID number), and long digit runs masked."""
    kept: dict[str, str] = {}
    for name, value in query:
        if name in OWN_PARAMETERS:
            continue
        if name == "q":
            kept["q"] = "（已使用搜索）" if value.strip() else ""
        else:
            kept[name] = DIGITS.sub(lambda m: mask_id_card(m.group(0)) or "", value)
    return {k: v for k, v in kept.items() if v}


async def walk(app: FastAPI, caller: Caller, path: str, query: list[tuple[str, str]], max_rows: int) -> Any:
    """The list's items, a page at a time, newest first as every list is. A row inserted while the
    walk goes on pushes the rows after it one place down, so the next page repeats the previous
    page's last row: an item whose `id` the previous page held is skipped."""
    filters = [(k, v) for k, v in query if k not in OWN_PARAMETERS]
    page, written, previous = 1, 0, set[Any]()
    while True:
        answer = await _get(app, caller, path, [*filters, ("page", str(page)), ("size", str(MAX_PAGE_SIZE))], page)
        if page == 1 and answer["total"] > max_rows:
            raise Invalid(
                Text(
                    f"共 {answer['total']} 行，超过单次导出上限 {max_rows} 行，请缩小筛选范围后再导出",
                    f"{answer['total']} rows exceed the export limit of {max_rows}; narrow the filters first",
                ),
                code="export_too_large",
                extensions={"total": answer["total"], "limit": max_rows},
            )
        items = [
            i for i in answer["items"] if not isinstance(i, dict) or i.get("id") is None or i["id"] not in previous
        ]
        items = items[: max(0, max_rows - written)]
        yield items
        written += len(items)
        previous = {i["id"] for i in answer["items"] if isinstance(i, dict) and i.get("id") is not None}
        if len(answer["items"]) < MAX_PAGE_SIZE or page * MAX_PAGE_SIZE >= answer["total"] or written >= max_rows:
            return
        page += 1


async def _get(app: FastAPI, caller: Caller, path: str, query: list[tuple[str, str]], page: int) -> dict[str, Any]:
    status, body = await asyncio.create_task(_call(app, caller, path, urlencode(query)))
    if status >= 400:
        raise _failed(status, body, page)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list) or "total" not in answer:
        raise _bad("path", "该地址返回的不是分页列表", "That address does not answer a paged list", "not_a_list")
    return answer


def _failed(status: int, body: bytes, page: int) -> Problem:
    try:
        problem = json.loads(body)
    except ValueError:
        problem = {}
    detail = problem.get("detail") if isinstance(problem, dict) else None
    code = problem.get("code") if isinstance(problem, dict) else None
    if page == 1:  # refused outright (permission, a filter): the list's own answer, as it is
        return Problem(
            str(detail or render(Text("导出失败", "Export failed"))),
            code=code or "export_failed",
            status=status,
            errors=[{**e, "message": str(e.get("message", ""))} for e in problem.get("errors", [])]
            if isinstance(problem, dict)
            else [],
        )
    return Problem(
        Text(
            f"导出中断：读取第 {page} 页时出错（{detail or status}），未生成文件，请重试",
            f"Export stopped: page {page} could not be read ({detail or status}); no file was made, try again",
        ),
        code="export_interrupted",
        status=502 if status < 500 else status,
    )


async def _call(app: FastAPI, caller: Caller, path: str, query: str) -> tuple[int, bytes]:
    """One GET through the gateway's own app, in process. Run in a task of its own so that what the
    request sets in context variables (its request id) stays with it."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": caller.scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": caller.headers,
        "client": caller.client,
        "server": None,
        # The principal the export request verified: no second verification, no rate limit charge.
        "state": {"principal": caller.principal},
    }
    status = 500
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
