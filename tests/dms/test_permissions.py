"""Every dms route refuses a caller without its permission (403) and an anonymous one (401)."""

from __future__ import annotations

import pytest

from tests.dms.conftest import Dms

ROUTES = [
    ("GET", "schedules", "dms:schedule:read"),
    ("GET", "schedules/1", "dms:schedule:read"),
    ("POST", "schedules", "dms:schedule:write"),
    ("PUT", "schedules/1", "dms:schedule:write"),
    ("DELETE", "schedules/1", "dms:schedule:write"),
    ("POST", "schedules/copy-week", "dms:schedule:write"),
    ("GET", "available", "dms:schedule:read"),
    ("POST", "bookings", "dms:booking:write"),
    ("POST", "bookings/k1/release", "dms:booking:write"),
    ("GET", "bookings", "dms:booking:read"),
    ("POST", "leaves", "dms:leave:write"),
    ("GET", "leaves", "dms:leave:read"),
    ("GET", "leaves/1", "dms:leave:read"),
    ("POST", "leaves/1/cancel", "dms:leave:write"),
    ("GET", "visit-records", "dms:visit_record:read"),
    ("GET", "audit-log", "dms:audit:read"),
    ("GET", "audit-log/chain", "dms:audit:read"),
]


def test_the_routes_here_are_every_route(dms: Dms) -> None:
    document = dms.client.get("/api/dms/openapi.json").json()
    declared = {
        (method.upper(), path.removeprefix("/api/dms/"), operation.get("x-permission"))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    listed = {
        (m, "/".join("{x}" if p.isdigit() or p == "k1" else p for p in path.split("/")), perm)
        for m, path, perm in ROUTES
    }
    normalised = {
        (m, "/".join("{x}" if p.startswith("{") else p for p in path.split("/")), perm) for m, path, perm in declared
    }
    assert normalised == listed


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=lambda v: str(v))
def test_refused_without_the_permission(dms: Dms, method: str, path: str, permission: str) -> None:
    body = {} if method in ("POST", "PUT") else None
    anonymous = dms.request(method, path, perms=None, json=body)
    assert anonymous.status_code == 401
    module, resource, action = permission.split(":")
    other = "read" if action == "write" else "write"
    refused = dms.request(method, path, perms=(f"{module}:{resource}:{other}", "dbs:*"), json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    allowed = dms.request(method, path, perms=(permission,), json=body)
    assert allowed.status_code not in (401, 403), allowed.text
