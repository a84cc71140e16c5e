"""Every dependency of every route is a coroutine (or an async generator): FastAPI runs a plain
function in a worker thread, a thread hop on every request of that route (dms's booking paid one
for its Idempotency-Key and one for its master data, bench/registrations.py)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared import components
from tests.security.conftest import ISOLATED


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _sync_calls(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        call = sub.call
        function = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
        if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
            yield f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', repr(call))}"
        yield from _sync_calls(sub)


@pytest.mark.parametrize("name", components.available())
def test_no_route_waits_for_a_thread_to_solve_a_dependency(name: str, tmp_path: Path) -> None:
    module = components.load(name)
    extra = {} if name == "registry" else {**ISOLATED, "service_urls": {}}
    app = module.create_app(module.settings_class(**{"log_to_file": False, **extra, "var_dir": tmp_path}))
    sync = {
        f"{sorted(route.methods)[0]} {route.path}: {call}"
        for route in _routes(app.router.routes)
        for call in _sync_calls(route.dependant)
    }
    assert not sync, "\n".join(sorted(sync))
