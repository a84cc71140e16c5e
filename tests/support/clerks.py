"""Accounts made the way a hospital makes them: the superadmin ticks a module in the role editor
(every permission the catalogue lists under it) and creates a user holding that role."""

from __future__ import annotations

import uuid

import httpx2

# Letters and digits, no user name in it: the password policy takes it.
CLERK_PASSWORD = "Desk2026clerk"


def module_permissions(admin: httpx2.Client, module: str) -> list[str]:
    """What ticking `module` in the role editor grants: every permission of its catalogue node."""
    catalogue = admin.get("/api/system/permissions")
    assert catalogue.status_code == 200, catalogue.text
    (node,) = [m for m in catalogue.json() if m["module"] == module]
    return [p["key"] for resource in node["resources"] for p in resource["permissions"]]


def user_with(admin: httpx2.Client, permissions: list[str], real_name: str = "门诊收费员") -> tuple[str, str]:
    """A role holding exactly `permissions` and a user with it whose one-time password is already
    changed (to CLERK_PASSWORD); answers the user name and password."""
    tag = uuid.uuid4().hex[:8]
    role = admin.post(
        "/api/system/roles",
        json={"name": f"角色{tag}", "permissions": permissions, "data_scope": "all", "department_ids": []},
    )
    assert role.status_code == 201, role.text
    created = admin.post(
        "/api/system/users", json={"username": f"clerk{tag}", "real_name": real_name, "role_ids": [role.json()["id"]]}
    )
    assert created.status_code == 201, created.text
    username, initial = created.json()["user"]["username"], created.json()["initial_password"]
    with httpx2.Client(base_url=str(admin.base_url), timeout=30) as client:
        login = client.post("/api/auth/login", json={"username": username, "password": initial})
        assert login.status_code == 200, login.text
        changed = client.post(
            "/api/auth/password",
            json={"current_password": initial, "new_password": CLERK_PASSWORD},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert changed.status_code == 200, changed.text
    return username, CLERK_PASSWORD


def login(base: str, username: str, password: str) -> httpx2.Client:
    """A client of the gateway holding this user's bearer token."""
    client = httpx2.Client(base_url=base, timeout=60)
    answer = client.post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client
