"""Every route of every service, walked from the services' own OpenAPI documents.

Anonymous → 401; a caller lacking the route's `x-permission` → 403; a caller holding exactly
that permission → neither (404 and 422 are fine: path parameters are filled, bodies are `{}`).
Checked (a) against dbs directly, with tokens minted to hold one permission (the service's own
enforcement), and (b) through the live gateway, with real users whose only role holds one
permission. Routes declaring no permission must be in the explicit lists below: a new route that
forgot its permission fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from shared.pii import PII_PERMISSION
from tests.dbs.conftest import Api
from tests.security.conftest import (
    MISSING_ID,
    PUBLIC,
    Gateway,
    Minter,
    Route,
    User,
    bearer,
    dbs_routes,
    gateway_routes,
    problem_code,
)

DBS = dbs_routes()
GATEWAY = gateway_routes()

# Routes that need a login but no permission.
LOGIN_ONLY = {
    "POST /api/auth/logout",
    "GET /api/auth/me",
    "POST /api/auth/password",
    "GET /api/auth/modules",
    # One's own two-step verification.
    "GET /api/auth/second-factor",
    "POST /api/auth/second-factor/enrolment",
    "POST /api/auth/second-factor/confirm",
    "POST /api/auth/second-factor/disable",
    # 导出: the permission depends on the list exported (its own and `<module>:data:export`), checked
    # in the service (tests/gateway/test_exports.py).
    "GET /api/system/exports",
    # One's own notices and notifications (what reaches whom is decided per row).
    "GET /api/system/notices/inbox",
    "POST /api/system/notices/inbox/{notice_id}/read",
    "GET /api/system/notifications",
    "GET /api/system/notifications/unread-count",
    "POST /api/system/notifications/read-all",
    "POST /api/system/notifications/{notification_id}/read",
}

GUARDED_DBS = [r for r in DBS if r.permission]
GUARDED_GATEWAY = [r for r in GATEWAY if r.permission]
EVERY_PERMISSION = sorted({r.permission for r in [*DBS, *GATEWAY] if r.permission} | {PII_PERMISSION})


def _call(client: Any, route: Route, token: str | None, fill: str = MISSING_ID) -> Any:
    headers = bearer(token) if token else {}
    kwargs: dict[str, Any] = {"json": {}} if route.has_body else {}
    return client.request(route.method, route.url(fill), headers=headers, **kwargs)


def _sibling(permission: str, pool: list[str]) -> str:
    """Another permission of the same module: the same resource's other action when there is one."""
    module, resource, _ = permission.split(":")
    same_resource = [p for p in pool if p != permission and p.startswith(f"{module}:{resource}:")]
    same_module = [p for p in pool if p != permission and p.startswith(f"{module}:")]
    return (same_resource or same_module)[0]


# --- the routes themselves -------------------------------------------------------------------


def test_routes_were_found() -> None:
    assert len(GUARDED_DBS) >= 13 * 7 and len(GUARDED_GATEWAY) >= 20
    assert "GET /api/dbs/doctors" in {str(r) for r in DBS}
    assert "DELETE /api/system/sessions/{session_id}" in {str(r) for r in GATEWAY}


def test_every_dbs_route_declares_a_permission() -> None:
    assert [str(r) for r in DBS if not r.permission] == []


def test_gateway_routes_without_permission_are_the_listed_exceptions() -> None:
    assert {str(r) for r in GATEWAY if not r.permission} == PUBLIC | LOGIN_ONLY


@pytest.mark.parametrize("route", [*DBS, *GATEWAY], ids=str)
def test_permission_names_its_own_service(route: Route) -> None:
    if not route.permission:
        return
    service = route.path.split("/")[2]
    module = {"auth": "system"}.get(service, service)
    parts = route.permission.split(":")
    assert len(parts) == 3 and all(parts), route.permission
    assert parts[0] == module, f"{route} declares {route.permission}"


@pytest.mark.parametrize("route", GUARDED_DBS + GUARDED_GATEWAY, ids=str)
def test_reading_never_opens_a_write(route: Route) -> None:
    """A read permission guards only GETs (a write route declaring `:read` would be consistent with
    itself, and every other check here would pass)."""
    assert route.permission is not None
    action = route.permission.split(":")[2]
    if route.method == "GET":
        assert action in ("read", "export"), route.permission
    else:
        assert action not in ("read", "export"), route.permission


# --- (a) dbs enforces by itself, with minted tokens ------------------------------------------


@pytest.mark.parametrize("route", GUARDED_DBS, ids=str)
def test_dbs_route_enforces_its_permission(dbs_api: Api, mint: Minter, route: Route) -> None:
    assert route.permission is not None
    client = dbs_api.client
    anonymous = _call(client, route, None, "1")
    assert anonymous.status_code == 401, anonymous.text
    assert problem_code(anonymous) == "not_authenticated"

    # Everything in the catalogue but this one permission.
    others = mint([p for p in EVERY_PERMISSION if p != route.permission])
    lacking = _call(client, route, others, "1")
    assert lacking.status_code == 403, lacking.text
    assert problem_code(lacking) == "permission_denied"

    exactly = _call(client, route, mint([route.permission]), "1")
    assert exactly.status_code not in (401, 403), exactly.text
    assert exactly.status_code < 500, exactly.text

    # A token whose holder must still change the initial password opens nothing, not even with "*".
    pending = mint(["*"], user_id=7, username="pending", mcp=True)
    refused = _call(client, route, pending, "1")
    assert refused.status_code == 403, refused.text
    assert problem_code(refused) == "password_change_required"


@pytest.mark.parametrize("grant", ["*", "dbs:*", "dbs:doctor:*"])
def test_wildcards_grant_what_is_below_them(dbs_api: Api, mint: Minter, grant: str) -> None:
    assert dbs_api.get("doctors", token=mint([grant])).status_code == 200
    assert dbs_api.post("doctors", {}, token=mint([grant])).status_code == 422
    assert dbs_api.get("departments", token=mint(["dbs:doctor:*"])).status_code == 403
    assert dbs_api.get("doctors", token=mint(["dbs:department:*", "system:*"])).status_code == 403


# --- (b) through the gateway, with real users ------------------------------------------------


@pytest.fixture(scope="module")
def holders(live_gateway: Gateway) -> dict[str, User]:
    """For every permission some route declares: a user whose only role holds exactly it."""
    return {permission: live_gateway.ready_user([permission]) for permission in EVERY_PERMISSION}


def _other_module(permission: str, index: int) -> str:
    module = permission.split(":")[0]
    pool = [p for p in EVERY_PERMISSION if p.split(":")[0] != module]
    return pool[index % len(pool)]


GUARDED = [*GUARDED_DBS, *GUARDED_GATEWAY]


def _refused_by_dbs() -> float:
    """How many requests dbs itself refused (401/403) so far: it runs in this process."""
    return sum(
        REGISTRY.get_sample_value("hamp_http_requests_total", {"component": "dbs", "method": method, "status": status})
        or 0
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        for status in ("401", "403")
    )


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_gateway_route_enforces_its_permission(live_gateway: Gateway, holders: dict[str, User], route: Route) -> None:
    assert route.permission is not None
    client = live_gateway.client
    refused_by_dbs = _refused_by_dbs()
    anonymous = _call(client, route, None)
    assert anonymous.status_code == 401, anonymous.text

    sibling = holders[_sibling(route.permission, EVERY_PERMISSION)]
    lacking = _call(client, route, sibling.access)
    assert lacking.status_code == 403, f"{sibling.tokens['user']['permissions']}: {lacking.text}"
    assert problem_code(lacking) == "permission_denied"

    stranger = holders[_other_module(route.permission, GUARDED.index(route))]
    lacking = _call(client, route, stranger.access)
    assert lacking.status_code == 403, f"{stranger.tokens['user']['permissions']}: {lacking.text}"
    # The gateway refused them itself: none of them reached the service.
    assert _refused_by_dbs() == refused_by_dbs

    holder = holders[route.permission]
    exactly = _call(client, route, holder.access)
    assert exactly.status_code not in (401, 403), exactly.text
    assert exactly.status_code < 500, exactly.text


def test_modules_the_caller_holds_nothing_in_are_refused_at_the_gateway(
    live_gateway: Gateway, holders: dict[str, User]
) -> None:
    """Also where no route is known: a path no service declares, a module that is not running."""
    user = holders["system:user:read"]
    refused_by_dbs = _refused_by_dbs()
    for path in ("/api/dbs/no-such-route", "/api/pms/stock", "/api/oms/anything"):
        answer = live_gateway.request("GET", path, user.access)
        assert answer.status_code == 403, f"{path}: {answer.text}"
    assert _refused_by_dbs() == refused_by_dbs
    # Past the gateway, the superadmin learns what is really there.
    assert live_gateway.as_admin("GET", "/api/dbs/no-such-route").status_code == 404
    assert live_gateway.as_admin("GET", "/api/pms/stock").status_code == 503


@pytest.mark.parametrize("route", [r for r in GATEWAY if str(r) in PUBLIC], ids=str)
def test_public_route_answers_without_login(live_gateway: Gateway, route: Route) -> None:
    answer = _call(live_gateway.client, route, None)
    assert answer.status_code not in (401, 403), answer.text
    assert answer.status_code < 500


@pytest.mark.parametrize("route", [r for r in GATEWAY if str(r) in LOGIN_ONLY], ids=str)
def test_login_only_route_needs_a_login_and_no_permission(live_gateway: Gateway, route: Route) -> None:
    assert _call(live_gateway.client, route, None).status_code == 401
    # A user holding nothing at all (a role without permissions), in a session of its own.
    nobody = live_gateway.ready_user([])
    assert nobody.tokens["user"]["permissions"] == []
    answer = _call(live_gateway.client, route, nobody.access)
    assert answer.status_code not in (401, 403), answer.text
    assert answer.status_code < 500
