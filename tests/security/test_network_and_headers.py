"""Who may reach the gateway (trusted networks, X-Forwarded-For only from our proxies), the
client address the login log keeps, and the security headers of every answer."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from gateway.security import CONSOLE_CSP
from shared import components
from tests.security.conftest import (
    ISOLATED,
    LOCAL,
    PEER_HEADER,
    GatewayFactory,
    InProcessGateway,
    problem_code,
)
from tests.support.stack import Stack
from tests.support.tokens import SigningKey

PROXY = "10.9.0.5"
OTHER_PROXY = "10.9.0.7"
LAN = "192.168.1.20"
OUTSIDE = "8.8.8.8"
ORIGIN = "https://console.hospital.example"
HSTS = "strict-transport-security"


@pytest.fixture(scope="module")
def proxied(gateway_factory: GatewayFactory) -> InProcessGateway:
    """Behind an Ingress at 10.9.0.0/16, which is itself not a trusted network."""
    return gateway_factory(
        trusted_networks=["192.168.0.0/16", "127.0.0.0/8", "::1/128"],
        trusted_proxies=["10.9.0.0/16"],
        cors_origins=[ORIGIN],
    )


@pytest.fixture(scope="module")
def direct(gateway_factory: GatewayFactory) -> InProcessGateway:
    """Default settings: the default networks, no proxies, no CORS origins."""
    return gateway_factory()


def _get(gw: InProcessGateway, path: str, peer: str, forwarded: str | None = None, **headers: str) -> object:
    headers = {PEER_HEADER: peer, **headers}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return gw.client.get(path, headers=headers)


def _assert_refused(answer: object) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem_code(answer) == "untrusted_network"


def _login_log(gw: InProcessGateway, username: str) -> list[dict]:
    return gw.as_admin("GET", "/api/system/login-log", params={"username": username}).json()["items"]


# --- trusted networks -----------------------------------------------------------------------


@pytest.mark.parametrize("peer", [OUTSIDE, "2001:db8::1", PROXY, "testclient", ""])
@pytest.mark.parametrize("path", ["/api/auth/jwks", "/", "/api/dbs/doctors", "/api/system/users"])
def test_callers_outside_the_trusted_networks_are_refused(proxied: InProcessGateway, peer: str, path: str) -> None:
    _assert_refused(_get(proxied, path, peer))


def test_a_login_from_outside_is_refused_before_it_is_tried(proxied: InProcessGateway) -> None:
    answer = proxied.client.post(
        "/api/auth/login", json={"username": "admin", "password": "x"}, headers={PEER_HEADER: OUTSIDE}
    )
    _assert_refused(answer)
    assert all(row["ip"] != OUTSIDE for row in _login_log(proxied, "admin"))


@pytest.mark.parametrize("peer", [LAN, "127.0.0.1", "::1"])
def test_callers_inside_are_admitted(proxied: InProcessGateway, peer: str) -> None:
    assert _get(proxied, "/api/auth/jwks", peer).status_code == 200
    assert _get(proxied, "/api/auth/me", peer).status_code == 401  # admitted, then asked to log in


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/metrics"])
def test_health_probes_are_answered_to_anyone(proxied: InProcessGateway, path: str) -> None:
    assert _get(proxied, path, OUTSIDE).status_code == 200


def test_without_proxies_x_forwarded_for_is_ignored(direct: InProcessGateway) -> None:
    _assert_refused(_get(direct, "/api/auth/jwks", OUTSIDE, forwarded=LAN))
    assert _get(direct, "/api/auth/jwks", LAN, forwarded=OUTSIDE).status_code == 200


@pytest.mark.parametrize(
    ("peer", "forwarded", "admitted"),
    [
        (OUTSIDE, LAN, False),  # forged by a direct caller: not believed
        (PROXY, OUTSIDE, False),  # our proxy forwarding an outside client
        (PROXY, LAN, True),  # our proxy forwarding a LAN client
        (PROXY, f"{LAN}, {OTHER_PROXY}", True),  # through two of our proxies
        (PROXY, f"{LAN}, {OUTSIDE}", False),  # an outside client that forged a LAN entry before itself
        (PROXY, "", False),  # a proxy forwarding nobody is just the proxy
        (LAN, OUTSIDE, True),  # a LAN caller is judged by its own address
    ],
)
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    proxied: InProcessGateway, peer: str, forwarded: str, admitted: bool
) -> None:
    answer = _get(proxied, "/api/auth/jwks", peer, forwarded=forwarded)
    if admitted:
        assert answer.status_code == 200, answer.text
    else:
        _assert_refused(answer)


def test_the_login_log_keeps_the_real_client_address(proxied: InProcessGateway) -> None:
    user = proxied.ready_user(["system:user:read"])
    through_proxy = proxied.login(
        user.username, user.password, **{PEER_HEADER: PROXY, "X-Forwarded-For": "192.168.7.7"}
    )
    assert through_proxy.status_code == 200
    assert _login_log(proxied, user.username)[0]["ip"] == "192.168.7.7"
    sessions = proxied.as_admin("GET", "/api/system/sessions", params={"username": user.username}).json()["items"]
    assert "192.168.7.7" in {s["ip"] for s in sessions}

    forged = proxied.login(
        user.username, "Wrong-pw-1", **{PEER_HEADER: "192.168.1.9", "X-Forwarded-For": "192.168.66.66"}
    )
    assert forged.status_code == 401
    newest = _login_log(proxied, user.username)[0]
    assert (newest["ip"], newest["result"]) == ("192.168.1.9", "failure")


def test_without_proxies_the_login_log_keeps_the_peer(direct: InProcessGateway) -> None:
    answer = direct.login("admin", "Wrong-pw-1", **{PEER_HEADER: LAN, "X-Forwarded-For": "192.168.66.66"})
    assert answer.status_code == 401
    assert _login_log(direct, "admin")[0]["ip"] == LAN


# --- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/system/users"])
def test_console_pages_carry_csp_and_nosniff(proxied: InProcessGateway, path: str) -> None:
    answer = _get(proxied, path, LAN)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CONSOLE_CSP
    csp = answer.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'self'"):
        assert directive in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("path", "status"), [("/api/auth/jwks", 200), ("/api/auth/me", 401), ("/api/dbs/doctors", 401)]
)
def test_api_answers_carry_nosniff(proxied: InProcessGateway, path: str, status: int) -> None:
    answer = _get(proxied, path, LAN)
    assert answer.status_code == status
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_over_tls(proxied: InProcessGateway, direct: InProcessGateway) -> None:
    assert HSTS not in _get(proxied, "/api/auth/jwks", LAN).headers
    # TLS ended at our proxy, which says so.
    via_proxy = _get(proxied, "/api/auth/jwks", PROXY, forwarded=LAN, **{"X-Forwarded-Proto": "https"})
    assert via_proxy.status_code == 200
    value = via_proxy.headers[HSTS]
    assert value.startswith("max-age=") and int(value.split("=")[1].split(";")[0]) >= 31536000
    # Anyone else claiming https is not believed.
    assert HSTS not in _get(proxied, "/api/auth/jwks", LAN, **{"X-Forwarded-Proto": "https"}).headers
    assert HSTS not in _get(direct, "/api/auth/jwks", "127.0.0.1", **{"X-Forwarded-Proto": "https"}).headers
    # TLS to the gateway itself.
    tls = proxied.client.get("https://testserver/api/auth/jwks", headers={PEER_HEADER: LAN})
    assert tls.status_code == 200 and HSTS in tls.headers


def _preflight(gw: InProcessGateway, origin: str, peer: str = LAN) -> object:
    return gw.client.options(
        "/api/auth/login",
        headers={
            PEER_HEADER: peer,
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )


def test_cors_preflight_from_a_configured_origin(proxied: InProcessGateway) -> None:
    answer = _preflight(proxied, ORIGIN)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    assert "origin" in answer.headers["vary"].lower()
    assert answer.headers.get("access-control-allow-credentials") is None
    simple = _get(proxied, "/api/auth/jwks", LAN, Origin=ORIGIN)
    assert simple.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", f"{ORIGIN}.evil.example", "http://console.hospital.example"]
)
def test_cors_is_not_granted_to_other_origins(proxied: InProcessGateway, origin: str) -> None:
    preflight = _preflight(proxied, origin)
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code != 204
    simple = _get(proxied, "/api/auth/jwks", LAN, Origin=origin)
    assert "access-control-allow-origin" not in simple.headers


def test_cors_is_off_without_configured_origins(direct: InProcessGateway) -> None:
    assert "access-control-allow-origin" not in _preflight(direct, ORIGIN, "127.0.0.1").headers


def test_cors_preflight_from_outside_is_refused(proxied: InProcessGateway) -> None:
    answer = _preflight(proxied, ORIGIN, OUTSIDE)
    _assert_refused(answer)
    assert "access-control-allow-origin" not in answer.headers


# --- the headers every component sends ------------------------------------------------------

COMMON_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def _component_client(name: str, var_dir: Path, jwks: str) -> TestClient:
    module = components.load(name)
    if name == "registry":
        settings = module.settings_class(var_dir=var_dir, log_to_file=False, log_level="WARNING")
    else:
        settings = module.settings_class(**{**ISOLATED, "var_dir": var_dir, "jwks": jwks, "service_urls": {}})
    return TestClient(module.create_app(settings), raise_server_exceptions=False, client=LOCAL)


def _calls(name: str, client: TestClient) -> list[tuple[str, int, object]]:
    """(what, expected status, answer) for a normal JSON route, errors and the health probe."""
    if name == "registry":
        normal = client.get("/eureka/apps", headers={"Accept": "application/json"})
        missing = client.get("/eureka/no-such-thing")
        return [("normal", 200, normal), ("404", 404, missing), ("health", 200, client.get("/health"))]
    prefix = "/api/system" if name == "gateway" else f"/api/{name}"
    document = client.get(client.app.openapi_url)
    protected = next(
        path
        for path, operations in document.json()["paths"].items()
        if "{" not in path and operations.get("get", {}).get("x-permission")
    )
    calls = [
        ("normal", 200, document),
        ("401", 401, client.get(protected)),
        ("404", 404, client.get(f"{prefix}/no-such-thing")),
        ("health", 200, client.get("/health")),
    ]
    if name == "gateway":
        calls.append(("422", 422, client.post("/api/auth/login", json={})))
    return calls


@pytest.mark.parametrize("name", [n for n in components.available()])
def test_every_component_sends_the_common_security_headers(name: str, signing_key: SigningKey, tmp_path: Path) -> None:
    umask = os.umask(0o022)  # starting an app makes the process umask private; the suite keeps its own
    try:
        with _component_client(name, tmp_path, signing_key.jwks_json) as client:
            for what, status, answer in _calls(name, client):
                assert answer.status_code == status, (what, answer.text)
                for header, value in COMMON_HEADERS.items():
                    assert answer.headers.get(header) == value, (what, header, dict(answer.headers))
                    # One copy only, also where the gateway passes on a service's answer.
                    assert len(answer.headers.get_list(header)) == 1, (what, header)
                if answer.headers.get("content-type", "").split(";")[0].endswith("json"):
                    assert answer.headers.get("cache-control") == "no-store", (what, dict(answer.headers))
    finally:
        os.umask(umask)


def test_a_proxied_answer_carries_each_header_once(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with Stack(tmp_path) as stack:
            stack.start("gateway")  # first: dbs asks it about revoked sessions
            stack.start("dbs")
            direct = httpx2.get(f"{stack.url('dbs')}/api/dbs/departments", headers=stack.bearer())
            proxied = httpx2.get(f"{stack.url('gateway')}/api/dbs/departments", headers=stack.bearer())
    finally:
        os.umask(umask)
    for answer in (direct, proxied):
        assert answer.status_code == 200, answer.text
        for header, value in {**COMMON_HEADERS, "cache-control": "no-store"}.items():
            assert answer.headers.get_list(header) == [value], header


def test_an_unexpected_error_carries_them_too(tmp_path: Path) -> None:
    from fastapi import APIRouter

    from shared.app import create_app
    from shared.settings import HampSettings

    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    umask = os.umask(0o022)
    try:
        app = create_app(HampSettings(var_dir=tmp_path, log_to_file=False), title="t", routers=[router])
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/boom")
    finally:
        os.umask(umask)
    assert answer.status_code == 500
    for header, value in {**COMMON_HEADERS, "cache-control": "no-store"}.items():
        assert answer.headers.get(header) == value, header


def test_a_refusal_from_outside_carries_them(proxied: InProcessGateway) -> None:
    answer = _get(proxied, "/api/auth/jwks", OUTSIDE)
    _assert_refused(answer)
    for header, value in COMMON_HEADERS.items():
        assert answer.headers.get(header) == value, header
