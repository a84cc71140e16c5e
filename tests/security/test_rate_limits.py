"""Rate limits: logins per address and per user name, API calls per user (token bucket)."""

from __future__ import annotations

import pytest

from shared.service_auth import service_secret
from tests.security.conftest import PEER_HEADER, GatewayFactory, InProcessGateway, problem_code

PROXY = "10.9.0.5"
LOGINS_PER_IP = 4
LOGINS_PER_USER = 3
SERVICE_TOKENS = 10
API_BURST = 6


def _from(ip: str) -> dict[str, str]:
    """Through our proxy, so each test can log in from addresses of its own."""
    return {PEER_HEADER: PROXY, "X-Forwarded-For": ip}


def _assert_rate_limited(answer: object) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem_code(answer) == "rate_limited"
    wait = int(answer.headers["retry-after"])
    assert wait >= 1
    return wait


@pytest.fixture(scope="module")
def logins(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(
        trusted_proxies=["10.9.0.0/16"],
        login_rate_per_ip_per_minute=LOGINS_PER_IP,
        login_rate_per_user_per_minute=LOGINS_PER_USER,
        service_token_rate_per_minute=SERVICE_TOKENS,
    )


@pytest.fixture(scope="module")
def api(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(api_burst=API_BURST, api_rate_per_second=0.1)


def test_logins_per_address(logins: InProcessGateway) -> None:
    ip = "192.168.50.1"
    for n in range(LOGINS_PER_IP):
        answer = logins.login(f"nobody{n}", "Wrong-pw-1", **_from(ip))
        assert answer.status_code == 401, answer.text
    refused = logins.login("admin", logins.admin.password, **_from(ip))  # even the right password
    wait = _assert_rate_limited(refused)
    assert wait <= 60 / LOGINS_PER_IP + 1
    # Another address is not held back.
    assert logins.login("admin", logins.admin.password, **_from("192.168.50.2")).status_code == 200
    rows = logins.as_admin("GET", "/api/system/login-log", params={"ip": ip}).json()["items"]
    assert (rows[0]["username"], rows[0]["result"], rows[0]["reason"]) == ("admin", "failure", "rate_limited")


def test_logins_per_user_name(logins: InProcessGateway) -> None:
    user = logins.ready_user(["system:user:read"])  # its first login counts too
    for n in range(LOGINS_PER_USER - 1):
        answer = logins.login(user.username, "Wrong-pw-1", **_from(f"192.168.60.{n + 1}"))
        assert answer.status_code == 401, answer.text
    # From yet another address, with the right password: the name itself is held back.
    _assert_rate_limited(logins.login(user.username, user.password, **_from("192.168.60.99")))
    _assert_rate_limited(logins.login(user.username.upper(), user.password, **_from("192.168.60.98")))
    # Another name is not held back.
    assert logins.login("somebody_else", "Wrong-pw-1", **_from("192.168.60.97")).status_code == 401


def test_service_tokens_do_not_use_up_the_logins_of_their_address(logins: InProcessGateway) -> None:
    # Every service of `hamp up` trades the secret from 127.0.0.1, where the administrator logs in
    # too; in a cluster the replicas of oms share its name. Neither may lock the other out.
    ip, secret = "192.168.70.1", service_secret(logins.settings)

    def trade(service: str, key: str = secret) -> object:
        body = {"service": service, "secret": key}
        return logins.client.post("/api/auth/service-token", json=body, headers=_from(ip))

    for _ in range(LOGINS_PER_IP + LOGINS_PER_USER):  # more than either login budget
        assert trade("oms").status_code == 200
    clerk = logins.ready_user(["system:user:read"])
    assert logins.login(clerk.username, clerk.password, **_from(ip)).status_code == 200
    # A budget of its own, per address and service: spent, it holds back that service there only.
    for _ in range(SERVICE_TOKENS - LOGINS_PER_IP - LOGINS_PER_USER):
        assert trade("oms").status_code == 200
    _assert_rate_limited(trade("oms"))
    assert trade("pms").status_code == 200
    # Names that get no token share one budget, so a caller cannot make itself new ones.
    for n in range(SERVICE_TOKENS):
        assert trade(f"nosuch{n}").status_code == 401
    _assert_rate_limited(trade("nosuch-more"))


def test_api_calls_per_user_after_the_burst(api: InProcessGateway) -> None:
    user = api.ready_user(["system:user:read"])  # its password change took one token
    for _ in range(API_BURST - 1):
        assert api.request("GET", "/api/system/users", user.access).status_code == 200
    _assert_rate_limited(api.request("GET", "/api/system/users", user.access))
    _assert_rate_limited(api.request("GET", "/api/auth/me", user.access))
    _assert_rate_limited(api.request("GET", "/api/dbs/doctors", user.access))  # before any service
    # Other users have buckets of their own.
    assert api.request("GET", "/api/auth/me", api.admin.access).status_code == 200
