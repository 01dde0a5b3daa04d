"""The ASGI app served by `orienta run`: health, the Telegram webhook, and (when configured) the
WhatsApp webhook and the admin page. One server, one port (ORIENTA_HOST:ORIENTA_PORT)."""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MB: no legitimate webhook delivery is larger


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The body, or None once it passes `limit` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def telegram_route(path: str, secret: str, feed) -> Route:  # type: ignore[no-untyped-def]
    async def webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than JSON allows
            return PlainTextResponse("bad json", status_code=400)
        if not isinstance(data, dict) or not await feed(data):
            return PlainTextResponse("bad update", status_code=400)
        return PlainTextResponse("ok")

    return Route(path, webhook, methods=["POST"])


def build_app(settings: Settings, runtime: Runtime, telegram=None, whatsapp=None) -> Starlette:  # type: ignore[no-untyped-def]
    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    if telegram is not None and settings.telegram_webhook_url:
        path = urlsplit(settings.telegram_webhook_url).path or "/telegram/webhook"
        routes.append(telegram_route(path, telegram.webhook_secret, telegram.feed))
    if whatsapp is not None:
        routes.extend(whatsapp.routes())
    if settings.admin_token:
        from bot.web.admin import admin_routes

        routes.extend(admin_routes(settings, runtime))
    return Starlette(routes=routes)
