"""Which components exist and how to load one by name.

`shared` never imports a service statically (import-linter checks it); the CLI finds a
component's `main` module by name, the way a process manager would.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import HampSettings

# Start order: the registry first, the gateway last (it discovers the others on start).
ALL = ("registry", "dbs", "oms", "hms", "tms", "dms", "sms", "pms", "gateway")
SERVICES = ("oms", "hms", "tms", "dbs", "dms", "sms", "pms")
# Each component's settings class, by module path: the supervisor learns ports from these without
# importing the component itself (its routers, models and their libraries cost seconds per process).
# A new component adds its line here (tests/shared/test_supervisor.py checks each against main.py).
SETTINGS = {
    "registry": "registry.settings:RegistrySettings",
    "dbs": "dbs.settings:DbsSettings",
    "oms": "oms.settings:OmsSettings",
    "dms": "dms.settings:DmsSettings",
    "sms": "sms.settings:SmsSettings",
    "pms": "pms.settings:PmsSettings",
    "hms": "hms.settings:HmsSettings",
    "tms": "tms.settings:TmsSettings",
    "gateway": "gateway.settings:GatewaySettings",
}


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


def settings_class(name: str) -> type[HampSettings]:
    """The component's settings class, importing only its settings module."""
    if name not in ALL or not exists(name):
        raise SystemExit(f"unknown component {name!r}; this checkout has: {', '.join(available())}")
    if name not in SETTINGS:
        raise SystemExit(f"{name} has no entry in shared.components.SETTINGS")
    module, _, attribute = SETTINGS[name].partition(":")
    cls: type[HampSettings] = getattr(importlib.import_module(module), attribute)
    return cls
