"""A configured JWKS document is the whole truth: no fetch from a URL ever replaces it.

The default `jwks_url` points at the gateway's default port; a gateway (or anything else)
listening there while services run with an inline document used to swap the keys under them.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from shared import components
from shared.auth import KeySet, TokenVerifier
from shared.errors import Unauthorized
from shared.settings import ServiceSettings
from tests.support.tokens import SigningKey


class FakeGateway:
    """Answers `/api/auth/jwks` with its own key and counts who asked."""

    def __init__(self, server: ThreadingHTTPServer, key: SigningKey) -> None:
        self.server = server
        self.key = key
        self.hits = 0

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/auth/jwks"


@contextmanager
def fake_gateway(key: SigningKey, host: str = "127.0.0.1", port: int = 0) -> Iterator[FakeGateway]:
    gateway: FakeGateway

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            gateway.hits += 1
            body = key.jwks_json.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    gateway = FakeGateway(server, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fake_gateway_at_default_url(key: SigningKey) -> Iterator[FakeGateway | None]:
    """Our own answer on the default URL's port, or None when something already listens there
    (a real gateway from `./hamp up`): the test then runs against that instead of skipping."""
    default = urlsplit(ServiceSettings.model_fields["jwks_url"].default)
    try:
        with fake_gateway(key, default.hostname or "127.0.0.1", default.port or 80) as gateway:
            yield gateway
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        with socket.create_connection((default.hostname, default.port), timeout=2):
            pass  # something does listen there
        yield None


def test_an_inline_document_is_never_replaced_by_its_url(signing_key: SigningKey) -> None:
    other = SigningKey.generate()
    with fake_gateway(other) as gateway:
        verifier = TokenVerifier(KeySet(gateway.url, signing_key.jwks_json), "hamp-gateway", "hamp")

        async def scenario() -> None:
            assert (await verifier.verify(signing_key.token())).user_id == 1
            # A kid the document does not hold is unknown, not a reason to ask the URL.
            with pytest.raises(Unauthorized):
                await verifier.verify(other.token())
            assert (await verifier.verify(signing_key.token(user_id=2))).user_id == 2

        asyncio.run(scenario())
        assert gateway.hits == 0


def test_without_a_document_the_url_is_asked(signing_key: SigningKey) -> None:
    with fake_gateway(signing_key) as gateway:
        verifier = TokenVerifier(KeySet(gateway.url), "hamp-gateway", "hamp")
        assert asyncio.run(verifier.verify(signing_key.token())).user_id == 1
        assert gateway.hits == 1


def test_a_service_keeps_its_inline_keys_while_something_answers_the_default_url(
    signing_key: SigningKey, tmp_path: Path
) -> None:
    module = components.load("dbs")
    settings = module.settings_class(
        var_dir=tmp_path,
        database_url="",
        registry_urls="",
        redis_url="",
        redis_sentinels="",
        service_urls={},
        jwks=signing_key.jwks_json,
        check_revocations=False,
        log_to_file=False,
        log_level="WARNING",
    )
    assert settings.jwks_url == ServiceSettings.model_fields["jwks_url"].default
    stranger = SigningKey.generate()
    with fake_gateway_at_default_url(stranger) as gateway, TestClient(module.create_app(settings)) as client:

        def departments(key: SigningKey) -> int:
            headers = {"Authorization": f"Bearer {key.token()}"}
            return client.get("/api/dbs/departments", headers=headers).status_code

        assert departments(signing_key) == 200
        assert departments(stranger) == 401
        assert departments(signing_key) == 200
        if gateway is not None:
            assert gateway.hits == 0
