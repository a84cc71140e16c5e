"""How the proxy hands a service's answer back: small ones whole, others streamed, headers as given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from gateway.proxy.router import WHOLE_UP_TO, _answer
from shared.context import request_id_var


class ServiceAnswer:
    """What shared.service_client.Forwarded offers the proxy."""

    def __init__(self, body: bytes, content_length: int | None) -> None:
        self.status = 200
        self.raw_headers = [
            (b"Content-Type", b"application/json"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
            (b"Connection", b"keep-alive"),
            (b"X-Request-ID", b"the-service's"),
        ]
        if content_length is not None:
            self.raw_headers.append((b"Content-Length", str(content_length).encode()))
        self.content_length = content_length
        self.body = body
        self.closed = False

    async def read(self) -> bytes:
        self.closed = True
        return self.body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.body

    def close(self) -> None:
        self.closed = True


def test_a_small_answer_is_sent_whole_with_the_service_headers() -> None:
    request_id_var.set("rid-ours")
    service = ServiceAnswer(b'{"items":[]}', 12)
    answer = asyncio.run(_answer(service))
    assert not isinstance(answer, StreamingResponse)
    assert answer.body == b'{"items":[]}'
    assert service.closed  # the connection goes back to the pool at once
    assert answer.raw_headers == [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"content-length", b"12"),
        (b"x-request-id", b"rid-ours"),
    ]


def test_a_large_or_unsized_answer_is_streamed() -> None:
    for length in (WHOLE_UP_TO + 1, None):
        service = ServiceAnswer(b"x" * 10, length)
        answer = asyncio.run(_answer(service))
        assert isinstance(answer, StreamingResponse)
        assert not service.closed  # read as the caller takes it
