"""Log lines shipped to a real Elasticsearch (.ci/elasticsearch.sh): the file's JSON, scrubbed the
same, with the request's id, component, level and user; never slowing a request while Elasticsearch
is down or hanging, dropped and counted then, and shipped again once it is back."""

from __future__ import annotations

import json
import logging
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from shared.app import create_app
from shared.auth import Principal
from shared.context import principal_var
from shared.settings import HampSettings
from tests.support.elasticsearch import ElasticsearchServer, elasticsearch_server, index_name  # noqa: F401 — the fixture
from tests.support.servers import free_port

ID_CARD = "11010519491231002X"
MOBILE = "13912345678"
PASSWORD = "Ship-secret-77"

log = logging.getLogger("hamp.shiptest")


class Settings(HampSettings):
    component = "shiptest"


router = APIRouter()


@router.get("/api/shiptest/work")
async def work(note: str = "") -> dict[str, str]:
    principal_var.set(Principal(user_id=7, username="zhang.wei", name="张伟", permissions=frozenset()))
    log.info("work %s", note)
    return {"ok": "yes"}


@router.get("/api/shiptest/register")
async def register() -> dict[str, str]:
    principal_var.set(Principal(user_id=7, username="zhang.wei", name="张伟", permissions=frozenset()))
    try:
        raise ValueError(f"no patient with card {ID_CARD}")
    except ValueError:
        log.warning(
            "registering %s, phone %s, login password=%s", ID_CARD, MOBILE, PASSWORD, extra={"password": PASSWORD}
        )
        log.error("lookup failed", exc_info=True)
    return {"ok": "yes"}


@pytest.fixture
def shipping_app(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """A component's app (create_app: its logging, /metrics) shipping to the settings given;
    the root logger's handlers are put back afterwards (the shipper's closed)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    clients: list[TestClient] = []

    def start(**settings: Any) -> TestClient:
        app = create_app(Settings(var_dir=tmp_path, log_to_stdout=False, **settings), title="t", routers=[router])
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    try:
        yield start
    finally:
        for client in clients:
            client.__exit__(None, None, None)
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def _hits(server: ElasticsearchServer, index: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    with server.client() as es:
        if not es.indices.exists(index=f"{index}-*"):
            return []
        es.indices.refresh(index=f"{index}-*")
        answer = es.search(index=f"{index}-*", query=query, size=100, sort=[{"ts": "asc"}])
    return [hit["_source"] for hit in answer["hits"]["hits"]]


def _wait_for(
    server: ElasticsearchServer, index: str, query: dict[str, Any], count: int, within: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        hits = _hits(server, index, query)
        if len(hits) >= count or time.monotonic() > deadline:
            return hits
        time.sleep(0.3)


def _dropped(client: TestClient, reason: str) -> float:
    text = client.get("/metrics").text
    found = re.search(rf'^hamp_log_records_dropped_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_request_s_lines_arrive_scrubbed_as_in_the_file_with_its_id_component_level_and_user(
    shipping_app: Callable[..., TestClient],
    elasticsearch_server: ElasticsearchServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    index = index_name()
    # As the user with the role docs/logging.md gives IT: it may put the template and write.
    client = shipping_app(**elasticsearch_server.platform_user().settings(index))
    answer = client.get("/api/shiptest/register")
    request_id = answer.headers["x-request-id"]

    shipped = _wait_for(elasticsearch_server, index, {"term": {"request_id": request_id}}, 2)
    assert [(h["level"], h["component"], h["user"]) for h in shipped] == [
        ("WARNING", "shiptest", "zhang.wei"),
        ("ERROR", "shiptest", "zhang.wei"),
    ]
    # The very lines of the file, scrubbed there and here alike.
    in_file = [json.loads(line) for line in (tmp_path / "logs" / "shiptest.log").read_text().splitlines()]
    assert shipped == [line for line in in_file if line.get("request_id") == request_id]
    text = json.dumps(shipped, ensure_ascii=False)
    for secret in (ID_CARD, MOBILE, PASSWORD):
        assert secret not in text
    assert "1101**********002X" in shipped[0]["message"] and "139****5678" in shipped[0]["message"]
    assert shipped[0]["password"] == "***" and "1101**********002X" in shipped[1]["exc"]
    with elasticsearch_server.client() as es:
        assert es.indices.exists_index_template(name=index)
    # Nor can Elasticsearch find them, in any field.
    for secret in (ID_CARD, MOBILE, PASSWORD):
        assert _hits(elasticsearch_server, index, {"query_string": {"query": f'"{secret}"'}}) == []

    # A stopping component sends what it still holds before it exits: its last line is there at once.
    client.__exit__(None, None, None)
    assert _hits(elasticsearch_server, index, {"match_phrase": {"message": "shiptest stopped"}})


class Gate:
    """A TCP relay to Elasticsearch on a fixed loopback port: `down()` refuses connections (and cuts
    the open ones) as a stopped server would, `hang()` accepts and never answers, `up()` relays again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.mode = "down"
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def up(self) -> None:
        self._set("up")

    def hang(self) -> None:
        self._set("hang")

    def down(self) -> None:
        self._set("down")

    def _set(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            for conn in self.open:
                conn.close()
            self.open.clear()
            if mode == "down" and self.listener is not None:
                # shutdown wakes the thread blocked in accept(), which close() alone would not.
                self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                self.listener = None
            if mode != "down" and self.listener is None:
                self.listener = socket.create_server(("127.0.0.1", self.port))
                threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.open.append(conn)
                if self.mode != "up":
                    continue
                try:
                    upstream = socket.create_connection(self.upstream)
                except OSError:
                    conn.close()
                    continue
                self.open.append(upstream)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.down()


@pytest.fixture
def gate(elasticsearch_server: ElasticsearchServer) -> Iterator[Gate]:  # noqa: F811
    """Closed after the app (asked for before it): the app's last lines ship at its stop."""
    host, _, port = elasticsearch_server.url.removeprefix("http://").rpartition(":")
    relay = Gate((host, int(port)))
    relay.up()
    yield relay
    relay.close()


def _median_request(client: TestClient, count: int, note: str) -> float:
    times = []
    for i in range(count):
        started = time.perf_counter()
        assert client.get("/api/shiptest/work", params={"note": f"{note}-{i}"}).status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_with_elasticsearch_down_or_hung_requests_stay_fast_lines_are_dropped_and_counted_then_shipping_resumes(
    gate: Gate,
    shipping_app: Callable[..., TestClient],
    elasticsearch_server: ElasticsearchServer,  # noqa: F811
) -> None:
    index = index_name()
    settings = {
        **elasticsearch_server.platform_user().settings(index),
        "log_elasticsearch_url": f"http://127.0.0.1:{gate.port}",
    }
    client = shipping_app(**settings, log_elasticsearch_queue_size=50)
    with_es = _median_request(client, 40, "up")
    assert len(_wait_for(elasticsearch_server, index, {"match": {"message": "up"}}, 40)) == 40

    gate.down()
    before = _dropped(client, "queue_full")
    while_down = _median_request(client, 40, "down")
    gate.hang()
    while_hung = _median_request(client, 40, "hung")
    print(
        f"median request: {with_es * 1000:.1f} ms with Elasticsearch, {while_down * 1000:.1f} ms while down, "
        f"{while_hung * 1000:.1f} ms while hung"
    )
    for slower in (while_down, while_hung):
        assert slower < max(2 * with_es, with_es + 0.01)
    # 80 lines against a queue of 50 and the few in hand: the rest were dropped, and counted;
    # the oldest waited in the queue.
    assert _dropped(client, "queue_full") - before >= 20

    gate.up()
    # What waited in the queue arrives first; a new line follows it.
    assert _wait_for(elasticsearch_server, index, {"match": {"message": "down"}}, 1, within=30)
    client.get("/api/shiptest/work", params={"note": "after"})
    arrived = _wait_for(elasticsearch_server, index, {"match_phrase": {"message": "work after"}}, 1, within=30)
    assert [line["user"] for line in arrived] == ["zhang.wei"]
