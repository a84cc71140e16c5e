"""`/api/<svc>/…` → an instance of that service, streamed both ways.

The gateway checks the token first (a bad one never reaches a service) and passes the
caller's Authorization on: services verify it again. Only a failure to connect moves on
to the next instance, because then nothing was sent and any method is safe to resend.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx2
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway.proxy.client_ip import client_ip
from gateway.proxy.routes import find_route
from gateway.system.modules import MODULES
from shared.api_docs import is_docs_path
from shared.auth import current_principal, require_permission
from shared.context import current_request_id
from shared.errors import NotFound, Problem, Unavailable
from shared.i18n import Text

log = logging.getLogger("hamp.gateway.proxy")

router = APIRouter()

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)


def _request_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    headers = [(k, v) for k, v in headers if k.lower() not in ("x-request-id", "x-forwarded-for")]
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    # Keep the chain only when it came through our own proxies; otherwise it may be forged.
    chain = f"{forwarded}, {peer}" if forwarded and client_ip(request) != peer else peer
    headers += [
        ("x-request-id", current_request_id()),
        ("x-forwarded-for", chain),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
    ]
    return headers


class _Body:
    """The request body, streamed once; remembers whether sending began (then no retry)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self.request.stream():
            yield chunk


async def _stream(response: httpx2.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    finally:
        await response.aclose()


async def _authorize(request: Request, service: str) -> None:
    """The same permission the service will check, checked first here: a caller without it
    never reaches the service, and a module the caller has nothing in is refused even when it
    is not running (403, not 503)."""
    principal = await current_principal(request)
    if not principal.can_any_of(service) or principal.must_change_password:
        require_permission(principal, f"{service}:*")
    routes = await request.app.state.routes.routes(service)
    route = find_route(routes, request.method, request.url.path) if routes else None
    if route is not None and route.permission:
        require_permission(principal, route.permission)


@router.api_route(
    "/api/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def proxy(service: str, path: str, request: Request) -> StreamingResponse:
    if service not in MODULES:
        raise NotFound(Text(f"没有名为 {service} 的服务", f"No service named {service}"), code="unknown_service")
    state = request.app.state
    if not is_docs_path(path):
        await _authorize(request, service)
    client: httpx2.AsyncClient = state.http
    body = _Body(request)
    has_body = request.method in ("POST", "PUT", "PATCH", "DELETE")
    headers = _request_headers(request)
    url_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    tried = 0
    for instance in state.balancer.candidates(service.upper()):
        tried += 1
        outgoing = client.build_request(
            request.method, instance.base_url + url_path, headers=headers, content=body if has_body else None
        )
        try:
            response = await client.send(outgoing, stream=True)
        except httpx2.ConnectError as exc:
            state.balancer.failed(instance, refused=True)
            log.warning("cannot connect to %s: %s", instance.instance_id, exc)
            if body.started:
                break
            continue
        except httpx2.TimeoutException as exc:
            state.balancer.failed(instance)
            raise Problem(
                Text(f"服务 {service} 响应超时", f"Service {service} timed out"),
                status=504,
                code="upstream_timeout",
            ) from exc
        except httpx2.HTTPError as exc:
            state.balancer.failed(instance)
            raise Problem(
                Text(f"服务 {service} 连接中断", f"Service {service} broke the connection"),
                status=502,
                code="upstream_error",
            ) from exc
        state.balancer.succeeded(instance)
        out_headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        out_headers = [(k, v) for k, v in out_headers if k.lower() != "x-request-id"]
        answer = StreamingResponse(
            _stream(response), status_code=response.status_code, background=BackgroundTask(response.aclose)
        )
        # Raw headers keep repeated ones (Set-Cookie) and the service's own Content-Type.
        answer.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]
        answer.raw_headers.append((b"x-request-id", current_request_id().encode()))
        return answer
    detail = Text(
        f"服务 {service} 当前没有可用实例，请稍后再试",
        f"Service {service} has no live instance; try again shortly",
    )
    log.warning("no live instance of %s (tried %d)", service, tried)
    raise Unavailable(detail, code="no_live_instance", headers={"Retry-After": "5"})
