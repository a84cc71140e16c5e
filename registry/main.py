"""The registry process: Eureka's REST API under /eureka, the dashboard at /."""

from __future__ import annotations

from fastapi import FastAPI

from registry.dashboard import router as dashboard_router
from registry.eureka.router import router as eureka_router
from registry.eviction import leases_part
from registry.settings import RegistrySettings
from shared.app import create_app as create_hamp_app

settings_class = RegistrySettings


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    return create_hamp_app(
        settings,
        title="HAMP 服务注册中心 (registry)",
        routers=[eureka_router, dashboard_router],
        parts=[leases_part(settings)],
        api_prefix="/eureka",
    )
