"""A fake WhatsApp Graph API on loopback: captures every message the bot sends, checks nothing
itself (tests check the limits), and can answer the next sends with errors (429, 5xx, 131047)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.web.server import InLoopServer

VERSION = "v21.0"


class FakeGraphAPI:
    def __init__(self, token: str = "EAAG-test-token") -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.arrived = 0  # requests received, including those still held by `delay_next`
        self.late = 0  # requests held by `delay_next` and then taken as sent
        self._failures: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._delays: list[float] = []
        self.by_recipient: dict[str, list[float]] = {}
        self._recipient_events: dict[str, asyncio.Event] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server: InLoopServer | None = None
        self.port = 0

    async def __aenter__(self) -> FakeGraphAPI:
        app = Starlette(
            routes=[Route(f"/{VERSION}/{{phone_id}}/messages", self._messages, methods=["POST"])]
        )
        self._server = InLoopServer(app)
        self.port = await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def fail_next(
        self,
        status: int,
        code: int | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        error = {
            "error": {
                "message": "fake error",
                "type": "OAuthException",
                "code": code or status,
                "fbtrace_id": "x",
            }
        }
        self._failures.extend([(status, error, headers or {})] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        self._delays.extend([seconds] * times)

    async def wait_recipient(self, recipient: str, count: int, timeout: float = 30.0) -> float:
        """Until `recipient` has been sent `count` messages; returns when the last of them arrived."""

        async def wait() -> float:
            while len(self.by_recipient.get(recipient, [])) < count:
                event = self._recipient_events.setdefault(recipient, asyncio.Event())
                event.clear()
                if len(self.by_recipient.get(recipient, [])) >= count:
                    break
                await event.wait()
            return self.by_recipient[recipient][count - 1]

        return await asyncio.wait_for(wait(), timeout)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        try:
            await self._until(lambda: len(self.sent) >= count, timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} messages, got {len(self.sent)}: {[m.get('type') for m in self.sent]}"
            ) from None
        return self.sent

    async def wait_rejected(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Until `count` sends have been refused (a `fail_next` consumed)."""
        await self._until(lambda: len(self.rejected) >= count, timeout)
        return self.rejected

    async def wait_arrived(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` requests have arrived (answered or still held)."""
        await self._until(lambda: self.arrived >= count, timeout)

    async def wait_late(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` requests held by `delay_next` have been taken as sent."""
        await self._until(lambda: self.late >= count, timeout)

    async def _until(self, done: Callable[[], bool], timeout: float) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(done)

        await asyncio.wait_for(wait(), timeout)

    async def _messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.headers.append(dict(request.headers))
        async with self._changed:
            self.arrived += 1
            self._changed.notify_all()
        if self._delays:
            # A slow API: the message is delivered, but the answer comes after the client gave up.
            await asyncio.sleep(self._delays.pop(0))
            async with self._changed:
                self.sent.append(body)
                self.late += 1
                recipient = str(body.get("to"))
                self.by_recipient.setdefault(recipient, []).append(time.monotonic())
                self._recipient_events.setdefault(recipient, asyncio.Event()).set()
                self._changed.notify_all()
            return JSONResponse({"messages": [{"id": "wamid.late"}]})
        async with self._changed:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse(
                    {"error": {"code": 190, "message": "bad token"}}, status_code=401
                )
            if self._failures:
                status, error, headers = self._failures.pop(0)
                self.rejected.append(body)
                self._changed.notify_all()
                return JSONResponse(error, status_code=status, headers=headers)
            self.sent.append(body)
            recipient = str(body.get("to"))
            self.by_recipient.setdefault(recipient, []).append(time.monotonic())
            self._recipient_events.setdefault(recipient, asyncio.Event()).set()
            self._changed.notify_all()
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.out{next(self._ids)}"}],
            }
        )


def signed_delivery(
    secret: str,
    text: str,
    sender: str,
    message_id: str,
    phone_id: str = "1098765",
    name: str = "Test User",
) -> tuple[bytes, dict[str, str]]:
    """A Cloud API delivery of one text message, as WhatsApp posts it: the raw body and the
    headers, signed with the app secret (X-Hub-Signature-256)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_id},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": message_id,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
