"""The ASGI app served by `orienta run`: `/healthz`, the routes of every channel (webhooks) and,
when configured, the admin page. One server, one port (ORIENTA_HOST:ORIENTA_PORT)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import Channel
from bot.config import Settings
from bot.runtime import Runtime


async def healthz(request: Request) -> Response:
    """`ok`, without login: for load balancers and service managers."""
    return PlainTextResponse("ok")


def database_health(runtime: Runtime) -> Route:
    async def health(request: Request) -> Response:
        """200 while usage counts are being written; 503 while they wait in memory."""
        store = runtime.stats
        if store.healthy:
            return PlainTextResponse(f"{store.describe} ok")
        return PlainTextResponse(
            f"{store.describe} unavailable: {store.pending} counts waiting in memory",
            status_code=503,
        )

    return Route("/healthz/db", health)


def build_app(settings: Settings, runtime: Runtime, channels: Sequence[Channel] = ()) -> Starlette:
    """The web app: health, each channel's routes, and the admin page if a token is set."""
    routes: list[BaseRoute] = [Route("/healthz", healthz), database_health(runtime)]
    for channel in channels:
        routes.extend(channel.routes())
    if settings.admin_token:
        from bot.web.admin import admin_routes

        routes.extend(admin_routes(settings, runtime))
    return Starlette(routes=routes)
