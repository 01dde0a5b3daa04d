"""A web-widget channel written from the README's "Adding a channel" guide alone: a page's script
posts `{"session": "...", "text": "..."}` (or `"press": payload`) to `/webchat/message` and gets
the replies back in the response. Turned on by ORIENTA_WEBCHAT=1."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import ChannelType, register
from bot.channels.pipeline import Pipeline
from bot.channels.webhook import read_json
from bot.config import Settings
from bot.engine.events import Press, Text
from bot.engine.replies import PlacesReply, TextReply
from bot.memory import FloodGuard, Verdict
from bot.runtime import Runtime

log = logging.getLogger(__name__)


class WebChat:
    name = "webchat"

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        self.pipeline = Pipeline(
            self.name, lambda: runtime.engine, runtime.stats.record, FloodGuard()
        )
        self.answering = 0

    async def start(self) -> None:
        log.info("webchat: ready at /webchat/message")

    async def stop(self, deadline: float | None = None) -> None:
        log.info("webchat: stopping with %d messages left unanswered", self.answering)

    def routes(self) -> list[BaseRoute]:
        return [Route("/webchat/message", self.message, methods=["POST"])]

    async def message(self, request: Request) -> Response:
        data = await read_json(request, limit=16 * 1024)
        if isinstance(data, Response):
            return data
        chat = data.get("session")
        if not isinstance(chat, str) or not chat:
            return JSONResponse({"error": "session is required"}, status_code=400)
        verdict = self.pipeline.admit(chat)
        if verdict == Verdict.WARN:
            return JSONResponse(
                {"replies": [{"text": self.pipeline.slow_down(chat), "buttons": []}]}
            )
        if verdict != Verdict.OK:
            return JSONResponse({"replies": []})
        hint = self.pipeline.hint(chat, request.headers.get("accept-language", "")[:2] or None)
        if isinstance(data.get("press"), str):
            event: Text | Press = Press(data["press"])
        else:
            event = Text(str(data.get("text") or ""), hint)
        self.answering += 1
        try:
            response = await self.pipeline.answer(chat, event)
        finally:
            self.answering -= 1
        replies: list[dict[str, Any]] = []
        for reply in response.replies:
            buttons = reply.all_buttons if isinstance(reply, TextReply | PlacesReply) else ()
            replies.append(
                {
                    "text": reply.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in buttons],
                }
            )
        return JSONResponse({"lang": response.lang, "replies": replies})


CHANNEL_TYPE = register(
    ChannelType(
        "webchat",
        enabled=lambda settings: settings.env.get("ORIENTA_WEBCHAT") == "1",
        create=WebChat,
        needs_web=lambda settings: True,
    )
)
