"""Which components exist and how to load one by name.

`shared` never imports a service statically (import-linter checks it); the CLI finds a
component's `main` module by name, the way a process manager would.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

# Start order: the registry first, the gateway last (it discovers the others on start).
ALL = ("registry", "dbs", "oms", "hms", "tms", "dms", "sms", "pms", "gateway")
SERVICES = ("oms", "hms", "tms", "dbs", "dms", "sms", "pms")


def exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{name}.main") is not None
    except ModuleNotFoundError:
        return False


def available() -> list[str]:
    """The components this checkout has (services are added issue by issue)."""
    return [name for name in ALL if exists(name)]


def load(name: str) -> ModuleType:
    if name not in ALL or not exists(name):
        raise SystemExit(f"unknown component {name!r}; this checkout has: {', '.join(available())}")
    return importlib.import_module(f"{name}.main")
