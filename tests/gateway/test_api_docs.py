"""The gateway's `/api/docs` (one Swagger UI over its own API and every running module's) and
`/api/<svc>/docs` reached through the gateway, on the whole platform (tests/conftest.py).
A browser opening them sends no token, so they, their files and the OpenAPI documents are
public; everything else behind the proxy still is not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest

from gateway.system.modules import MODULES
from shared.api_docs import DOCS_CSP
from tests.conftest import Platform
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.support.servers import require


def _config(page: str) -> dict:
    return json.loads(re.search(r'id="hamp-docs-config">(.*?)</script>', page, re.S).group(1))


def test_merged_docs_offer_the_gateway_and_each_running_module(platform: Platform) -> None:
    answer = httpx2.get(f"{platform.gateway_url}/api/docs")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-security-policy"] == DOCS_CSP
    assert not re.search(r"https?://", answer.text)
    assert "<title>HAMP 接口文档 (API docs)</title>" in answer.text
    documents = _config(answer.text)["documents"]
    urls = [d["url"] for d in documents]
    running = [name for name in MODULES if name in platform.components]
    assert urls == ["/api/gateway/openapi.json", *(f"/api/{name}/openapi.json" for name in running)]
    assert "/api/tms/openapi.json" in urls
    assert all(re.search(r"[\u4e00-\u9fff]", d["name"]) for d in documents), documents
    for url in urls:
        document = httpx2.get(platform.gateway_url + url)
        assert document.status_code == 200, url
        assert document.json()["paths"], url
    for reference in re.findall(r'(?:src|href)="([^"]+)"', answer.text):
        assert httpx2.get(platform.gateway_url + reference).status_code == 200, reference


def test_a_modules_docs_through_the_gateway_need_no_token(platform: Platform) -> None:
    page = httpx2.get(f"{platform.gateway_url}/api/dbs/docs")
    assert page.status_code == 200, page.text
    # The service's own page, with the service's own policy passed on by the proxy.
    assert page.headers["content-security-policy"] == DOCS_CSP
    assert _config(page.text)["documents"][0]["url"] == "/api/dbs/openapi.json"
    for reference in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert reference.startswith("/api/dbs/docs-assets/")
        assert httpx2.get(platform.gateway_url + reference).status_code == 200, reference
    # Only the documentation is public: the module's data still needs a login.
    assert httpx2.get(f"{platform.gateway_url}/api/dbs/departments").status_code == 401
    assert httpx2.get(f"{platform.gateway_url}/api/dbs/docs-assetsx/a").status_code == 401


@pytest.mark.browser
def test_merged_docs_render_in_chromium_under_their_csp(platform: Platform) -> None:
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    outside: list[str] = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = chromium.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            # A CSP refusal is reported on the console as an error.
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: None if r.url.startswith(platform.gateway_url) else outside.append(r.url))
            page.goto(f"{platform.gateway_url}/api/docs")
            # The gateway's own document first: its login operation is shown.
            page.locator(".opblock-summary-path", has_text="/api/auth/login").first.wait_for()
            page.select_option("#hamp-docs-select", "/api/dbs/openapi.json")
            page.locator(".opblock-summary-path", has_text="/api/dbs/departments").first.wait_for()
            assert "doc=%2Fapi%2Fdbs%2Fopenapi.json" in page.url
        finally:
            chromium.close()
    assert not problems, problems
    assert not outside, outside
