"""Several real components in threads of this process, wired without a registry.

Each component is its real app served by uvicorn on a loopback port (ThreadServer); they find
one another through `service_urls`, share one service secret and one var directory, and the
gateway signs with `stack.key`, which every component trusts. So a test can mint tokens with
`stack.key.token([...])` and call any component directly, while calls between services carry
real service tokens issued by the real gateway.

    with Stack(tmp_path, {"dbs": sqlite_url}) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("dms")
        httpx2.get(f"{stack.url('dms')}/api/dms/schedules", headers=stack.bearer(["*"]))
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from shared import components
from tests.support.servers import ThreadServer, free_port
from tests.support.tokens import SigningKey


class Stack:
    """Components started in order; all stopped, last first, when the block ends."""

    ADMIN_PASSWORD = "Stack-admin-pass-1"

    def __init__(self, var_dir: Path, database_urls: dict[str, str] | None = None, key: SigningKey | None = None):
        self.var_dir = Path(var_dir)
        self.database_urls = database_urls or {}
        self.key = key or SigningKey.generate()  # its kid is the gateway's own, so both kinds of token agree
        self.secret = secrets.token_urlsafe(24)
        self.ports = {name: free_port() for name in components.ALL}
        self.apps: dict[str, Any] = {}
        self._servers = ExitStack()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def settings(self, name: str, **overrides: Any) -> Any:
        module = components.load(name)
        values: dict[str, Any] = {
            "var_dir": self.var_dir,
            "port": self.ports[name],
            "registry_urls": "",
            "redis_url": "",
            "redis_sentinels": "",
            "log_to_file": False,
            "log_level": "WARNING",
            "jwks": self.key.jwks_json,
            "service_secret": self.secret,
            "service_urls": {other.upper(): self.url(other) for other in (*components.SERVICES, "gateway")},
            "database_url": self.database_urls.get(name, ""),
            "demo_data": False,
        }
        if name == "gateway":
            values.update(
                signing_key_pem=self.key.private_pem,
                superadmin_password=self.ADMIN_PASSWORD,
                totp_required_permissions=[],
                login_rate_per_ip_per_minute=100000,
                api_rate_per_second=100000,
                api_burst=100000,
            )
        values.update(overrides)
        return module.settings_class(**values)

    def start(self, name: str, **overrides: Any) -> str:
        """Starts one component with these setting overrides; answers its base URL."""
        app = components.load(name).create_app(self.settings(name, **overrides))
        self._servers.enter_context(ThreadServer(app, self.ports[name]))
        self.apps[name] = app
        return self.url(name)

    def token(self, permissions: list[str] | tuple[str, ...] = ("*",), **claims: Any) -> str:
        return self.key.token(permissions, **claims)

    def bearer(self, permissions: list[str] | tuple[str, ...] = ("*",), **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(permissions, **claims)}"}

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self._servers.close()
