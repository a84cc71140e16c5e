"""Calls between services: round robin, skipping dead instances, retrying only what is safe."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Request, Response

from shared.balancer import Balancer
from shared.context import request_id_var, token_var
from shared.errors import Unavailable
from shared.service_client import ForwardTimeouts, ServiceClient, UpstreamBroken
from tests.support.servers import ThreadServer, free_port


@dataclass(frozen=True)
class Instance:
    instance_id: str
    base_url: str


class StaticSource:
    def __init__(self, *instances: Instance) -> None:
        self.list = list(instances)

    def instances(self, app_name: str) -> list[Instance]:
        return self.list if app_name == "DBS" else []


def _upstream(name: str, calls: list[tuple[str, str]], fail_with: int | None = None) -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> Response:
        calls.append((name, request.method))
        if fail_with:
            return Response(status_code=fail_with)
        return Response(
            f"{name}|{request.headers.get('x-request-id')}|{request.headers.get('authorization')}",
            media_type="text/plain",
        )

    return app


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def two_live(calls: list) -> Iterator[tuple[ThreadServer, ThreadServer]]:
    with ThreadServer(_upstream("a", calls)) as a, ThreadServer(_upstream("b", calls)) as b:
        yield a, b


def _client(*instances: Instance) -> ServiceClient:
    return ServiceClient(Balancer(StaticSource(*instances), failures=3, open_seconds=30), timeout=5)


def _run(coro):
    return asyncio.run(coro)


def test_round_robin_over_live_instances(two_live: tuple[ThreadServer, ThreadServer]) -> None:
    a, b = two_live
    client = _client(Instance("a", a.url), Instance("b", b.url))

    async def three() -> list[str]:
        answers = [await client.request("dbs", "GET", "/echo") for _ in range(4)]
        await client.aclose()
        return [r.text.split("|")[0] for r in answers]

    assert sorted(_run(three())) == ["a", "a", "b", "b"]


def test_dead_instance_is_skipped_and_its_breaker_opens(two_live: tuple[ThreadServer, ThreadServer]) -> None:
    a, _ = two_live
    dead = Instance("dead", f"http://127.0.0.1:{free_port()}")
    client = _client(dead, Instance("a", a.url))

    async def calls() -> list[str]:
        answers = [await client.request("dbs", "POST", "/echo", json={}) for _ in range(3)]
        await client.aclose()
        return [r.text.split("|")[0] for r in answers]

    assert _run(calls()) == ["a", "a", "a"]  # even a POST: nothing was sent to the dead one
    assert client.balancer.is_open(dead)


def test_request_id_and_token_are_passed_on(two_live: tuple[ThreadServer, ThreadServer]) -> None:
    a, _ = two_live
    client = _client(Instance("a", a.url))

    async def call() -> str:
        request_id_var.set("req-123")
        token_var.set("tok-abc")
        answer = await client.request("dbs", "GET", "/echo")
        await client.aclose()
        return answer.text

    assert _run(call()) == "a|req-123|Bearer tok-abc"


def test_query_values_go_as_the_services_read_them() -> None:
    app = FastAPI()

    @app.get("/query")
    async def query(request: Request) -> Response:
        return Response(str(sorted(request.query_params.multi_items())), media_type="text/plain")

    with ThreadServer(app) as server:
        client = _client(Instance("a", server.url))

        async def call() -> tuple[str, int, bool]:
            answer = await client.request(
                "dbs", "GET", "/query", params={"enabled": True, "id": [3, 4], "q": None, "page": 2}
            )
            missing = await client.request("dbs", "GET", "/nowhere")
            await client.aclose()
            return answer.text, missing.status_code, missing.is_success

        text, status, success = _run(call())
    # Booleans as FastAPI reads them, a list as repeated keys, None left out.
    assert text == str([("enabled", "true"), ("id", "3"), ("id", "4"), ("page", "2")])
    assert (status, success) == (404, False)


def test_get_is_retried_on_5xx_but_post_is_not(calls: list) -> None:
    with ThreadServer(_upstream("bad", calls, fail_with=500)) as bad, ThreadServer(_upstream("good", calls)) as good:
        instances = (Instance("1-bad", bad.url), Instance("2-good", good.url))

        async def run(method: str) -> int:
            client = _client(*instances)
            answer = await client.request("dbs", method, "/echo")
            await client.aclose()
            return answer.status_code

        assert _run(run("GET")) == 200
        assert ("bad", "GET") in calls and ("good", "GET") in calls
        calls.clear()
        assert _run(run("POST")) == 500
        assert calls == [("bad", "POST")]


def test_no_instance_is_a_503_problem() -> None:
    async def call() -> None:
        await _client().request("dbs", "GET", "/echo")

    with pytest.raises(Unavailable) as caught:
        _run(call())
    assert caught.value.status == 503


TIMEOUTS = ForwardTimeouts(connect=3, read=5)


async def _body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_forward_streams_past_a_refused_connection_and_sends_the_headers_as_given(calls: list) -> None:
    """The gateway's proxy path: even a POST with a body moves on when the connection is refused
    (nothing was sent); the caller's headers go as they are, the answer comes back unread."""
    dead = Instance("1-dead", f"http://127.0.0.1:{free_port()}")
    with ThreadServer(_upstream("a", calls)) as a:
        client = _client(dead, Instance("2-a", a.url))

        async def forward() -> tuple[int, bytes]:
            headers = [("x-request-id", "rid-9"), ("authorization", "Bearer t")]
            answer = await client.forward("dbs", "POST", "/echo", headers, _body(b"{", b"}"), TIMEOUTS)
            assert answer is not None
            body = await answer.read()
            await client.aclose()
            return answer.status, body

        assert _run(forward()) == (200, b"a|rid-9|Bearer t")
    assert calls == [("a", "POST")]
    assert client.balancer.is_open(dead)


def test_forward_answers_none_when_no_instance_takes_the_connection() -> None:
    client = _client(Instance("dead", f"http://127.0.0.1:{free_port()}"))

    async def forward() -> object:
        answer = await client.forward("dbs", "GET", "/echo", [], None, TIMEOUTS)
        await client.aclose()
        return answer

    assert _run(forward()) is None


class Dropper:
    """An instance that dies with every request: it reads it and closes the connection unanswered,
    as a process killed between the gateway's pooled connection and its answer does."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(65536))

    def close(self) -> None:
        self._sock.close()


def test_forward_resends_a_get_when_an_instance_drops_it_but_never_a_post(calls: list) -> None:
    """oms-2 killed mid-flow (tests/deploy/test_production.py): the receipt's GET got a 502 because
    the gateway's connection to the dead instance closed before answering. A GET goes to the next
    instance; a POST may have been carried out, so it is not sent twice."""
    dropper = Dropper()

    async def forward(method: str, b: ThreadServer) -> tuple[int, bytes] | Exception:
        client = _client(Instance("1-dropper", dropper.url), Instance("2-b", b.url))
        try:
            answer = await client.forward(
                "dbs", method, "/echo", [], _body(b"{}") if method == "POST" else None, TIMEOUTS
            )
            assert answer is not None
            return answer.status, await answer.read()
        except UpstreamBroken as exc:
            return exc
        finally:
            assert client.balancer.is_open(Instance("1-dropper", dropper.url))
            await client.aclose()

    with ThreadServer(_upstream("b", calls)) as b:
        got = _run(forward("GET", b))
        refused = _run(forward("POST", b))
    dropper.close()
    assert got == (200, b"b|None|None")
    assert isinstance(refused, UpstreamBroken)
    assert calls == [("b", "GET")]
    # aiohttp itself tries a GET twice on one instance; the POST reached the dropper once.
    assert [r.split(b" ", 1)[0] for r in dropper.requests if r].count(b"POST") == 1
