"""The HTTP transport both channels send with: httpx, with one cost of its pool removed.

Before every request, and after every response, httpcore's connection pool asks each idle
connection whether the server closed it (`get_extra_info("is_readable")`). Over anyio, each of
those questions builds a fresh dictionary of the socket's attributes, with a `getpeername()`
system call, just to reach the socket. With a dozen connections open in a burst that was a fifth
of the bot's CPU (measured with py-spy under `benchmarks/bench_lexical.py`). Here each stream
remembers its socket, so the question is one `poll()`, as httpcore meant it to be.

Hand-written because neither httpx nor httpcore has a setting for it: httpx builds its pool with
httpcore's default network back end, and this wraps that back end, changing nothing else. If a
future httpx builds its pool differently, `transport()` leaves the pool as it is (and
`tests/test_channels.py` fails, to say so).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION as SocketOption
from httpcore._utils import is_socket_readable


class RememberingStream(httpcore.AsyncNetworkStream):
    """A network stream that looks its socket up once."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return RememberingStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            if self._socket is None:
                self._socket = self._stream.get_extra_info("socket")
            return is_socket_readable(self._socket)
        return self._stream.get_extra_info(info)


class RememberingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own back end, with streams that remember their socket."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return RememberingStream(
            await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return RememberingStream(
            await self._backend.connect_unix_socket(path, timeout, socket_options)
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def transport(limits: httpx.Limits, **kwargs: Any) -> httpx.AsyncHTTPTransport:
    """An `httpx.AsyncHTTPTransport` whose pool asks its idle connections cheaply."""
    made = httpx.AsyncHTTPTransport(limits=limits, **kwargs)
    pool = getattr(made, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = RememberingBackend(backend)
    return made
