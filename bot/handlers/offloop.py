"""Answering an event without blocking the event loop."""

from __future__ import annotations

import asyncio

from bot.engine.engine import Engine
from bot.engine.events import Event, Text
from bot.engine.replies import Response


async def handle(engine: Engine, event: Event) -> Response:
    """The engine's response to `event`.

    Free text may run a sentence embedding (tens of milliseconds of C code that releases the
    GIL), so it is answered in a worker thread and the loop keeps serving other chats. Buttons,
    commands and locations never call a model and are answered inline.
    """
    if isinstance(event, Text):
        return await asyncio.to_thread(engine.handle, event)
    return engine.handle(event)
