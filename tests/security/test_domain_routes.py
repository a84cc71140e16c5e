"""Every route of the domain services added after dbs (oms, dms, pms), from their own OpenAPI.

Each declares a well-formed permission of its own module (reads only on GETs), and each app
enforces it by itself: anonymous → 401, everything but that permission → 403, exactly that
permission → past the check (a 404, a 422 for the empty body, or a 503 naming the other service
it needs and that is not running here — never 401/403 or a crash).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared import components
from shared.pii import PII_PERMISSION
from tests.security.conftest import ISOLATED, Minter, Route, bearer, problem_code, routes_of
from tests.support.tokens import SigningKey

DOMAIN = ("oms", "dms", "pms", "sms", "hms")
# Refusals that prove the permission check let the call through to another service that is absent.
DEPENDENCY_CODES = {"dependency_unavailable", "service_token_refused"}


def _app(name: str, **settings: Any) -> Any:
    module = components.load(name)
    return module.create_app(module.settings_class(**{**ISOLATED, **settings}))


ROUTES = {name: routes_of(_app(name).openapi()) for name in DOMAIN}
ALL = [route for name in DOMAIN for route in ROUTES[name]]
EVERY_PERMISSION = sorted({r.permission for r in ALL if r.permission} | {PII_PERMISSION})


@pytest.fixture(scope="module")
def clients(signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    var_dir = Path(tmp_path_factory.mktemp("domain"))
    opened = {}
    try:
        for name in DOMAIN:
            app = _app(
                name,
                var_dir=var_dir,
                jwks=signing_key.jwks_json,
                check_revocations=False,
                service_urls={},
                http_timeout_seconds=2,
            )
            opened[name] = TestClient(app, raise_server_exceptions=False).__enter__()
        yield opened
    finally:
        for client in opened.values():
            client.__exit__(None, None, None)


def test_every_domain_route_declares_a_permission() -> None:
    assert all(ROUTES[name] for name in DOMAIN)
    assert [str(r) for r in ALL if not r.permission] == []


@pytest.mark.parametrize("route", ALL, ids=str)
def test_permission_names_its_own_service_and_reads_only_read(route: Route) -> None:
    assert route.permission is not None
    module, resource, action = route.permission.split(":")
    assert module == route.path.split("/")[2] and resource, route.permission
    if route.method == "GET":
        assert action == "read", route.permission
    else:
        assert action != "read", route.permission


@pytest.mark.parametrize("route", ALL, ids=str)
def test_domain_route_enforces_its_permission(clients: dict[str, TestClient], mint: Minter, route: Route) -> None:
    assert route.permission is not None
    client = clients[route.path.split("/")[2]]

    def call(token: str | None) -> Any:
        kwargs: dict[str, Any] = {"json": {}} if route.has_body else {}
        return client.request(route.method, route.url("1"), headers=bearer(token) if token else {}, **kwargs)

    anonymous = call(None)
    assert anonymous.status_code == 401, anonymous.text
    lacking = call(mint([p for p in EVERY_PERMISSION if p != route.permission]))
    assert lacking.status_code == 403, lacking.text
    assert problem_code(lacking) == "permission_denied"
    exactly = call(mint([route.permission]))
    assert exactly.status_code not in (401, 403), exactly.text
    assert exactly.status_code < 500 or problem_code(exactly) in DEPENDENCY_CODES, exactly.text
