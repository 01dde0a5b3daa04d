"""A load generator and a fake Graph API that cost as little CPU as Python allows, for measuring
how workers scale on a machine with few cores (bench_workers.py).

Hand-written on purpose, on asyncio's raw transports: the test fakes (Starlette, httpx) spend
about a millisecond of CPU per request, which on two cores is CPU the workers under measurement
no longer have. Here one request costs tens of microseconds: requests are built and signed before
the clock starts, and the fake Graph API answers every send with the same bytes. Neither is a
general HTTP implementation: keep-alive HTTP/1.1 with Content-Length bodies only, which is what
Orienta's client (httpx) and server (uvicorn) speak.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Sequence

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_RECIPIENT = re.compile(rb'"to"\s*:\s*"([^"]*)"')
_SENT = (
    b'{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],'
    b'"messages":[{"id":"wamid.lean"}]}'
)
_REPLY = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_SENT)).encode()
    + b"\r\n\r\n"
    + _SENT
)


class LeanGraph:
    """Answers every POST with a sent message's id and counts the sends per recipient (an answer
    can be several messages: its text, then its buttons)."""

    def __init__(self) -> None:
        self.by_recipient: Counter[bytes] = Counter()
        self.sent = 0
        self.last_at = 0.0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def __aenter__(self) -> LeanGraph:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _GraphProtocol(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0"

    def _record(self, body: bytes) -> None:
        found = _RECIPIENT.search(body)
        self.by_recipient[found.group(1) if found else b""] += 1
        self.sent += 1
        self.last_at = time.perf_counter()
        if self._waiters:
            still = []
            for count, future in self._waiters:
                if len(self.by_recipient) >= count and not future.done():
                    future.set_result(None)
                elif not future.done():
                    still.append((count, future))
            self._waiters = still

    async def wait_recipients(self, count: int, timeout: float) -> None:
        """Until `count` recipients have been sent something."""
        if len(self.by_recipient) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{len(self.by_recipient)} of {count} recipients answered ({self.sent} sends)"
            ) from None


class _GraphProtocol(asyncio.Protocol):
    def __init__(self, graph: LeanGraph) -> None:
        self.graph = graph
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            found = _LENGTH.search(self.buffer, 0, end)
            length = int(found.group(1)) if found else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.graph._record(body)
            assert self.transport is not None
            self.transport.write(_REPLY)


def request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 keep-alive POST, as bytes ready to write."""
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def post_all(
    port: int, requests: Sequence[bytes], connections: int
) -> tuple[Counter[int], float]:
    """Posts `requests` in order over `connections` keep-alive connections to one server, each
    connection one request at a time (as WhatsApp's webhook delivery does); returns the status
    codes and the seconds it took."""
    queue = iter(requests)
    statuses: Counter[int] = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for raw in queue:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                statuses[int(head[9:12])] += 1
                found = _LENGTH.search(head)
                if found and (length := int(found.group(1))):
                    await reader.readexactly(length)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses, time.perf_counter() - started
