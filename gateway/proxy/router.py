"""`/api/<svc>/…` → an instance of that service, streamed both ways.

The gateway checks the token first (a bad one never reaches a service) and passes the
caller's Authorization on: services verify it again. The request goes out through the
gateway's one ServiceClient (`forward`): a failure to connect moves on to the next instance,
because then nothing was sent and any method is safe to resend; a connection closed before the
answer (an instance that just died) moves on only for an idempotent request without a body.

Nothing is logged per request: the line the HTTP client wrote for each cost 5% of the
gateway's time and carried the query string, where patients' ID numbers are searched for.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from gateway.proxy.client_ip import client_ip
from gateway.proxy.routes import find_route
from gateway.settings import GatewaySettings
from gateway.state import Routes, Services, Settings
from gateway.system.modules import MODULES
from shared.api_docs import is_docs_path
from shared.auth import current_principal, require_permission
from shared.context import current_request_id
from shared.errors import NotFound, Problem, Unavailable
from shared.i18n import Text
from shared.service_client import Forwarded, ForwardTimeouts, UpstreamBroken, UpstreamTimeout

log = logging.getLogger("hamp.gateway.proxy")

router = APIRouter()

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
# Set by the gateway itself, never passed on from the caller or the service.
OURS = frozenset({b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"})
# Answers up to this size are read whole and sent in one piece; StreamingResponse starts a task
# per answer to watch for a disconnect, which costs more than the copy.
WHOLE_UP_TO = 256 * 1024


def _request_headers(request: Request) -> list[tuple[str, str]]:
    # ASGI servers give header names in lower case.
    raw = request.scope["headers"]
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw if k not in HOP_BY_HOP and k not in OURS]
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    # Keep the chain only when it came through our own proxies; otherwise it may be forged.
    chain = f"{forwarded}, {peer}" if forwarded and client_ip(request) != peer else peer
    headers += [
        ("x-request-id", current_request_id()),
        ("x-forwarded-for", chain),
        ("x-forwarded-proto", request.scope.get("scheme", "http")),
        ("x-forwarded-host", request.headers.get("host", "")),
    ]
    return headers


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


async def _answer(response: Forwarded) -> Response:
    # Raw headers keep repeated ones (Set-Cookie) and the service's own Content-Type and length.
    headers = [(k.lower(), v) for k, v in response.raw_headers]
    headers = [(k, v) for k, v in headers if k not in HOP_BY_HOP and k != b"x-request-id"]
    headers.append((b"x-request-id", current_request_id().encode()))
    answer: Response
    if response.content_length is not None and response.content_length <= WHOLE_UP_TO:
        answer = Response(await response.read(), status_code=response.status)
    else:
        answer = StreamingResponse(
            response.chunks(), status_code=response.status, background=BackgroundTask(response.close)
        )
    answer.raw_headers = headers
    return answer


async def _authorize(request: Request, service: str, routes: Routes) -> None:
    """The same permission the service will check, checked first here: a caller without it
    never reaches the service, and a module the caller has nothing in is refused even when it
    is not running (403, not 503)."""
    principal = await current_principal(request)
    if not principal.can_any_of(service) or principal.must_change_password:
        require_permission(principal, f"{service}:*")
    known = await routes.routes(service)
    route = find_route(known, request.method, request.scope["path"]) if known else None
    if route is not None and route.permission:
        require_permission(principal, route.permission)


def _timeouts(settings: GatewaySettings) -> ForwardTimeouts:
    return ForwardTimeouts(settings.proxy_connect_timeout_seconds, settings.proxy_read_timeout_seconds)


async def _known_service(service: str) -> str:
    # A dependency, resolved before the others: a name that is no module is a 404 before
    # anything of the running gateway is looked up.
    if service not in MODULES:
        raise NotFound(Text(f"没有名为 {service} 的服务", f"No service named {service}"), code="unknown_service")
    return service


@router.api_route(
    "/api/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def proxy(
    service: Annotated[str, Depends(_known_service)],
    path: str,
    request: Request,
    services: Services,
    routes: Routes,
    settings: Settings,
) -> Response:
    if not is_docs_path(path):
        await _authorize(request, service, routes)
    query = request.scope["query_string"]
    target = request.scope["path"] + (f"?{query.decode('latin-1')}" if query else "")
    body = _request_body(request) if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
    try:
        response = await services.forward(
            service, request.method, target, _request_headers(request), body, _timeouts(settings)
        )
        if response is None:
            log.warning("no live instance of %s", service)
            raise Unavailable(
                Text(
                    f"服务 {service} 当前没有可用实例，请稍后再试",
                    f"Service {service} has no live instance; try again shortly",
                ),
                code="no_live_instance",
                headers={"Retry-After": "5"},
            )
        return await _answer(response)
    except UpstreamTimeout as exc:
        raise Problem(
            Text(f"服务 {service} 响应超时", f"Service {service} timed out"), status=504, code="upstream_timeout"
        ) from exc
    except UpstreamBroken as exc:
        raise Problem(
            Text(f"服务 {service} 连接中断", f"Service {service} broke the connection"),
            status=502,
            code="upstream_error",
        ) from exc
