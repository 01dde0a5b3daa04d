"""uvicorn inside the running event loop, so one process serves the bot, the webhooks and the
admin page, and signal handling stays with `orienta run` (and with the tests' fakes)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn


class InLoopServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
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
