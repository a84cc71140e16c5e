"""Every component's Swagger UI (`<prefix>/docs`) comes wholly from the component itself: no
CDN (hospital networks block them), no inline script (the page's CSP allows scripts only from
'self'), and its files answer with the right content types (nosniff is on everywhere)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.security import CONSOLE_CSP
from shared import components
from shared.api_docs import DOCS_CSP, Document, docs_page, is_docs_path
from tests.security.conftest import ISOLATED, LOCAL

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _client(name: str, var_dir: Path) -> TestClient:
    module = components.load(name)
    extra = {} if name == "registry" else {**ISOLATED, "service_urls": {}}
    settings = module.settings_class(**{"log_to_file": False, **extra, "var_dir": var_dir})
    # No lifespan: the docs need no database, and the page must not depend on one.
    return TestClient(module.create_app(settings), raise_server_exceptions=False, client=LOCAL)


def _references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.parametrize("name", components.available())
def test_docs_page_and_its_files_come_from_the_component(name: str, tmp_path: Path) -> None:
    client = _client(name, tmp_path)
    docs_url = client.app.openapi_url.removesuffix("openapi.json") + "docs"
    answer = client.get(docs_url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    # Not an address of another host anywhere on the page (FastAPI's own page names a CDN).
    assert not re.search(r"https?://", page), page
    assert answer.headers["content-security-policy"] == DOCS_CSP
    # The only script without a file is the JSON settings block, which a browser does not run.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' type="application/json" id="hamp-docs-config"'], inline
    config = json.loads(re.search(r'id="hamp-docs-config">(.*?)</script>', page, re.S).group(1))
    assert [d["url"] for d in config["documents"]] == [client.app.openapi_url]

    references = _references(page)
    assert {Path(r).name for r in references} == {
        "favicon.png",
        "swagger-ui.css",
        "hamp-docs.css",
        "swagger-ui-bundle.js",
        "hamp-docs.js",
    }
    for reference in references:
        assert reference.startswith(docs_url + "-assets/"), reference
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[Path(reference).suffix]), reference
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 100, reference
    assert "SwaggerUIBundle" in client.get(docs_url + "-assets/swagger-ui-bundle.js").text

    # Only the named files: nothing else of the package or of the source tree can be fetched.
    for other in ("redoc.standalone.js", "..%2F..%2Fapi_docs.py", "__init__.py"):
        assert client.get(f"{docs_url}-assets/{other}").status_code == 404, other
    # The pages are no API: they stay out of the OpenAPI document the route checks are read from.
    assert not [p for p in client.get(client.app.openapi_url).json()["paths"] if "docs" in p]


def test_docs_policy_is_the_consoles() -> None:
    # One policy for everything the browser renders from the gateway; if the console's changes,
    # the docs page's must be looked at too.
    assert DOCS_CSP == CONSOLE_CSP


def test_document_names_cannot_break_out_of_the_settings_block() -> None:
    page = docs_page("<b>t</b>", [Document("/x/openapi.json", "</script><script>alert(1)</script>")], "/x").body
    assert b"</script><script>alert" not in page
    assert b"<b>t</b>" not in page


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("openapi.json", True),
        ("docs", True),
        ("docs-assets/swagger-ui.css", True),
        ("docs/x", False),
        ("departments", False),
        ("docsy", False),
    ],
)
def test_which_proxied_paths_are_public_documentation(path: str, public: bool) -> None:
    assert is_docs_path(path) is public
