"""Swagger UI at `<prefix>/docs` of every component, from files served by the component itself.

Hospital networks block CDNs, so nothing on the page comes from another host: Swagger UI's
script, stylesheet and icon come from the `fastapi-offline` package (a PyPI package that ships
swagger-ui-dist's files), our start-up script from shared/docs_assets. The page has no inline
script: its settings travel as a JSON block that hamp-docs.js reads, so the page runs under a
CSP that allows scripts only from 'self' (DOCS_CSP, the console's policy).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from shared.errors import NotFound
from shared.i18n import Text

_SWAGGER = Path(str(files("fastapi_offline") / "static"))
_OWN = Path(__file__).parent / "docs_assets"
# Only these files, by name: no directory is served, so nothing else there can be reached.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_SWAGGER / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (_SWAGGER / "swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": (_SWAGGER / "favicon.png", "image/png"),
    "hamp-docs.js": (_OWN / "hamp-docs.js", "text/javascript; charset=utf-8"),
    "hamp-docs.css": (_OWN / "hamp-docs.css", "text/css; charset=utf-8"),
}
# The console's policy (gateway/security.py): Swagger UI sets inline styles and shows data: icons.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@dataclass(frozen=True)
class Document:
    """One OpenAPI document the page offers, with the name shown in its drop-down."""

    url: str
    name: str


def is_docs_path(path: str) -> bool:
    """The part of a component's path after `/api/<svc>/` that is its public documentation: the
    OpenAPI document, the docs page and its files. They hold no data, and a browser opening the
    page through the gateway sends no token."""
    return path in ("openapi.json", "docs") or path.startswith("docs-assets/")


def docs_page(title: str, documents: Sequence[Document], assets_url: str) -> HTMLResponse:
    """Swagger UI over `documents` (a drop-down when more than one), its files from `assets_url`."""
    config = json.dumps({"documents": [{"url": d.url, "name": d.name} for d in documents]}, ensure_ascii=False)
    # `<` escaped, so no document name can close the JSON block and start markup.
    config = config.replace("<", "\\u003c")
    assets = html.escape(assets_url)
    page = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="stylesheet" href="{assets}/hamp-docs.css">
</head>
<body>
<header class="hamp-docs-bar"><h1>{html.escape(title)}</h1><select id="hamp-docs-select" hidden></select></header>
<div id="swagger-ui"></div>
<script type="application/json" id="hamp-docs-config">{config}</script>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/hamp-docs.js"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-store"})


def install_docs(app: FastAPI, prefix: str, title: str) -> None:
    """`<prefix>/docs` and `<prefix>/docs-assets/<file>` on `app` (kept out of its OpenAPI)."""
    assets_url = f"{prefix}/docs-assets"
    openapi_url = app.openapi_url or f"{prefix}/openapi.json"

    @app.get(f"{prefix}/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return docs_page(f"{title} · 接口文档 (API)", [Document(openapi_url, title)], assets_url)

    @app.get(f"{assets_url}/{{name}}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        return asset_response(name)


def asset_response(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(Text("没有这个文档文件", "No such documentation file"), code="no_such_asset")
    path, media_type = ASSETS[name]
    # The files change only with a release: a day in the browser's cache spares the 1.5 MB bundle.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
