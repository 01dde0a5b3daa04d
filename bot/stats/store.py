"""Anonymous usage counts in SQLite, written off the reply path.

One row per (UTC day, channel, language, event, topic) with a count. Nothing else is ever stored:
no user or chat id, phone number, name, message text or coordinates.

`record()` is synchronous and only adds to an in-memory counter, so a reply never waits for the
disk. A background task writes the counter in one transaction every few seconds. If the database
is locked, read-only, full or gone, the counts stay in memory (bounded), the problem is logged once,
and they are written when the database is back. `close()` flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite

from bot.engine.replies import Usage

log = logging.getLogger(__name__)

Key = tuple[str, str, str, str, str]  # day, channel, language, event, topic

MIGRATIONS: tuple[str, ...] = (
    # 1: the counts table.
    """
    CREATE TABLE usage (
        day TEXT NOT NULL,
        channel TEXT NOT NULL,
        language TEXT NOT NULL,
        event TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT '',
        count INTEGER NOT NULL,
        PRIMARY KEY (day, channel, language, event, topic)
    ) WITHOUT ROWID
    """,
)

UPSERT = """
INSERT INTO usage (day, channel, language, event, topic, count) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (day, channel, language, event, topic) DO UPDATE SET count = count + excluded.count
"""


@dataclass(frozen=True)
class Row:
    """One stored count: a day, channel, language, event and topic, and how many."""

    day: str
    channel: str
    language: str
    event: str
    topic: str
    count: int


def today_utc() -> str:
    return datetime.now(UTC).date().isoformat()


class UsageStore:
    """Anonymous usage counts in SQLite, batched off the reply path.

    `record()` adds to an in-memory counter (never blocks a reply); a background task writes
    it every 2 seconds and at `close()`. A locked, full or missing database keeps the counts in
    memory (bounded) until it is back."""

    def __init__(
        self,
        path: Path,
        flush_every: float = 2.0,
        max_keys: int = 200_000,
        busy_timeout_ms: int = 200,
    ) -> None:
        self.path = Path(path)
        self.flush_every = flush_every
        self.max_keys = max_keys
        self.busy_timeout_ms = busy_timeout_ms
        self._pending: Counter[Key] = Counter()
        self._db: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failing = False
        self.dropped = 0  # counts lost because the buffer was full: logged, and shown by `stats`

    # ------------------------------------------------------------------ recording

    def record(self, channel: str, usage: Iterable[Usage], day: str | None = None) -> None:
        """Count usage events. Never blocks, never raises."""
        day = day or today_utc()
        for item in usage:
            key = (day, channel, item.lang, item.kind.value, item.topic)
            if key not in self._pending and len(self._pending) >= self.max_keys:
                if not self.dropped:
                    log.error(
                        "usage buffer full (%d keys): new counts are dropped until the database is back",
                        self.max_keys,
                    )
                self.dropped += 1
                continue
            self._pending[key] += 1

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open (and migrate) the database and start flushing in the background.

        A database that cannot be opened now is retried at every flush; the bot serves anyway.
        """
        try:
            await self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._report_failure(exc)
        self._task = asyncio.create_task(self._flush_loop(), name="usage-flush")

    async def close(self, attempts: int = 3) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for attempt in range(attempts):
            if await self.flush():
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        if self._pending:
            log.error("shutdown: %d usage events could not be written", self.pending)
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            await self.flush()

    # ------------------------------------------------------------------ writing

    async def flush(self) -> bool:
        """Write what is pending. True when nothing is left pending."""
        async with self._lock:
            if not self._pending:
                return True
            batch, self._pending = self._pending, Counter()
            try:
                db = await self._connection()
                await db.executemany(UPSERT, [(*key, count) for key, count in batch.items()])
                await db.commit()
            except (sqlite3.Error, OSError) as exc:
                self._pending.update(batch)  # keep every count for the next try
                self._report_failure(exc)
                await self._drop_connection()
                return False
            if self._failing:
                log.warning(
                    "usage database is writable again; %d events written", sum(batch.values())
                )
                self._failing = False
            return not self._pending

    def _report_failure(self, exc: BaseException) -> None:
        if not self._failing:  # log a problem once, not at every retry
            log.warning(
                "usage database unavailable (%s); counting in memory until it is back",
                type(exc).__name__ + ": " + str(exc),
            )
            self._failing = True

    async def _connection(self) -> aiosqlite.Connection:
        # A database file deleted while the bot runs would swallow writes: start a new one.
        if self._db is not None and not self.path.exists():
            await self._drop_connection()
        if self._db is None:
            await self._connect()
        assert self._db is not None
        return self._db

    async def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, timeout=self.busy_timeout_ms / 1000)
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        self._db = db

    async def _drop_connection(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error, OSError):
                await self._db.close()
            self._db = None

    # ------------------------------------------------------------------ reading

    async def rows(self, since: date | None = None, until: date | None = None) -> list[Row]:
        """Stored rows between two days (inclusive), plus what is still pending in memory."""
        counts: Counter[Key] = Counter()
        try:
            db = await self._connection()
            query = "SELECT day, channel, language, event, topic, count FROM usage WHERE day >= ? AND day <= ?"
            bounds = ((since or date.min).isoformat(), (until or date.max).isoformat())
            async with db.execute(query, bounds) as cursor:
                async for day, channel, language, event, topic, count in cursor:
                    counts[(day, channel, language, event, topic)] += count
        except (sqlite3.Error, OSError) as exc:
            self._report_failure(exc)
        low, high = (since or date.min).isoformat(), (until or date.max).isoformat()
        for key, count in self._pending.items():
            if low <= key[0] <= high:
                counts[key] += count
        return [Row(*key, count) for key, count in sorted(counts.items())]


async def migrate(db: aiosqlite.Connection) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    async with db.execute("SELECT MAX(version) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    current = (row[0] if row else None) or 0
    for version, statement in enumerate(MIGRATIONS, 1):
        if version > current:
            await db.execute(statement)
            await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    await db.commit()


async def read_rows(path: Path, since: date | None = None, until: date | None = None) -> list[Row]:
    """Rows from a database file, for `orienta stats` (no background task, read only)."""
    if not Path(path).exists():
        return []
    store = UsageStore(path)
    try:
        return await store.rows(since, until)
    finally:
        await store.close()
