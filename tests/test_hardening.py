"""`orienta run` under the attacks and faults of the hardening pass, as its own process: idle
connections with the common open-files limit, slow headers, and SIGTERM with a full queue."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from bot.web import server as web_server
from bot.web.server import InLoopServer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.graph_api import signed_delivery as graph_delivery
from tests.fakes.process import StderrLog, start_orienta, stop_orienta

pytestmark = pytest.mark.e2e  # real servers or processes: `make test`, not `make test-fast`

SECRET = "app-secret-for-hardening"
PHONE_ID = "1098765"
USER = "5215512345678"


def signed_delivery(text: str, message_id: str) -> tuple[bytes, dict[str, str]]:
    return graph_delivery(SECRET, text, USER, message_id, PHONE_ID)


async def test_idle_connections_past_the_open_files_limit_starve_nothing(tmp_path: Path) -> None:
    """1,100 idle sockets against a process allowed 1,024 open files: the health check and a
    signed webhook still answer within a second, and Telegram replies still go out."""
    async with FakeBotAPI() as api, FakeGraphAPI() as graph:
        process = await start_orienta(
            tmp_path / "usage.db",
            api,
            open_files=1024,
            ORIENTA_PORT="0",
            WHATSAPP_TOKEN=graph.token,
            WHATSAPP_PHONE_NUMBER_ID=PHONE_ID,
            WHATSAPP_APP_SECRET=SECRET,
            WHATSAPP_VERIFY_TOKEN="verify",
            WHATSAPP_API_BASE_URL=graph.base_url,
        )
        log = StderrLog(process)
        idle: list[asyncio.StreamWriter] = []
        try:
            port = int((await log.wait_for(r"web server on [\d.]+:(\d+)")).group(1))
            await api.wait_for("getUpdates", timeout=30)
            async with httpx.AsyncClient() as warm:  # a first request, before the attack
                assert (await warm.get(f"http://127.0.0.1:{port}/healthz")).text == "ok"
            for _ in range(1100):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                idle.append(writer)
            loop = asyncio.get_running_loop()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=1.0) as web:
                started = loop.time()
                health = await web.get("/healthz")
                assert health.status_code == 200 and health.text == "ok"
                body, headers = signed_delivery("como pido asilo", "wamid.idle1")
                hook = await web.post("/whatsapp/webhook", content=body, headers=headers)
                assert hook.status_code == 200
                assert loop.time() - started < 2  # each of the two within its 1 s timeout
            reply = graph.sent[0]  # acknowledged once answered
            assert reply["to"] == USER and reply["text"]["body"].startswith("Pedir asilo")
            api.queue(api.text_update("como pido asilo", chat_id=4242))
            (sent,) = await api.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == 4242)
            assert sent.params["text"].startswith("Pedir asilo")
        finally:
            for writer in idle:
                writer.close()
            code = await stop_orienta(process)
        stderr = await log.finished()
        assert code == 0, stderr
        assert "Too many open files" not in stderr


async def test_a_connection_that_never_finishes_its_headers_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(web_server, "HEADER_TIMEOUT", 0.3)

    async def ok(scope: dict[str, object], receive: object, send: object) -> None:
        raise AssertionError("no request should reach the app")

    server = InLoopServer(ok)
    port = await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
    finally:
        await server.stop()


async def test_sigterm_with_a_thousand_queued_updates(tmp_path: Path) -> None:
    """Telegram has handed over 1,000 updates (acknowledged) and the limiter sends 30 a second:
    SIGTERM stops fetching, answers until the drain deadline, exits well inside the service
    manager's stop timeout, keeps every count, and logs how many were left unanswered."""
    drain = 4.0  # (12 s in production; the mechanism is the same)
    async with FakeBotAPI() as api:
        db = tmp_path / "usage.db"
        updates = [api.text_update("como pido asilo", chat_id=20_000 + n) for n in range(1000)]
        last = updates[-1]["update_id"]
        process = await start_orienta(
            db, api, TELEGRAM_RATE_LIMIT="30", ORIENTA_DRAIN_SECONDS=str(drain)
        )
        log = StderrLog(process)
        loop = asyncio.get_running_loop()
        try:
            await api.wait_for("getUpdates", timeout=30)
            api.queue(*updates)
            # All fetched: the next poll acknowledges the last one.
            await api.wait_for(
                "getUpdates", where=lambda c: int(c.params.get("offset") or 0) > last, timeout=30
            )
            await api.wait_for("sendMessage", 10)
        finally:
            asked = loop.time()
            code = await stop_orienta(process, timeout=30)
        took = loop.time() - asked
        stderr = await log.finished()
        assert code == 0, stderr
        assert took < drain + 4 < 20, f"stopped in {took:.1f} s"
        answered = {c.params["chat_id"] for c in api.calls_to("sendMessage")}
    assert 10 <= len(answered) < 1000
    with sqlite3.connect(db) as con:
        counts = dict(con.execute("SELECT event, SUM(count) FROM usage GROUP BY event").fetchall())
    # Every reply sent was counted, and nothing was counted that was not sent.
    assert counts["message"] == counts["answered"] == len(answered)
    left = re.search(r"telegram: stopping with (\d+) fetched updates left unanswered", stderr)
    assert left, stderr
    assert int(left.group(1)) == 1000 - len(answered)
