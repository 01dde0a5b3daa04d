"""The channel seam: a channel written from the README's guide alone runs inside `orienta run`
beside the built-in ones, through the same pipeline, without an edit to app.py or web/app.py."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bot.app import serve
from bot.channels import configured, registered
from bot.config import Settings
from tests.conftest import opening
from tests.fakes import webchat
from tests.fakes.started import Started

pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]


def test_the_registry_knows_the_built_in_channels_and_a_registered_one() -> None:
    names = [t.name for t in registered()]
    assert names[:2] == ["telegram", "whatsapp"] and "webchat" in names
    assert [t.name for t in configured(Settings())] == []
    assert [t.name for t in configured(Settings.from_env({"ORIENTA_WEBCHAT": "1"}))] == ["webchat"]
    on = Settings.from_env({"WHATSAPP_TOKEN": "t"})
    (whatsapp,) = configured(on)
    assert whatsapp.missing(on) == [
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    ]


async def test_a_channel_from_the_guide_answers_counts_and_stops(tmp_path: Path) -> None:
    settings = replace(
        Settings.from_env({"ORIENTA_WEBCHAT": "1"}),
        db_path=tmp_path / "usage.db",
        port=0,
        content_poll_seconds=0,
    )
    stop, started = asyncio.Event(), Started()
    task = asyncio.create_task(serve(settings, stop, started))
    await started.wait()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{started.port}") as web:
        first = (
            await web.post("/webchat/message", json={"session": "a", "text": "me pidieron mordida"})
        ).json()
        assert first["lang"] == "es"
        assert first["replies"][0]["text"].startswith(opening("es", "complaint.bribe"))
        guide = next(b for b in first["replies"][0]["buttons"] if "paso a paso" in b["label"])
        pressed = (
            await web.post("/webchat/message", json={"session": "a", "press": guide["payload"]})
        ).json()
        assert pressed["replies"][0]["text"] == "Antes de empezar, ¿estás en peligro ahora mismo?"
        refused = await web.post("/webchat/message", json={"text": "hola"})
        assert refused.status_code == 400
        assert (await web.post("/webchat/message", content=b"[1]")).status_code == 400
        # The shared flood guard: the 21st message in a minute gets one "slow down".
        for _ in range(19):
            await web.post("/webchat/message", json={"session": "b", "text": "hola"})
        answers = [
            (await web.post("/webchat/message", json={"session": "b", "text": "hola"})).json()
            for _ in range(3)
        ]
        assert answers[1]["replies"][0]["text"].startswith("Estás enviando muchos mensajes")
        assert answers[2]["replies"] == []
    stop.set()
    assert await task == 0
    with sqlite3.connect(settings.db_path) as db:
        counts = dict(
            db.execute(
                "SELECT event, SUM(count) FROM usage WHERE channel = 'webchat' GROUP BY event"
            ).fetchall()
        )
    assert counts["answered"] >= 1 and counts["rate_limited"] == 2


def test_every_channel_follows_the_protocol(tmp_path: Path) -> None:
    from bot.handlers.telegram import TelegramChannel
    from bot.handlers.whatsapp import WhatsAppChannel

    # (mypy checks the signatures where `orienta run` passes each as a Channel.)
    for cls in (TelegramChannel, WhatsAppChannel, webchat.WebChat):
        assert all(callable(getattr(cls, m, None)) for m in ("start", "stop", "routes")), cls
        assert isinstance(cls.name, str), cls


async def test_the_send_transport_asks_idle_connections_with_one_poll() -> None:
    """Both channels send through `bot.channels.http.transport`: its streams remember their
    socket, so httpcore's check of idle connections before each request is one poll(), not a
    dictionary of socket attributes with a getpeername() each time. If an httpx upgrade builds
    its pool differently, this fails and says so (the bot still works, only slower)."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.channels.http import RememberingBackend, RememberingStream, transport
    from bot.handlers.telegram_request import JSONRequest
    from bot.web.server import InLoopServer

    def remembers(made: object) -> bool:
        backend = getattr(getattr(made, "_pool", None), "_network_backend", None)
        return isinstance(backend, RememberingBackend)

    made = transport(httpx.Limits(max_connections=4))
    assert remembers(made), "httpx no longer builds its pool as bot.channels.http expects"
    assert remembers(JSONRequest(connection_pool_size=4)._client._transport)

    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    server = InLoopServer(Starlette(routes=[Route("/", ok)]))
    port = await server.start()
    try:
        async with httpx.AsyncClient(transport=made, base_url=f"http://127.0.0.1:{port}") as web:
            for _ in range(3):  # the second and third ask the idle connection first
                assert (await web.get("/")).text == "ok"
            (connection,) = made._pool.connections
            stream = connection._connection._network_stream  # type: ignore[union-attr]
            assert isinstance(stream, RememberingStream) and stream._socket is not None
            assert stream.get_extra_info("is_readable") is False  # open, nothing to read
    finally:
        await server.stop()
