"""The registry process: Eureka's REST API under /eureka, the dashboard at /."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.dashboard import router as dashboard_router
from registry.eureka.heartbeat import Heartbeats
from registry.eureka.router import NoCredentials, refuse_without_credentials
from registry.eureka.router import router as eureka_router
from registry.eviction import leases_part
from registry.peers import NODE_HEADER
from registry.settings import RegistrySettings
from shared.app import create_app as create_hamp_app

settings_class = RegistrySettings
NODE_HEADER_BYTES = NODE_HEADER.lower().encode()


class NodeHeader:
    """Names this registry on every answer: a registry listed among its own peers (a StatefulSet
    gives every pod the whole list) finds itself out by it. Plain ASGI: renewals pay nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state

        async def named(message: Message) -> None:
            cluster = getattr(state, "cluster", None)
            if message["type"] == "http.response.start" and cluster is not None:
                message["headers"] = [*message.get("headers", []), (NODE_HEADER_BYTES, cluster.peers.node_id.encode())]
            await send(message)

        await self.app(scope, receive, named)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    app = create_hamp_app(
        settings,
        title="HAMP 服务注册中心 (registry)",
        routers=[eureka_router, dashboard_router],
        parts=[leases_part(settings)],
        api_prefix="/eureka",
    )

    app.add_middleware(Heartbeats)  # outside the platform's middlewares: a heartbeat skips them
    app.add_middleware(NodeHeader)
    app.add_exception_handler(NoCredentials, refuse_without_credentials)
    return app
