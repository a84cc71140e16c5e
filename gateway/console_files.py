"""Serving the built console: files from dist/, and index.html for the app's own routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from gateway.state import Settings
from shared.errors import NotFound
from shared.i18n import Text

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>HAMP</title>
<body style="font-family:sans-serif;margin:3em"><h1>医院档案管理平台 HAMP</h1>
<p>控制台尚未构建。请运行 <code>cd gateway/console &amp;&amp; npm ci &amp;&amp; npm run build</code>，
或使用 <code>./hamp up</code>（会自动构建）。</p>
<p>The console is not built yet: run
<code>cd gateway/console &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
<p>API: <a href="/api/docs">/api/docs</a></p></body></html>"""

# Hashed asset names never change; index.html must always be fetched fresh.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/{path:path}")
async def console(path: str, settings: Settings) -> Response:
    if path.startswith(("api/", "health", "metrics")):
        raise NotFound(Text("未找到", "Not found"))
    root: Path = settings.effective_console_dir.resolve()
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT)
    candidate = (root / path).resolve()
    if path and candidate.is_file() and candidate.is_relative_to(root):
        headers = IMMUTABLE if candidate.parent.name == "assets" else NO_CACHE
        return FileResponse(candidate, headers=headers)
    if path.startswith("assets/"):
        raise NotFound(Text("文件不存在", "File not found"))
    return FileResponse(index, headers=NO_CACHE)
