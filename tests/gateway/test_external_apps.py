"""External apps through the gateway (`external_apps`, docs/gateway.md): a stand-in for a Spring
Boot app (its OpenAPI at /v3/api-docs, as springdoc publishes it) registered in a real registry,
and a gateway in process routing `/api/lab/…` to it with the configured permission and the
permissions its document declares."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import gateway.main
from gateway.settings import GATEWAY_PATHS, GatewaySettings
from tests.gateway.inprocess import in_process_gateway
from tests.registry.conftest import LiveRegistry
from tests.security.conftest import ISOLATED, InProcessGateway, User
from tests.support.servers import ThreadServer
from tests.support.spring import SpringApp, spring_jars

REGISTRY_USER = "hamp"
REGISTRY_PASSWORD = "registry-test-secret"
LAB = {"prefix": "lab", "app": "lab-service", "permission": "lab:app:access", "name_zh": "检验系统", "name_en": "Lab"}
DOCUMENT = {
    "openapi": "3.0.1",
    "info": {"title": "lab", "version": "1"},
    "paths": {
        "/ping": {"get": {"summary": "ping"}},
        "/results/{id}": {
            "get": {"x-permission": "lab:result:read", "x-resource-label": {"zh": "检验结果", "en": "Lab results"}}
        },
        "/results/{id}/verify": {"post": {"x-permission": "lab:result:verify", "summary": "审核检验结果"}},
    },
}


class StandIn:
    """What a Spring app would be to the gateway: a document, routes, and a note of every request."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v3/api-docs", self.document),
                Route("/broken-docs", self.broken),
                Route("/{rest:path}", self.echo, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    async def document(self, request: Request) -> Response:
        self.seen.append({"path": request.url.path})
        return JSONResponse(DOCUMENT)

    async def broken(self, request: Request) -> Response:
        self.seen.append({"path": request.url.path})
        return Response("boom", status_code=500)

    async def echo(self, request: Request) -> Response:
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "authorization": bool(request.headers.get("authorization")),
            "request_id": request.headers.get("x-request-id"),
            "user": request.headers.get("x-hamp-user"),
        }
        self.seen.append(seen)
        return JSONResponse(seen)

    def asked(self, path: str) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"] == path]


def _register(registry: LiveRegistry, app: str, port: int) -> None:
    instance = {
        "instanceId": f"127.0.0.1:{app.lower()}:{port}",
        "hostName": "127.0.0.1",
        "app": app,
        "ipAddr": "127.0.0.1",
        "port": {"$": port, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 300},
        "vipAddress": app.lower(),
        "status": "UP",
    }
    # Writes to the registry need its credentials (as the Spring client sends them, in Basic auth).
    answer = httpx2.post(
        f"{registry.url}apps/{app}", json={"instance": instance}, auth=(REGISTRY_USER, REGISTRY_PASSWORD)
    )
    assert answer.status_code == 204, answer.text


class Fleet:
    def __init__(self, gw: InProcessGateway, lab: StandIn) -> None:
        self.gw = gw
        self.lab = lab
        self.users: dict[str, User] = {}

    def user(self, *permissions: str) -> User:
        key = ",".join(sorted(permissions))
        if key not in self.users:
            self.users[key] = self.gw.ready_user(list(permissions))
        return self.users[key]

    def get(self, path: str, user: User, **headers: str) -> Any:
        return self.gw.request("GET", path, user.access, headers=headers)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    lab = StandIn()
    registry = LiveRegistry(registry_username=REGISTRY_USER, registry_password=REGISTRY_PASSWORD)
    entries = [
        LAB,
        # The same app again, its paths not stripped, and a document it does not publish (404).
        {**LAB, "prefix": "labraw", "permission": "labraw:app:read", "strip_prefix": False, "openapi_path": "/none"},
        # A document that cannot be read: the app is not served rather than served unchecked.
        {**LAB, "prefix": "labbroken", "permission": "labbroken:app:read", "openapi_path": "/broken-docs"},
        {**LAB, "prefix": "ghost", "app": "GHOST", "permission": "ghost:app:read"},
    ]
    with ThreadServer(lab.app) as server:
        registry.start()
        try:
            _register(registry, "LAB-SERVICE", server.port)
            with in_process_gateway(
                Path(tmp_path_factory.mktemp("gateway")),
                registry_urls=registry.url,
                registry_username=REGISTRY_USER,
                registry_password=REGISTRY_PASSWORD,
                registry_renewal_seconds=1,
                external_apps=entries,
                # Every test here logs users in from one address.
                login_rate_per_ip_per_minute=100000,
            ) as gw:
                yield Fleet(gw, lab)
        finally:
            registry.stop()


def test_a_caller_with_the_apps_permission_reaches_it_with_the_prefix_stripped(fleet: Fleet) -> None:
    user = fleet.user("lab:app:access")
    # A caller claiming to be someone else: the app is told who the token says.
    answer = fleet.get("/api/lab/ping?x=1", user, **{"X-Request-ID": "req-ext-1", "X-Hamp-User": "admin"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "method": "GET",
        "path": "/ping",
        "query": "x=1",
        "authorization": True,
        "request_id": "req-ext-1",
        "user": user.username,
    }
    assert answer.headers["x-request-id"] == "req-ext-1"
    # strip_prefix false: the app is asked the gateway's own path; no document (404) means only the
    # app's permission, and the answer is kept: the app is not asked for it on every request.
    raw = fleet.user("labraw:app:read")
    for _ in range(2):
        answer = fleet.get("/api/labraw/results/7", raw)
        assert answer.status_code == 200, answer.text
        assert answer.json()["path"] == "/api/labraw/results/7"
    assert len(fleet.lab.asked("/none")) == 1


def test_without_the_permission_the_app_never_sees_the_request(fleet: Fleet) -> None:
    before = len(fleet.lab.seen)
    other = fleet.user("system:role:read")
    answer = fleet.get("/api/lab/ping", other)
    assert answer.status_code == 403
    assert answer.json()["code"] == "permission_denied"
    assert answer.json()["permission"] == "lab:app:access"
    # The app's permission alone does not open a route its document gives a finer permission.
    lab_only = fleet.user("lab:app:access")
    answer = fleet.get("/api/lab/results/7", lab_only)
    assert answer.status_code == 403
    assert answer.json()["permission"] == "lab:result:read"
    assert fleet.gw.request("POST", "/api/lab/results/7/verify", lab_only.access).status_code == 403
    # Paths the app might read otherwise than the gateway matched them are not passed on.
    for sly in ("/api/lab/results;x=1/7", "/api/lab//results/7", "/api/lab/ping/%2e%2e/results/7"):
        assert fleet.get(sly, lab_only).status_code == 400, sly
    assert [s for s in fleet.lab.seen[before:] if "method" in s] == []  # documents read, nothing else
    # Holding both, the route is reached.
    reader = fleet.user("lab:app:access", "lab:result:read")
    answer = fleet.get("/api/lab/results/7/", reader)
    assert answer.status_code == 200, answer.text
    assert answer.json()["path"] == "/results/7/"


def test_unknown_prefix_404_no_instance_503_unreadable_permissions_503(fleet: Fleet) -> None:
    admin = fleet.gw.admin
    unknown = fleet.get("/api/nosuch/ping", admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "unknown_service"
    ghost = fleet.get("/api/ghost/ping", admin)
    assert ghost.status_code == 503
    assert ghost.headers["retry-after"] == "5"
    assert ghost.json()["code"] == "no_live_instance"
    assert ghost.json()["detail"] == "服务 检验系统 当前没有可用实例，请稍后再试"  # Chinese unless asked otherwise
    english = fleet.get("/api/ghost/ping", admin, **{"Accept-Language": "en"})
    assert english.json()["detail"] == "Service Lab has no live instance; try again shortly"
    before = len(fleet.lab.seen)
    broken = fleet.get("/api/labbroken/ping", admin)
    assert broken.status_code == 503
    assert broken.json()["code"] == "routes_unknown"
    assert [s["path"] for s in fleet.lab.seen[before:]] == ["/broken-docs"]


def test_the_apps_permissions_are_granted_in_role_management_by_name(fleet: Fleet) -> None:
    tree = fleet.gw.as_admin("GET", "/api/system/permissions").json()
    lab = next(m for m in tree if m["module"] == "lab")
    assert lab["name"] == {"zh": "检验系统", "en": "Lab"}
    resources = {r["key"]: r for r in lab["resources"]}
    assert resources["lab:app"]["name"] == {"zh": "检验系统", "en": "Lab"}
    assert resources["lab:result"]["name"] == {"zh": "检验结果", "en": "Lab results"}
    permissions = {p["key"]: p for r in lab["resources"] for p in r["permissions"]}
    # Actions the console names itself carry no name; others are named, never shown as their string.
    assert permissions == {
        "lab:app:access": {"key": "lab:app:access", "action": "access", "name": {"zh": "访问", "en": "Access"}},
        "lab:result:read": {"key": "lab:result:read", "action": "read", "name": None},
        "lab:result:verify": {
            "key": "lab:result:verify",
            "action": "verify",
            "name": {"zh": "审核检验结果", "en": "审核检验结果"},
        },
    }
    # An app not running still offers its own permission; one with no document, only that.
    assert [p["key"] for m in tree if m["module"] == "ghost" for r in m["resources"] for p in r["permissions"]] == [
        "ghost:app:read"
    ]
    # Grantable like every other permission, and only by those who hold it.
    granter = fleet.user("system:role:write", "system:role:read", "lab:app:access")
    role = {"name": "检验科", "permissions": ["lab:app:access", "lab:result:read"], "data_scope": "all"}
    refused = fleet.gw.request("POST", "/api/system/roles", granter.access, json=role)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "grant_beyond_own"
    made = fleet.gw.as_admin("POST", "/api/system/roles", json=role)
    assert made.status_code == 201, made.text
    unknown = fleet.gw.as_admin("POST", "/api/system/roles", json={**role, "name": "x", "permissions": ["lab:x:read"]})
    assert unknown.status_code == 422


@pytest.fixture(scope="module")
def spring_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The real thing: the Spring Boot fixture (Eureka client, springdoc) registered in our registry
    with its credentials, routed by our gateway."""
    spring_jars()  # skips outside CI without a JDK; built once, cached in ~/.cache/hamp/spring
    registry = LiveRegistry(registry_username=REGISTRY_USER, registry_password=REGISTRY_PASSWORD)
    registry.start()
    credentials = f"http://{REGISTRY_USER}:{REGISTRY_PASSWORD}@127.0.0.1:{registry.port}/eureka/"
    try:
        with (
            SpringApp(credentials, name="lab"),
            in_process_gateway(
                Path(tmp_path_factory.mktemp("gateway")),
                registry_urls=registry.url,
                registry_username=REGISTRY_USER,
                registry_password=REGISTRY_PASSWORD,
                registry_renewal_seconds=1,
                external_apps=[{**LAB, "app": "lab"}],
                login_rate_per_ip_per_minute=100000,
            ) as gw,
        ):
            deadline = time.monotonic() + 30
            while gw.as_admin("GET", "/api/lab/results/1").status_code != 200:
                assert time.monotonic() < deadline, "the gateway never found the Spring app in the registry"
                time.sleep(0.2)
            yield Fleet(gw, StandIn())
    finally:
        registry.stop()


def test_a_spring_boot_app_is_routed_with_its_springdoc_permissions(spring_fleet: Fleet) -> None:
    gw = spring_fleet.gw
    reader = spring_fleet.user("lab:app:access", "lab:result:read")
    answer = spring_fleet.get("/api/lab/results/42", reader)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == "42"
    assert answer.json()["caller"] == reader.username  # X-Hamp-User, set by the gateway
    assert (answer.json()["test"], answer.json()["unit"]) == ("GLU", "mmol/L")
    order = {"patientId": "P1", "test": "GLU"}
    refused = gw.request("POST", "/api/lab/orders", reader.access, json=order)
    assert refused.status_code == 403
    assert refused.json()["permission"] == "lab:order:write"
    writer = spring_fleet.user("lab:app:access", "lab:order:write", "lab:order:read")
    placed = gw.request("POST", "/api/lab/orders", writer.access, json=order)
    assert placed.status_code == 201, placed.text
    assert [o["patientId"] for o in spring_fleet.get("/api/lab/orders", writer).json()] == ["P1"]
    assert spring_fleet.get("/api/lab/results/42", writer).status_code == 403
    # The Spring app's own answers pass through as it gave them.
    assert spring_fleet.get("/api/lab/results/missing-1", reader).status_code == 404


def _settings(*entries: dict[str, Any]) -> GatewaySettings:
    return GatewaySettings(**ISOLATED, external_apps=list(entries))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**LAB, "prefix": "oms", "permission": "oms:app:access"}, "前缀 'oms' 是平台模块的名称"),
        ({**LAB, "prefix": "system", "permission": "system:app:access"}, "前缀 'system' 是网关自身的路径"),
        ({**LAB, "prefix": "Lab_1"}, "前缀 'Lab_1' 须为小写字母开头的小写字母、数字和连字符"),
        ({**LAB, "permission": "oms:visit:read"}, "权限 'oms:visit:read' 须为 lab:<资源>:<操作>"),
        ({**LAB, "permission": "lab:access"}, "权限 'lab:access' 须为 lab:<资源>:<操作>"),
        ({**LAB, "app": "lab service"}, "应用名 'lab service' 不是注册中心的应用名"),
        ({**LAB, "app": "OMS"}, "应用 'OMS' 是平台自身的组件"),
        ({**LAB, "name_zh": " "}, "请填写应用名称"),
        ({**LAB, "openapi_path": "v3/api-docs"}, "openapi_path 'v3/api-docs' 须以 / 开头"),
        ({**LAB, "port": 8080}, "Extra inputs are not permitted"),
    ],
)
def test_the_setting_is_checked_at_start_with_a_reason(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _settings(entry)
    assert message in str(raised.value)


def test_the_setting_is_read_from_the_environment_and_a_prefix_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMP_GATEWAY_EXTERNAL_APPS", json.dumps([LAB]))
    (entry,) = GatewaySettings(**{k: v for k, v in ISOLATED.items()}).external_apps
    assert (entry.app, entry.strip_prefix, entry.openapi_path) == ("LAB-SERVICE", True, "/v3/api-docs")
    with pytest.raises(ValidationError, match="前缀 'lab' 配置了不止一次"):
        _settings(LAB, {**LAB, "app": "OTHER"})


def test_no_prefix_can_shadow_a_path_of_the_gateway() -> None:
    app = gateway.main.create_app(GatewaySettings(**ISOLATED))
    paths: list[str] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif hasattr(route, "path"):
                paths.append(route.path)

    walk(app.routes)
    own = {p.split("/")[2] for p in paths if p.startswith("/api/") and not p.startswith("/api/{")}
    assert own and own <= GATEWAY_PATHS
