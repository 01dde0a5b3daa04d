"""Waits for `bot.app.serve` to be up, and keeps what it hands over (runtime, web port)."""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime


class Started:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.runtime: Runtime | None = None
        self.port: int | None = None

    def __call__(self, runtime: Runtime, port: int | None) -> None:
        self.runtime, self.port = runtime, port
        self._event.set()

    async def wait(self, timeout: float = 20.0) -> None:
        await asyncio.wait_for(self._event.wait(), timeout)
