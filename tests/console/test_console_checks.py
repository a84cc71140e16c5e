"""The console's own checks, run by pytest so CI runs them: API types in step with the services'
OpenAPI, eslint, and the vitest unit tests (docs/console.md, "Checks")."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess

import pytest

from tests.support.servers import IN_CI, ROOT, require

CONSOLE = ROOT / "gateway" / "console"


def _export_script():
    spec = importlib.util.spec_from_file_location("export_openapi", CONSOLE / "scripts" / "export_openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("service", ["gateway", "dbs", "dms", "oms", "pms", "sms", "hms"])
def test_committed_openapi_is_the_services_own(service: str) -> None:
    script = _export_script()
    committed = (CONSOLE / "openapi" / f"{service}.json").read_text(encoding="utf-8")
    assert committed == script.document(service), (
        f"gateway/console/openapi/{service}.json is stale: run "
        "`.venv/bin/python gateway/console/scripts/export_openapi.py && (cd gateway/console && npm run api-types)`"
    )


@pytest.fixture(scope="module")
def node_modules() -> None:
    """`./hamp test` may take a cached console build without `npm ci`: under CI install it here."""
    require(shutil.which("npm") is not None, "npm is missing")
    if not (CONSOLE / "node_modules").is_dir() and IN_CI:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CONSOLE, check=True, timeout=900
        )
    require((CONSOLE / "node_modules").is_dir(), "the console's node_modules is missing (cd gateway/console && npm ci)")


@pytest.mark.parametrize("script", ["api-types:check", "lint", "test:unit"])
def test_console_check_passes(script: str, node_modules: None) -> None:
    done = subprocess.run(
        ["npm", "run", "--silent", script], cwd=CONSOLE, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"npm run {script} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
