"""Anonymous usage counts: what is counted, that nothing is lost, and that nothing identifying is kept."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import serve
from bot.config import ROOT, Settings
from bot.engine.engine import Engine
from bot.engine.events import Location, Press, Text, Unsupported
from bot.engine.replies import Usage, UsageKind
from bot.stats.report import group, summarize
from bot.stats.store import MIGRATIONS, UsageStore, today_utc
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.started import Started

pytestmark = pytest.mark.e2e  # real servers or processes: `make test`, not `make test-fast`


def db_rows(path: Path) -> list[tuple[str, str, str, str, str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT day, channel, language, event, topic, count FROM usage ORDER BY event, topic"
        ).fetchall()


@pytest.fixture()
async def store(tmp_path: Path) -> AsyncIterator[UsageStore]:
    s = UsageStore(tmp_path / "usage.db", flush_every=3600)
    await s.start()
    yield s
    await s.close()


async def test_engine_events_are_counted_per_day_channel_language_event_and_topic(
    engine: Engine, store: UsageStore
) -> None:
    for event in (
        Text("me pidieron mordida"),
        Text("me pidieron mordida"),
        Text("receta de pozole"),
        Text("how do i ask for asylum"),
        Location(32.5, -117.0, "es"),
        Unsupported("sticker", "en"),
    ):
        store.record("telegram", engine.handle(event).usage)
    press = engine.handle(Press("y|es|t|complaint.bribe"))
    store.record("whatsapp", press.usage)
    assert await store.flush()
    day = today_utc()
    rows = db_rows(store.path)
    assert (day, "telegram", "es", "answered", "complaint.bribe", 2) in rows
    assert (day, "telegram", "es", "message", "", 3) in rows
    assert (day, "telegram", "es", "unanswered", "", 1) in rows
    assert (day, "telegram", "en", "answered", "rights.asylum", 1) in rows
    assert (day, "telegram", "es", "location", "", 1) in rows
    assert (day, "telegram", "en", "unsupported", "", 1) in rows
    assert (day, "whatsapp", "es", "feedback_yes", "complaint.bribe", 1) in rows


async def test_counts_are_upserted_not_duplicated(store: UsageStore) -> None:
    for _ in range(3):
        store.record("telegram", [Usage(UsageKind.MESSAGE, "es")] * 5)
        await store.flush()
    assert db_rows(store.path) == [(today_utc(), "telegram", "es", "message", "", 15)]


async def test_schema_version_and_wal(store: UsageStore) -> None:
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")])
    await store.flush()
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone() == (
            len(MIGRATIONS),
        )
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_close_flushes_everything(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.db", flush_every=3600)
    await store.start()
    store.record("telegram", [Usage(UsageKind.ANSWERED, "en", "rights.asylum")] * 7)
    await store.close()
    assert db_rows(tmp_path / "usage.db") == [
        (today_utc(), "telegram", "en", "answered", "rights.asylum", 7)
    ]


async def test_a_locked_database_delays_nothing_and_loses_nothing(store: UsageStore) -> None:
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")])
    assert await store.flush()
    locker = sqlite3.connect(store.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        for _ in range(1000):
            store.record("telegram", [Usage(UsageKind.MESSAGE, "es")])
        assert time.perf_counter() - started < 0.5  # recording never waits for the disk
        assert not await store.flush()  # locked: kept in memory
        assert store.pending == 1000
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert await store.flush()
    assert db_rows(store.path) == [(today_utc(), "telegram", "es", "message", "", 1001)]


async def test_an_unavailable_database_recovers_by_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("not a directory")  # the database's folder cannot be created
    store = UsageStore(blocker / "usage.db", flush_every=3600)
    await store.start()
    store.record("whatsapp", [Usage(UsageKind.MESSAGE, "en")] * 3)
    assert not await store.flush()
    assert not await store.flush()
    warnings = [r for r in caplog.records if "usage database unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not at every retry
    blocker.unlink()
    assert await store.flush()
    await store.close()
    assert db_rows(blocker / "usage.db") == [(today_utc(), "whatsapp", "en", "message", "", 3)]


async def test_a_deleted_database_is_recreated(store: UsageStore) -> None:
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")])
    await store.flush()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")] * 2)
    assert await store.flush()
    assert db_rows(store.path) == [(today_utc(), "telegram", "es", "message", "", 2)]


async def test_the_buffer_is_bounded(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.db", max_keys=3)
    store.record("telegram", [Usage(UsageKind.ANSWERED, "es", f"topic.{n}") for n in range(5)])
    assert store.pending == 3 and store.dropped == 2


async def test_replies_keep_flowing_while_another_process_locks_the_database(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api:
        settings = api.settings(tmp_path / "usage.db")
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        assert started.runtime is not None
        started.runtime.stats.flush_every = 0.05
        await api.wait_for("getUpdates")
        api.queue(api.text_update("hola"))
        await api.wait_for("sendMessage")
        await started.runtime.stats.flush()
        locker = sqlite3.connect(settings.db_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        for n in range(10):
            api.queue(api.text_update(f"como pido asilo {n}", chat_id=600 + n))
        replies = await api.wait_for("sendMessage", 11, timeout=10)
        assert all(r.params["text"].startswith("Pedir asilo") for r in replies[1:]), [
            r.params["text"][:60] for r in replies[1:] if not r.params["text"].startswith("Pedir")
        ]
        locker.execute("ROLLBACK")
        locker.close()
        stop.set()
        assert await task == 0
    rows = {(event, topic): count for _, _, _, event, topic, count in db_rows(settings.db_path)}
    assert rows[("message", "")] == 11 and rows[("answered", "rights.asylum")] == 10


async def test_privacy_no_identifier_text_or_coordinates_reach_the_database(tmp_path: Path) -> None:
    """A scripted conversation with distinctive ids, names, texts and coordinates; then the raw
    bytes of every database file are searched for them."""
    secrets = {
        "user id": "987654321",
        "first name": "Xochiquetzal",
        "text": "Tlazohcamati mordida",
        "other text": "me llamo Nezahualcoyotl",
        "latitude": "32.51234",
        "longitude": "117.09876",
    }
    async with FakeBotAPI() as api:
        settings = api.settings(tmp_path / "usage.db", admin_ids=frozenset({987654321}))
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        chat = int(secrets["user id"])
        for update in (
            api.text_update("/start", chat_id=chat),
            api.text_update(secrets["text"], chat_id=chat),
            api.text_update(secrets["other text"], chat_id=chat),
            api.location_update(
                float(secrets["latitude"]), -float(secrets["longitude"]), chat_id=chat
            ),
            api.press_update("y|es|t|complaint.bribe", chat_id=chat),
        ):
            update.get("message", update.get("callback_query", {})).get("from", {})[
                "first_name"
            ] = secrets["first name"]
            api.queue(update)
        await api.wait_for("answerCallbackQuery")
        await api.wait_for("sendVenue")
        stop.set()
        assert await task == 0
    files = [p for p in tmp_path.iterdir() if p.name.startswith("usage.db")]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    for what, value in secrets.items():
        assert value.encode() not in blob, f"{what} found in the database files"
    assert chat.to_bytes(4, "big") not in blob and chat.to_bytes(4, "little") not in blob
    assert ("telegram", "feedback_yes", "complaint.bribe") in {
        (c, e, t) for _, c, _, e, t, _ in db_rows(settings.db_path)
    }


def seed(path: Path) -> None:
    asyncio.run(seed_async(path))


async def seed_async(path: Path) -> None:
    """Known counts on known days (two in November 2026, one in October)."""
    store = UsageStore(path)
    await store.start()
    store.record(
        "telegram",
        [Usage(UsageKind.MESSAGE, "es")] * 4
        + [Usage(UsageKind.ANSWERED, "es", "complaint.bribe")] * 3,
        day="2026-11-20",
    )
    store.record("telegram", [Usage(UsageKind.UNANSWERED, "es")], day="2026-11-20")
    store.record(
        "whatsapp",
        [Usage(UsageKind.MESSAGE, "en")] * 2
        + [Usage(UsageKind.ANSWERED, "en", "rights.asylum")] * 2,
        day="2026-11-21",
    )
    store.record(
        "whatsapp", [Usage(UsageKind.FEEDBACK_YES, "en", "rights.asylum")], day="2026-11-21"
    )
    store.record("telegram", [Usage(UsageKind.MESSAGE, "es")] * 9, day="2026-10-01")
    await store.close()


def stats(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "stats", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ},
    )


@pytest.fixture()
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "usage.db"
    seed(path)
    return path


def test_stats_table_by_topic(seeded: Path) -> None:
    done = stats("--db", str(seeded), "--since", "2026-11-01", "--until", "2026-11-30")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Orienta usage 2026-11-01 – 2026-11-30")
    assert "messages 6 · answered 5 · unanswered 1 (17%) · helpful 1/1 (100%)" in lines[1]
    assert [line.split() for line in lines[-2:]] == [
        ["complaint.bribe", "3"],
        ["rights.asylum", "2"],
    ]


def test_stats_csv(seeded: Path) -> None:
    done = stats("--db", str(seeded), "--format", "csv", "--since", "2026-11-21")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {(r["channel"], r["event"], r["topic"], r["count"]) for r in rows} == {
        ("whatsapp", "message", "", "2"),
        ("whatsapp", "answered", "rights.asylum", "2"),
        ("whatsapp", "feedback_yes", "rights.asylum", "1"),
    }
    assert list(rows[0]) == ["day", "channel", "language", "event", "topic", "count"]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("day", {"2026-10-01": 9, "2026-11-20": 8, "2026-11-21": 5}),
        ("channel", {"telegram": 17, "whatsapp": 5}),
        ("language", {"es": 17, "en": 5}),
        ("event", {"message": 15, "answered": 5, "unanswered": 1, "feedback_yes": 1}),
    ],
)
def test_stats_json_grouped(seeded: Path, by: str, expected: dict[str, int]) -> None:
    done = stats("--db", str(seeded), "--format", "json", "--by", by, "--until", "2026-11-30")
    data = json.loads(done.stdout)
    assert data["totals"]["groups"] == expected
    assert data["totals"]["messages"] == 15 and data["totals"]["count"] == 22
    assert set(data["rows"][0]) == {"day", "channel", "language", "event", "topic", "count"}
    assert data["since"] == "2026-10-01" and data["until"] == "2026-11-30"


def test_stats_rejects_bad_dates(seeded: Path) -> None:
    done = stats("--db", str(seeded), "--since", "yesterday")
    assert done.returncode == 2 and "is not a date like 2026-11-28" in done.stderr


def test_reports() -> None:
    from datetime import date

    from bot.stats.store import Row

    rows = [
        Row("2026-11-20", "telegram", "es", "message", "", 4),
        Row("2026-11-20", "telegram", "es", "answered", "a.b", 3),
        Row("2026-11-22", "whatsapp", "en", "message", "", 1),
    ]
    s = summarize(rows, date(2026, 11, 20), date(2026, 11, 22))
    assert s.daily_messages == (("2026-11-20", 4), ("2026-11-21", 0), ("2026-11-22", 1))
    assert s.top_topics == (("a.b", 3),) and s.unanswered_share == 0.0 and s.helpful_share is None
    assert group(rows, "channel") == [("telegram", 7), ("whatsapp", 1)]
    with pytest.raises(ValueError):
        group(rows, "user")


def test_settings_default_database_is_under_var() -> None:
    assert Settings.from_env({}).db_path == ROOT / "var" / "orienta.db"
    assert replace(Settings.from_env({"ORIENTA_DB": "/tmp/x.db"})).db_path == Path("/tmp/x.db")


async def test_waiting_for_the_counts_is_a_group_commit(tmp_path: Path) -> None:
    """Fifty deliveries waiting at once share one transaction, not fifty; each returns only once
    its count is on disk."""
    from collections import Counter

    from bot.stats.store import UsageStore

    store = UsageStore(tmp_path / "usage.db", flush_every=3600)
    await store.start()
    writes: list[int] = []
    write = store._write

    async def counted(batch: Counter, finished: list[bytes]) -> None:  # type: ignore[type-arg]
        writes.append(sum(batch.values()))
        await write(batch, finished)

    store._write = counted  # type: ignore[method-assign]

    async def one_delivery() -> int:
        store.record("whatsapp", [Usage(UsageKind.MESSAGE, "es")])
        assert await store.settled()
        with sqlite3.connect(tmp_path / "usage.db") as db:
            return int(db.execute("SELECT SUM(count) FROM usage").fetchone()[0])

    seen = await asyncio.gather(*(one_delivery() for _ in range(50)))
    assert seen == [50] * 50  # each saw its own count written
    assert writes == [50]  # in one transaction
    await store.close()
