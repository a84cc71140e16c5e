"""Routing through the gateway to a real dbs found in a real registry."""

from __future__ import annotations

import time
import uuid

import httpx2
import pytest

from tests.conftest import Platform


@pytest.fixture(scope="module")
def token(platform: Platform) -> str:
    answer = httpx2.post(
        f"{platform.gateway_url}/api/auth/login",
        json={"username": platform.admin_username, "password": platform.admin_password},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _get(platform: Platform, token: str, path: str, **headers: str) -> httpx2.Response:
    return httpx2.get(
        f"{platform.gateway_url}{path}", headers={"Authorization": f"Bearer {token}", **headers}, timeout=10
    )


def _wait_for_status(platform: Platform, token: str, status: int, timeout: float = 30.0) -> httpx2.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = _get(platform, token, "/api/dbs/departments")
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_routes_to_dbs_with_request_id(platform: Platform, token: str) -> None:
    request_id = f"test-{uuid.uuid4().hex}"
    answer = _get(platform, token, "/api/dbs/departments", **{"X-Request-ID": request_id})
    assert answer.status_code == 200
    assert set(answer.json()) == {"items", "total", "page", "size"}
    assert answer.headers["x-request-id"] == request_id


def test_write_through_gateway_reaches_dbs(platform: Platform, token: str) -> None:
    name = f"科室{uuid.uuid4().hex[:6]}"
    created = httpx2.post(
        f"{platform.gateway_url}/api/dbs/departments",
        json={"code": name, "name": name, "kind": "outpatient"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    direct = httpx2.get(
        f"{platform.dbs_url}/api/dbs/departments/{created.json()['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert direct.json()["name"] == name


def test_service_problem_passes_through_unchanged(platform: Platform, token: str) -> None:
    answer = _get(platform, token, "/api/dbs/departments/987654", **{"Accept-Language": "en"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "not found" in answer.json()["detail"]


def test_unknown_service_is_404(platform: Platform, token: str) -> None:
    answer = _get(platform, token, "/api/nosuch/things")
    assert answer.status_code == 404
    assert answer.json()["code"] == "unknown_service"


def test_modules_show_only_running_services_and_one_stopped_is_503(platform: Platform, token: str) -> None:
    def modules() -> dict[str, bool]:
        return {m["key"]: m["available"] for m in _get(platform, token, "/api/auth/modules").json()}

    assert all(modules()[key] is True for key in ("dbs", "oms", "hms", "tms", "dms", "sms", "pms"))
    platform.components["tms"].stop()  # cancels its lease: as if it were not deployed
    try:
        deadline = time.monotonic() + 30
        while modules()["tms"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert modules()["tms"] is False
        answer = _get(platform, token, "/api/tms/reports")
        assert answer.status_code == 503
        assert answer.json()["code"] == "no_live_instance"
    finally:
        platform.components["tms"].start()


def test_503_while_dbs_is_stopped_then_recovers(platform: Platform, token: str) -> None:
    assert _get(platform, token, "/api/dbs/departments").status_code == 200
    platform.components["dbs"].stop()
    try:
        down = _wait_for_status(platform, token, 503)
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["code"] == "no_live_instance"
        assert "dbs" in down.json()["detail"]
        assert down.headers["retry-after"]
    finally:
        platform.components["dbs"].start()
    assert _wait_for_status(platform, token, 200).status_code == 200


def test_killed_dbs_is_skipped_without_waiting_for_lease_expiry(platform: Platform, token: str) -> None:
    """A crash leaves the lease registered; the breaker must turn refusals into a fast 503."""
    import signal

    platform.components["dbs"].stop(signal.SIGKILL)
    try:
        started = time.monotonic()
        answer = _get(platform, token, "/api/dbs/departments")
        assert answer.status_code == 503
        assert time.monotonic() - started < 5
    finally:
        platform.components["dbs"].start()
    assert _wait_for_status(platform, token, 200).status_code == 200
