"""Serve an ASGI app on 127.0.0.1, port 0, inside the running event loop (for fakes)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn


class LoopbackServer:
    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # the bind error
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
