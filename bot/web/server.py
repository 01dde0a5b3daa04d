"""uvicorn inside the running event loop, so one process serves the bot, the webhooks and the
admin page, and signal handling stays with `orienta run` (and with the tests' fakes)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open
HEADER_TIMEOUT = 10.0  # seconds a connection has to send a request's headers
MAX_CONNECTIONS = 256  # open inbound connections; past it, the one idle longest is closed
# uvicorn's own limit answers 503 to every new request past it, which would lock real clients out
# behind idle ones: eviction (above) is the working limit, this only a backstop for connections
# that are all busy at once.
LIMIT_CONCURRENCY = 2 * MAX_CONNECTIONS


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, guarded against connections that only tie up a file
    descriptor: a request's headers must arrive within HEADER_TIMEOUT of the connection opening
    (or of the previous response), and past MAX_CONNECTIONS open connections the one idle
    longest is closed. Idle or slow sockets can then neither starve new requests nor leave the
    process without descriptors for its own calls to Telegram and the Graph API.

    uvicorn has a keep-alive timeout, but none for a connection that never sends a request.
    """

    _idle_since = 0.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        if len(self.connections) > MAX_CONNECTIONS:
            self._evict()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._busy():
            self._stop_header_timer()  # the headers arrived: the request is being served

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_headers()

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _await_headers(self) -> None:
        self._stop_header_timer()
        self._idle_since = self.loop.time()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._close)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _close(self) -> None:
        if not self._busy() and not self.transport.is_closing():
            self.transport.close()

    def _evict(self) -> None:
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and not c._busy()
        ]
        excess = max(len(self.connections) - MAX_CONNECTIONS, 1)
        for connection in sorted(idle, key=lambda c: c._idle_since)[:excess]:
            connection._close()


class InLoopServer:
    """uvicorn inside the running event loop, guarded against idle and slow connections
    (`GuardedH11Protocol`); `start()` returns the bound port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=GuardedH11Protocol,
            timeout_keep_alive=KEEP_ALIVE,
            limit_concurrency=LIMIT_CONCURRENCY,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self.task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> int:
        """Serve; returns the bound port (useful with port 0). Raises the bind error, if any."""
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # uvicorn offers no start-up event to await
            if self.task.done():
                self.task.result()
                raise RuntimeError("web server stopped at start-up")
            await asyncio.sleep(0.005)
        self.port = int(self.server.servers[0].sockets[0].getsockname()[1])
        return self.port

    @property
    def stopping(self) -> bool:
        return bool(self.server.should_exit)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
