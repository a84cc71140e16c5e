"""A gateway in process for the notices and notifications tests: its own SQLite file, no polling
in the background (the tests poll when they mean to), argon2 at its smallest cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from passlib.context import CryptContext

import gateway.main
from gateway.auth import passwords
from gateway.settings import GatewaySettings
from tests.security.conftest import ADMIN_PASSWORD, ISOLATED, LOCAL, InProcessGateway, PeerFromHeader


@contextmanager
def in_process_gateway(var_dir: Path, **overrides: Any) -> Iterator[InProcessGateway]:
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        # As in tests/security: every rule the same, a hash in ~1 ms instead of 0.2-0.4 s.
        cheap = CryptContext(schemes=["argon2"], argon2__memory_cost=256, argon2__rounds=1, argon2__parallelism=1)
        patch.setattr(passwords, "_context", cheap)
        passwords._dummy_hash.cache_clear()
        stack.callback(passwords._dummy_hash.cache_clear)
        settings = GatewaySettings(
            **{
                **ISOLATED,
                "var_dir": var_dir,
                "superadmin_password": ADMIN_PASSWORD,
                "notifications_poll_seconds": 0,
                **overrides,
            }
        )
        app = gateway.main.create_app(settings)
        client = stack.enter_context(TestClient(PeerFromHeader(app), client=LOCAL))
        gw = InProcessGateway(client, app, settings)
        stack.callback(gw.engine.dispose)
        yield gw
