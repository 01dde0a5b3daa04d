"""A fake Telegram Bot API server on loopback, for tests and benchmarks.

Binds port 0, records every call with its parameters, serves queued updates to getUpdates, and
can answer the next calls of a method with errors (e.g. 429 Too Many Requests).

    async with FakeBotAPI() as api:
        settings = replace(settings, telegram_api_base_url=api.base_url)
        api.queue(api.text_update("hola"))
        call = await api.wait_for("sendMessage")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings
from bot.web.server import InLoopServer

JSON_FIELDS = {
    "reply_markup",
    "commands",
    "allowed_updates",
    "scope",
    "link_preview_options",
    "entities",
    "reply_parameters",
}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout"}
FLOAT_FIELDS = {"latitude", "longitude"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI:
    def __init__(
        self, token: str = "123456:TEST-token", bot_username: str = "orienta_test_bot"
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._delays: dict[str, list[float]] = {}
        self._changed = asyncio.Condition()
        self.replies_by_chat: dict[int, list[float]] = {}
        self.last_reply: dict[int, dict[str, Any]] = {}
        self._chat_events: dict[int, asyncio.Event] = {}
        self._server: InLoopServer | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeBotAPI:
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])]
        )
        self._server = InLoopServer(app)
        self.port = await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        async with self._changed:
            self._changed.notify_all()
        await self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def settings(self, db_path: Path, **overrides: Any) -> Settings:
        """Settings for a bot talking to this fake: no rate limit, no content polling."""
        base = Settings(
            db_path=db_path,
            telegram_token=self.token,
            telegram_api_base_url=self.base_url,
            telegram_rate_limit=0,
            content_poll_seconds=0,
        )
        return replace(base, **overrides)

    # ------------------------------------------------------------------ test controls

    def queue(self, *updates: dict[str, Any]) -> None:
        self._updates.extend(updates)
        asyncio.get_running_loop().create_task(self._notify())

    def fail_next(
        self,
        method: str,
        times: int = 1,
        code: int = 429,
        retry_after: int = 1,
        description: str = "",
    ) -> None:
        error: dict[str, Any] = {
            "ok": False,
            "error_code": code,
            "description": description or f"Error {code}",
        }
        if code == 429:
            error["description"] = description or f"Too Many Requests: retry after {retry_after}"
            error["parameters"] = {"retry_after": retry_after}
        self._failures.setdefault(method, []).extend([error] * times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next successful calls of `method` late (past the client's timeout): the
        call still takes effect, as on the real API when only the answer is lost."""
        self._delays.setdefault(method, []).extend([seconds] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            c.params.get("text", "")
            for c in self.calls
            if c.method in ("sendMessage", "editMessageText")
            and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until `count` calls to `method` (matching `where`) have been recorded."""

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

        async def wait() -> list[Call]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(matching()) >= count)
            return matching()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [(c.method, c.params.get("text", "")[:60]) for c in self.calls[-15:]]
            raise AssertionError(
                f"expected {count} x {method}; got {len(matching())}. Last calls: {seen}"
            ) from None

    async def wait_chat(self, chat_id: int, count: int, timeout: float = 30.0) -> float:
        """Until `chat_id` has had `count` sendMessage replies; returns the time of that reply."""

        async def wait() -> float:
            while len(self.replies_by_chat.get(chat_id, [])) < count:
                event = self._chat_events.setdefault(chat_id, asyncio.Event())
                event.clear()
                if len(self.replies_by_chat.get(chat_id, [])) >= count:
                    break
                await event.wait()
            return self.replies_by_chat[chat_id][count - 1]

        return await asyncio.wait_for(wait(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ update builders

    def _user(self, user_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language:
            user["language_code"] = language
        return user

    def message_update(
        self,
        chat_id: int = 555,
        language: str | None = "es",
        chat_type: str = "private",
        **message: Any,
    ) -> dict[str, Any]:
        body = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": chat_id,
                "type": chat_type,
                **({"title": "Group"} if chat_type != "private" else {}),
            },
            "from": self._user(abs(chat_id) if chat_type == "private" else 777, language),
            **message,
        }
        return {"update_id": next(self._update_ids), "message": body}

    def text_update(
        self, text: str, chat_id: int = 555, language: str | None = "es", chat_type: str = "private"
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?", text)
        if command:  # as Telegram marks it: "/help" in "/help?"
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self.message_update(chat_id, language, chat_type, **extra)

    def press_update(
        self, data: str, chat_id: int = 555, language: str | None = "es", message_id: int = 1
    ) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {
                "id": 1,
                "is_bot": True,
                "first_name": "Orienta",
                "username": self.bot_username,
            },
            "text": "menu",
        }
        query = {
            "id": f"cb{next(self._update_ids)}",
            "from": self._user(chat_id, language),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}

    def location_update(
        self, lat: float, lon: float, chat_id: int = 555, language: str | None = "es"
    ) -> dict[str, Any]:
        return self.message_update(chat_id, language, location={"latitude": lat, "longitude": lon})

    def sticker_update(self, chat_id: int = 555, language: str | None = "es") -> dict[str, Any]:
        sticker = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message_update(chat_id, language, sticker=sticker)

    def photo_update(self, chat_id: int = 555, language: str | None = "es") -> dict[str, Any]:
        return self.message_update(
            chat_id,
            language,
            photo=[{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}],
        )

    # ------------------------------------------------------------------ the API

    async def _handle(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        method = request.path_params["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        if method == "sendMessage" and isinstance(params.get("chat_id"), int):
            chat = params["chat_id"]
            self.replies_by_chat.setdefault(chat, []).append(time.monotonic())
            self.last_reply[chat] = params
            self._chat_events.setdefault(chat, asyncio.Event()).set()
        await self._notify()
        failures = self._failures.get(method)
        if failures:  # queued failures come first; delays apply to the calls that succeed
            error = failures.pop(0)
            return JSONResponse(error, status_code=error["error_code"])
        delays = self._delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        if method == "getUpdates":
            return JSONResponse({"ok": True, "result": await self._get_updates(params)})
        return JSONResponse({"ok": True, "result": self._result(method, params)})

    async def _params(self, request: Request) -> dict[str, Any]:
        body = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(body or "{}"))
        params: dict[str, Any] = {
            k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()
        }
        for key, value in list(params.items()):
            if key in JSON_FIELDS:
                params[key] = json.loads(value)
            elif key in INT_FIELDS:
                params[key] = int(value)
            elif key in FLOAT_FIELDS:
                params[key] = float(value)
        return params

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            timeout = min(float(params.get("timeout") or 0), 2.0)
            try:
                async with self._changed:
                    await asyncio.wait_for(
                        self._changed.wait_for(
                            lambda: (
                                bool(self._updates) or self._server is None or self._server.stopping
                            )
                        ),
                        timeout,
                    )
            except TimeoutError:
                pass
        return list(self._updates[: int(params.get("limit") or 100)])

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": 1,
                "is_bot": True,
                "first_name": "Orienta",
                "username": self.bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in ("sendMessage", "editMessageText", "sendVenue", "sendLocation"):
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id") or 0), "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "Orienta"},
            }
            if "text" in params:
                message["text"] = params["text"]
            if method == "sendVenue":
                message["venue"] = {
                    "location": {"latitude": params["latitude"], "longitude": params["longitude"]},
                    "title": params["title"],
                    "address": params["address"],
                }
            return message
        return True  # setMyCommands, deleteWebhook, setWebhook, answerCallbackQuery, ...
