"""The gateway's routers, in matching order: its own API, then the proxy, then the console."""

from __future__ import annotations

from gateway import console_files
from gateway.auth.router import router as auth
from gateway.proxy.router import router as proxy

routers = [auth, proxy, console_files.router]
