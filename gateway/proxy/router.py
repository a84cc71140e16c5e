"""`/api/<svc>/…` → an instance of that service, streamed both ways; `/api/<prefix>/…` of an
external app (gateway/proxy/upstreams.py) → an instance of that app, the same way.

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
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from gateway.proxy.client_ip import client_ip
from gateway.proxy.routes import find_route
from gateway.proxy.upstreams import Upstream
from gateway.settings import GatewaySettings
from gateway.state import Routes, Services, Settings, Upstreams
from shared.api_docs import is_docs_path
from shared.auth import Principal, current_principal, require_permission
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
# Set by the gateway itself, never passed on from the caller or the service. An external app, which
# may not read the token, is told who the caller is by x-hamp-user(-id): a caller's own copy would lie.
OURS = frozenset(
    {b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-hamp-user", b"x-hamp-user-id"}
)
# Answers up to this size are read whole and sent in one piece; StreamingResponse starts a task
# per answer to watch for a disconnect, which costs more than the copy.
WHOLE_UP_TO = 256 * 1024


def _request_headers(request: Request, caller: Principal | None = None) -> list[tuple[str, str]]:
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
    if caller is not None:
        headers += [("x-hamp-user-id", str(caller.user_id)), ("x-hamp-user", quote(caller.username, safe="@._-"))]
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


async def _authorize(
    request: Request, upstream: Upstream, target: str, routes: Routes, services: Services
) -> Principal:
    """The same permission the service will check, checked first here: a caller without it
    never reaches the service, and a module the caller has nothing in is refused even when it
    is not running (403, not 503). An external app may check nothing itself: its own permission
    comes first, then its route's, and a route whose permission cannot be learnt is not served."""
    principal = await current_principal(request)
    if upstream.permission is not None:
        require_permission(principal, upstream.permission)
    elif not principal.can_any_of(upstream.prefix) or principal.must_change_password:
        require_permission(principal, f"{upstream.prefix}:*")
    known = await routes.routes(upstream.prefix)
    if known is None and upstream.external:
        if not services.balancer.candidates(upstream.app):
            raise _no_live_instance(upstream)
        raise Unavailable(
            Text(
                f"暂时无法读取 {upstream.name.zh} 的接口权限，请稍后再试",
                f"The permissions of {upstream.name.en}'s routes cannot be read now; try again shortly",
            ),
            code="routes_unknown",
            headers={"Retry-After": "5"},
        )
    route = find_route(known, request.method, _route_path(target) if upstream.external else target) if known else None
    if route is not None and route.permission:
        require_permission(principal, route.permission)
    return principal


def _route_path(target: str) -> str:
    # Spring matches `/results/7/` as `/results/7` where trailing-slash matching is on.
    return target.rstrip("/") or "/"


def _refuse_ambiguous(path: str) -> None:
    """Paths an app may read differently from the gateway's route match (`;` matrix parameters,
    `//`, `.` and `..` segments, backslashes) would slip past a route's permission: refused, as
    Spring Security's firewall does."""
    if ";" in path or "//" in path or "\\" in path or any(part in (".", "..") for part in path.split("/")):
        raise Problem(
            Text("请求路径不规范", "The request path is not in a plain form"), status=400, code="ambiguous_path"
        )


def _timeouts(settings: GatewaySettings) -> ForwardTimeouts:
    return ForwardTimeouts(settings.proxy_connect_timeout_seconds, settings.proxy_read_timeout_seconds)


def _no_live_instance(upstream: Upstream) -> Unavailable:
    log.warning("no live instance of %s", upstream.app)
    return Unavailable(
        Text(
            f"服务 {upstream.name.zh} 当前没有可用实例，请稍后再试",
            f"Service {upstream.name.en} has no live instance; try again shortly",
        ),
        code="no_live_instance",
        headers={"Retry-After": "5"},
    )


async def _known_service(service: str, upstreams: Upstreams) -> Upstream:
    # A dependency, resolved before the others: a name that is no module nor external app is a
    # 404 before anything of the running gateway is looked up.
    upstream = upstreams.get(service)
    if upstream is None:
        raise NotFound(Text(f"没有名为 {service} 的服务", f"No service named {service}"), code="unknown_service")
    return upstream


@router.api_route(
    "/api/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def proxy(
    upstream: Annotated[Upstream, Depends(_known_service)],
    path: str,
    request: Request,
    services: Services,
    routes: Routes,
    settings: Settings,
) -> Response:
    target = upstream.target(request.scope["path"])
    caller = None
    if upstream.external:
        _refuse_ambiguous(request.scope["path"])
        caller = await _authorize(request, upstream, target, routes, services)
    elif not is_docs_path(path):
        await _authorize(request, upstream, target, routes, services)
    query = request.scope["query_string"]
    target += f"?{query.decode('latin-1')}" if query else ""
    body = _request_body(request) if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
    name = upstream.name
    try:
        response = await services.forward(
            upstream.app, request.method, target, _request_headers(request, caller), body, _timeouts(settings)
        )
        if response is None:
            raise _no_live_instance(upstream)
        return await _answer(response)
    except UpstreamTimeout as exc:
        raise Problem(
            Text(f"服务 {name.zh} 响应超时", f"Service {name.en} timed out"), status=504, code="upstream_timeout"
        ) from exc
    except UpstreamBroken as exc:
        raise Problem(
            Text(f"服务 {name.zh} 连接中断", f"Service {name.en} broke the connection"),
            status=502,
            code="upstream_error",
        ) from exc
