"""Debian's Chromium for the console tests, driven by Playwright (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.servers import ROOT, require

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
CONSOLE_INDEX = ROOT / "gateway" / "console" / "dist" / "index.html"


@pytest.fixture(scope="module", autouse=True)
def browser_available() -> None:
    """Checked before the platform starts, so a skip costs nothing (and under CI it fails)."""
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(CONSOLE_INDEX.is_file(), "the console is not built (cd gateway/console && npm ci && npm run build)")
