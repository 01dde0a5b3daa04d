"""Faults the bot must ride out by itself: a full disk, an API answering 500s or timing out,
SIGTERM in the middle of a burst."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.app import serve
from bot.config import Settings
from bot.engine.replies import Usage, UsageKind
from bot.stats.store import UsageStore, read_rows, today_utc
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.process import start_orienta, stop_orienta
from tests.fakes.started import Started
from tests.test_whatsapp import WhatsApp, text_of, whatsapp_settings

# Real servers or processes (`make test`, not `make test-fast`), over the shipped content.
pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]


async def test_a_full_disk_keeps_counts_until_there_is_room(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.db", flush_every=3600)
    await store.start()
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")])
    assert await store.flush()
    assert store._db is not None
    pages = (await (await store._db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
    await store._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now answers SQLITE_FULL
    store.record("telegram", [Usage(UsageKind.ANSWERED, "es", f"topic.t{n}") for n in range(3000)])
    assert not await store.flush()
    assert store.pending == 3000
    await store.close()  # a new connection has no page limit: the disk has room again
    with sqlite3.connect(tmp_path / "usage.db") as db:
        assert db.execute("SELECT SUM(count) FROM usage").fetchone() == (3001,)


def bot_settings(
    tmp_path: Path, api: FakeBotAPI, db_path: Path | None = None, **extra: Any
) -> Settings:
    return api.settings(db_path or tmp_path / "u.db", **{"http_timeout": 0.5, **extra})


async def test_the_bot_api_answering_500s_and_timeouts_for_a_while(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(bot_settings(tmp_path, api), stop, started))
        await started.wait()
        await api.wait_for("getUpdates")
        api.fail_next("getUpdates", times=3, code=502)  # updates cannot be fetched for a while
        api.fail_next("sendMessage", times=1, code=500)
        api.delay_next("sendMessage", 1.5, times=1)  # then the API is slower than the timeout
        api.queue(api.text_update("como pido asilo"))
        replies = await api.wait_for("sendMessage", 2, timeout=20)
        # The 500 was sent again; the slow send (which Telegram did deliver) was not.
        assert [r.params["text"][:11] for r in replies] == ["Pedir asilo", "Pedir asilo"]
        api.queue(api.text_update("hola", chat_id=777))  # and it keeps serving afterwards
        await api.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == 777)
        stop.set()
        assert await task == 0


async def test_the_graph_api_answering_500s_and_timeouts_for_a_while(tmp_path: Path) -> None:
    import httpx

    async with FakeGraphAPI() as graph:
        settings = whatsapp_settings(graph, tmp_path, http_timeout=0.5)
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{started.port}") as web:
            wa = WhatsApp(graph, web, settings, started)
            graph.fail_next(500)
            graph.delay_next(1.0)  # slower than the timeout, but the message arrives
            sent = await wa.text("como pido asilo", expect=2)
            assert text_of(sent[0]).startswith("Pedir asilo")  # once: not sent again
            assert len(graph.rejected) == 1
            await wa.text("hola")  # the conversation goes on
            assert sum(text_of(m).startswith("Pedir asilo") for m in graph.sent) == 1
        stop.set()
        assert await task == 0


async def sigterm_mid_burst(db: Path, **env: str) -> tuple[dict[str, int], int]:
    """80 chats write at once; SIGTERM once the first replies are out. Returns the stored
    counts by event (from `db`, or the ORIENTA_DB in `env`) and how many chats were answered."""
    async with FakeBotAPI() as api:
        process = await start_orienta(db, api, **env)
        try:
            await api.wait_for("getUpdates", timeout=30)
            for n in range(80):
                api.queue(api.text_update("me pidieron mordida", chat_id=10_000 + n))
            await api.wait_for("sendMessage", 5)
        finally:
            code = await stop_orienta(process)
        assert code == 0
        replies = [c.params["chat_id"] for c in api.calls_to("sendMessage")]
        answered = set(replies)
        assert len(replies) == len(answered), "a chat was answered twice"
    counts: dict[str, int] = {}
    for row in await read_rows(env.get("ORIENTA_DB", str(db))):
        counts[row.event] = counts.get(row.event, 0) + row.count
    return counts, len(answered)


async def test_sigterm_during_a_burst_loses_no_acknowledged_count(tmp_path: Path) -> None:
    counts, answered = await sigterm_mid_burst(tmp_path / "usage.db")
    # Every message the bot took in was answered and counted; none was counted twice.
    assert counts["message"] == counts["answered"] == answered
    assert answered >= 5


async def test_the_bot_starts_even_if_the_database_cannot_be_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the database folder should be")
    async with FakeBotAPI() as api:
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(
            serve(bot_settings(tmp_path, api, db_path=blocker / "usage.db"), stop, started)
        )
        await started.wait()
        api.queue(api.text_update("como pido asilo"))
        (reply,) = await api.wait_for("sendMessage")
        assert reply.params["text"].startswith("Pedir asilo")
        assert started.runtime is not None and started.runtime.stats.pending >= 2
        blocker.unlink()  # the folder can be created now: counts are written at shutdown
        stop.set()
        assert await task == 0
    with sqlite3.connect(blocker / "usage.db") as con:
        assert con.execute(
            "SELECT SUM(count) FROM usage WHERE event = 'message' AND day = ?", (today_utc(),)
        ).fetchone() == (1,)
