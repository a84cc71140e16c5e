"""`?sort=` is honoured or refused with 422 naming `sort`, never silently ignored (shared/paging.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shared.db import Database, ReadSession
from shared.errors import install_error_handlers
from shared.middleware import RequestContextMiddleware
from shared.paging import PageParams, Paging, PlainPaging, fetch_page, sortable

fruit = Table("fruit", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20)))
# Made in this order: ids 1..4.
NAMES = ["pear", "apple", "fig", "banana"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Database(f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('paging')) / 'p.db'}")

    async def fill() -> None:
        async with db.transaction() as session:
            await session.run_sync(lambda s: fruit.create(s.connection()))
            await session.execute(insert(fruit), [{"name": n} for n in NAMES])

    asyncio.run(fill())
    app = FastAPI()
    app.state.db = db
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, component="paging-test")  # the language of the answer

    async def page_of(session: Any, paging: PageParams) -> dict[str, Any]:
        ids, total = await fetch_page(session, select(fruit), paging, fruit.c.id.desc())
        return {"names": [NAMES[i - 1] for i in ids], "total": total}

    @app.get("/sorted")
    async def sorted_list(
        session: ReadSession, paging: Annotated[PageParams, sortable(name=fruit.c.name, id=fruit.c.id)]
    ) -> Any:
        return await page_of(session, paging)

    @app.get("/fixed")
    async def fixed_list(session: ReadSession, paging: Paging) -> Any:
        return await page_of(session, paging)

    @app.get("/plain")
    async def plain_list(session: ReadSession, paging: PlainPaging) -> Any:
        return await page_of(session, paging)

    with TestClient(app) as test_client:
        yield test_client
    asyncio.run(db.dispose())


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["apple", "banana", "fig", "pear"]),
        ("-name", ["pear", "fig", "banana", "apple"]),
        ("id", ["pear", "apple", "fig", "banana"]),
        ("", ["banana", "fig", "apple", "pear"]),  # the list's own order
    ],
)
def test_a_declared_field_sorts_the_list(client: TestClient, sort: str, expected: list[str]) -> None:
    assert client.get("/sorted", params={"sort": sort}).json()["names"] == expected


def test_the_sort_applies_before_the_page_is_cut(client: TestClient) -> None:
    answer = client.get("/sorted", params={"sort": "-name", "size": 2, "page": 2}).json()
    assert answer == {"names": ["banana", "apple"], "total": 4}


@pytest.mark.parametrize("sort", ["colour", "-colour", "name,id", "metadata"])
def test_an_undeclared_field_is_refused_naming_sort_in_chinese(client: TestClient, sort: str) -> None:
    answer = client.get("/sorted", params={"sort": sort})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "bad_sort"
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [("sort", "不支持的排序字段")]
    assert problem["sortable"] == ["name", "id"]


@pytest.mark.parametrize("path", ["/fixed", "/plain"])
def test_a_list_that_declares_no_field_refuses_any_sort(client: TestClient, path: str) -> None:
    answer = client.get(path, params={"sort": "-id"})
    assert answer.status_code == 422
    assert [(e["field"], e["message"]) for e in answer.json()["errors"]] == [("sort", "此列表不支持排序")]
    english = client.get(path, params={"sort": "id"}, headers={"Accept-Language": "en"})
    assert english.json()["errors"][0]["message"] == "this list cannot be sorted"
    assert client.get(path, params={"sort": ""}).status_code == 200  # an empty one asks for nothing


def test_openapi_documents_sort_only_where_it_is_honoured(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    query = {p: {q["name"]: q for q in paths[p]["get"]["parameters"] if q["in"] == "query"} for p in paths}
    assert "name, id" in query["/sorted"]["sort"]["description"]
    assert "sort" not in query["/fixed"] and "sort" not in query["/plain"]
    assert "q" in query["/fixed"] and "q" not in query["/plain"]


def test_paging_dependencies_run_in_the_event_loop() -> None:
    # A plain function would be handed to a worker thread on every request (issue 10: +6% on a list read).
    dependencies = [Paging.__metadata__[0], PlainPaging.__metadata__[0], sortable(id=fruit.c.id)]
    assert all(asyncio.iscoroutinefunction(d.dependency) for d in dependencies)
