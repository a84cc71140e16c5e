"""The caller's address: X-Forwarded-For is believed only when the peer is a configured proxy."""

from __future__ import annotations

import ipaddress

from fastapi import Request


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def forwarded_client(peer: str, forwarded_for: str, proxies: list[str]) -> str:
    if not proxies or not _in(peer, proxies):
        return peer
    # Walk the chain from the right: the first address that is not one of our proxies is the client.
    chain = [p.strip() for p in forwarded_for.split(",") if p.strip()]
    for address in reversed(chain):
        if not _in(address, proxies):
            return address
    return chain[0] if chain else peer


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else ""
    return forwarded_client(
        peer, request.headers.get("x-forwarded-for", ""), request.app.state.settings.trusted_proxies
    )
