"""`/api/docs`: one Swagger UI over the gateway's own API and every running module's.

A drop-down of the documents, not one merged document: each module keeps its own paths,
schemas and versions (two modules may name a schema alike), and a module that is not
running is simply not offered. The documents are fetched by the browser through the
gateway's proxy (`/api/<svc>/openapi.json`), the same ones `/api/<svc>/docs` shows.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.state import Services
from gateway.system.modules import MODULES
from shared.api_docs import Document, docs_page
from shared.service_client import ServiceClient

router = APIRouter()


def documents(openapi_url: str, services: ServiceClient) -> list[Document]:
    """The gateway's own document, then those of the modules with a live instance."""
    source = services.balancer.source
    own = Document(openapi_url, "网关：登录、用户与权限 (Gateway: auth, users, permissions)")
    running = [
        Document(f"/api/{key}/openapi.json", f"{name['zh']} {key} ({name['en']})")
        for key, name in MODULES.items()
        if source and source.instances(key.upper())
    ]
    return [own, *running]


@router.get("/api/docs", include_in_schema=False)
async def docs(request: Request, services: Services) -> HTMLResponse:
    openapi_url = request.app.openapi_url
    prefix = openapi_url.rsplit("/", 1)[0]
    return docs_page("HAMP 接口文档 (API docs)", documents(openapi_url, services), f"{prefix}/docs-assets")
