"""What the gateway tells a service about the caller: X-Forwarded-For is believed only from our proxies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from gateway.proxy.client_ip import client_ip
from gateway.proxy.router import _request_headers
from shared.context import request_id_var


def _request(peer: str, headers: dict[str, str], trusted: list[str]) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "path": "/api/dbs/departments",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 50000),
        "server": ("gateway", 8080),
        "app": SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=trusted))),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected_ip", "expected_chain"),
    [
        # A direct caller cannot choose the address the services see.
        ("10.1.2.3", "1.2.3.4", [], "10.1.2.3", "10.1.2.3"),
        ("10.1.2.3", "1.2.3.4", ["10.9.0.0/16"], "10.1.2.3", "10.1.2.3"),
        # Through our Ingress: the client is the address it saw, and the chain goes on.
        ("10.9.0.5", "172.20.1.7", ["10.9.0.0/16"], "172.20.1.7", "172.20.1.7, 10.9.0.5"),
        # A forged entry before the real client is not believed: walk from the right.
        ("10.9.0.5", "6.6.6.6, 172.20.1.7", ["10.9.0.0/16"], "172.20.1.7", "6.6.6.6, 172.20.1.7, 10.9.0.5"),
    ],
)
def test_forwarded_for(peer: str, forwarded: str, trusted: list[str], expected_ip: str, expected_chain: str) -> None:
    request = _request(peer, {"X-Forwarded-For": forwarded, "Host": "hamp.hospital"}, trusted)
    assert client_ip(request) == expected_ip
    headers = dict(_request_headers(request))
    assert headers["x-forwarded-for"] == expected_chain
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == "hamp.hospital"


def test_hop_by_hop_headers_are_not_forwarded_and_request_id_is_ours() -> None:
    reset = request_id_var.set("rid-1")
    request = _request(
        "10.1.2.3",
        {"Connection": "keep-alive", "Upgrade": "h2c", "X-Request-ID": "spoofed", "Authorization": "Bearer t"},
        [],
    )
    headers = _request_headers(request)
    request_id_var.reset(reset)
    names = [k.lower() for k, _ in headers]
    assert "connection" not in names and "upgrade" not in names and "host" not in names
    assert dict(headers)["x-request-id"] == "rid-1" and names.count("x-request-id") == 1
    assert dict(headers)["authorization"] == "Bearer t"  # services verify the token again
