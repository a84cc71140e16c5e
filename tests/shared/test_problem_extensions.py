"""A refusal names the missing permission as data, so a console can say it in words instead of
showing the permission string (issue 9: no permission strings on screen)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import Principal, require_permission
from shared.errors import install_error_handlers


def test_a_permission_refusal_carries_the_permission_as_an_extension_member() -> None:
    app = FastAPI()
    install_error_handlers(app)
    clerk = Principal(user_id=3, username="clerk", name="门诊收费员", permissions=frozenset({"oms:visit:read"}))

    @app.get("/drugs")
    def drugs() -> None:
        require_permission(clerk, "dbs:drug:read")

    answer = TestClient(app).get("/drugs")
    assert answer.status_code == 403
    problem = answer.json()
    assert (problem["code"], problem["permission"]) == ("permission_denied", "dbs:drug:read")
