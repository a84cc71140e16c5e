"""Debian's Chromium for the console tests, driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


# What must never be read on a Chinese screen (docs/console.md, "No codes on screen").
RAW_CODES = {
    "a code with underscores": re.compile(r"\b[a-z]+_[a-z_]+\b"),
    "a field path": re.compile(r"\b[a-z_]+\.\d+\.[a-z_]+\b"),
    "a row id": re.compile(r"#\d+"),
    "a permission string": re.compile(r"\b[a-z]+:[a-z_]+:(read|write|approve)\b|\b[a-z]+:\*"),
    "a service account": re.compile(r"\bservice:[a-z]+\b"),
}


def assert_no_codes(page: Any, where: str, scope: Any | None = None) -> str:
    """Once nothing is loading, the text of the page (or of `scope`) shows none of RAW_CODES;
    answers that text."""
    from playwright.sync_api import expect

    expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
    text = (scope or page.locator("#app")).inner_text()
    found = {name: sorted(set(m.group(0) for m in rx.finditer(text))) for name, rx in RAW_CODES.items()}
    found = {k: v for k, v in found.items() if v}
    assert not found, f"{where} shows codes: {found}\n---\n{text}"
    return text


def assert_no_raw_words(raw: re.Pattern[str], page: Any, where: str) -> None:
    """The page's text holds none of what `raw` matches: a module's own state codes and field
    paths, which RAW_CODES cannot know."""
    text = page.locator("body").inner_text()
    found = raw.search(text)
    assert found is None, f"{where}: raw code {found.group(0)!r} on screen"
