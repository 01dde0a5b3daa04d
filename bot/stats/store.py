"""Anonymous usage counts in SQLite, written off the reply path; and the question inbox.

One row per (UTC day, channel, language, event, topic) with a count. Nothing else is ever stored:
no user or chat id, phone number, name, message text or coordinates. The one exception is the
question inbox (`inbox` table): the text of a question a person chose to send to the team with
its button, scrubbed of names, numbers and addresses before it gets here, with its day, channel,
language and the matcher's guesses; never who sent it or when within the day. It is deleted after
`inbox_days` (ORIENTA_INBOX_DAYS, 90 by default).

`record()` is synchronous and only adds to an in-memory counter, so a reply never waits for the
disk. A background task writes the counter in one transaction every few seconds, or at once when
someone waits for it (`settled()`: a group commit, so a WhatsApp delivery is acknowledged only
once its counts are written, however many deliveries share the transaction). If the database
is locked, read-only, full or gone, the counts stay in memory (bounded), the problem is logged once,
and they are written when the database is back. `close()` flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import hmac
import logging
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import postgres
from bot.engine.recall import Kept
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
    # 2: the question inbox: questions people chose to send, scrubbed; no identity, no time.
    """
    CREATE TABLE inbox (
        id TEXT PRIMARY KEY,
        day TEXT NOT NULL,
        channel TEXT NOT NULL,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        guesses TEXT NOT NULL DEFAULT ''
    )
    """,
)
INBOX_DAYS = 90
INBOX_MAX_PENDING = 10_000
EXPIRE_EVERY = 3600.0  # seconds between retention sweeps of the inbox

UPSERT = """
INSERT INTO usage (day, channel, language, event, topic, count) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (day, channel, language, event, topic) DO UPDATE SET count = count + excluded.count
"""


class Claim(enum.Enum):
    """What `CountingStore.claim` says about a delivery."""

    NEW = "new"  # nobody has answered it: this worker does
    DONE = "done"  # answered and counted already, here or by another worker
    BUSY = "busy"  # another worker that is alive is answering it now
    # Claimed by a worker that died before it marked the delivery done. A worker claims right
    # before it sends, so that one may have answered: this worker counts it, and answers again
    # only a call for help (a repeated reply rather than emergency numbers that never arrived).
    ORPHAN = "orphan"


def delivery_digest(key: str, secret: bytes) -> bytes:
    """A delivery's key as stored: HMAC-SHA256 with a secret every worker has, so no message id
    (which carries the sender's number) is ever stored in clear."""
    return hmac.new(secret, key.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Row:
    """One stored count: a day, channel, language, event and topic, and how many."""

    day: str
    channel: str
    language: str
    event: str
    topic: str
    count: int


@dataclass(frozen=True)
class InboxItem:
    """A question in the inbox: a random id (never an order or a time), the UTC day, channel,
    language, the scrubbed text and the matcher's best topics."""

    id: str
    day: str
    channel: str
    language: str
    text: str
    guesses: tuple[str, ...]


def today_utc() -> str:
    return datetime.now(UTC).date().isoformat()


class CountingStore:
    """Anonymous usage counts, batched off the reply path; the back end (SQLite, PostgreSQL)
    supplies `_open`, `_close`, `_write` and `_read`.

    `record()` adds to an in-memory counter (never blocks a reply); a background task writes
    it every 2 seconds, at once when `settled()` is awaited, and at `close()`. A locked, full or
    unreachable database keeps the counts in memory (bounded) until it is back."""

    errors: tuple[type[BaseException], ...] = (OSError,)  # what means "the database is down"
    describe = "usage database"

    def __init__(
        self, flush_every: float = 2.0, max_keys: int = 200_000, inbox_days: int = INBOX_DAYS
    ) -> None:
        self.flush_every = flush_every
        self.max_keys = max_keys
        self.inbox_days = inbox_days
        self._pending: Counter[Key] = Counter()
        self._kept: list[InboxItem] = []
        self._finished: list[bytes] = []  # deliveries answered since the last write
        self._waiters: list[asyncio.Future[bool]] = []  # settled() calls for the next write
        self._hurry = asyncio.Event()
        self._expired_at = float("-inf")
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

    def keep(self, channel: str, kept: Kept, day: str | None = None) -> None:
        """Put a question a person chose to send in the inbox (written with the next batch).
        Never blocks, never raises."""
        if len(self._kept) >= INBOX_MAX_PENDING:
            log.error("inbox buffer full: a question was dropped until the database is back")
            return
        item = InboxItem(
            secrets.token_hex(8), day or today_utc(), channel, kept.lang, kept.text, kept.guesses
        )
        self._kept.append(item)

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    @property
    def healthy(self) -> bool:
        """False while the last write or read failed (counts are waiting in memory)."""
        return not self._failing

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open (and migrate) the database and start flushing in the background.

        A database that cannot be opened now is retried at every flush; the bot serves anyway.
        """
        try:
            await self._open()
        except self.errors as exc:
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
        await self._close()

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), self.flush_every)
            self._hurry.clear()
            await self._beat()
            await self.flush()

    async def settled(self, timeout: float = 5.0) -> bool:
        """Wait until every count recorded and every delivery finished so far is written; True
        when it is, False when the database is down or slower than `timeout` (the counts then
        wait in memory as usual).

        A group commit: every caller waiting at the same moment shares the next transaction,
        which starts as soon as the one before it ends. That is how a WhatsApp delivery is
        acknowledged only once it is counted, without a write per message."""
        if self._task is None or self._task.done():  # not started (or closing): write now
            try:
                return await asyncio.wait_for(self.flush(), timeout)
            except TimeoutError:
                return False
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._hurry.set()
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False

    # ------------------------------------------------------------------ writing

    async def flush(self) -> bool:
        """Write what is pending. True when nothing is left pending."""
        async with self._lock:
            kept_ok = await self._flush_inbox()
            # Taken together, with no await between: whoever waits now has all it recorded
            # in this batch or in one already written.
            waiters, self._waiters = self._waiters, []
            batch, self._pending = self._pending, Counter()
            finished, self._finished = self._finished, []
            written = True
            if batch or finished:
                written = await self._write_batch(batch, finished)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(written)
            return kept_ok and written and not self._pending

    async def _write_batch(self, batch: Counter[Key], finished: list[bytes]) -> bool:
        try:
            await self._write(batch, finished)
        except self.errors as exc:
            self._pending.update(batch)  # keep every count for the next try
            self._finished = finished + self._finished
            self._report_failure(exc)
            await self._lost()
            return False
        if self._failing:
            log.warning(
                "%s is writable again; %d events written", self.describe, sum(batch.values())
            )
            self._failing = False
        return True

    async def _flush_inbox(self) -> bool:
        """Write kept questions, and delete those past `inbox_days` (hourly, and at start)."""
        expire = time.monotonic() - self._expired_at > EXPIRE_EVERY
        if not self._kept and not expire:
            return True
        kept, self._kept = self._kept, []
        cutoff = (datetime.now(UTC).date() - timedelta(days=self.inbox_days)).isoformat()
        try:
            await self._write_inbox(kept, cutoff)
        except self.errors as exc:
            self._kept = kept + self._kept
            self._report_failure(exc)
            await self._lost()
            return False
        self._expired_at = time.monotonic()
        return True

    async def inbox(self, since: date | None = None, until: date | None = None) -> list[InboxItem]:
        """The inbox (stored and pending), newest day first, then by language and best guess."""
        low, high = (since or date.min).isoformat(), (until or date.max).isoformat()
        items = [i for i in self._kept if low <= i.day <= high]
        try:
            items += await self._read_inbox(low, high)
        except self.errors as exc:
            self._report_failure(exc)
        cutoff = (datetime.now(UTC).date() - timedelta(days=self.inbox_days)).isoformat()
        items = [i for i in items if i.day > cutoff]
        return sorted(items, key=lambda i: (_desc(i.day), i.language, i.guesses[:1], i.text))

    async def inbox_delete(self, ids: Iterable[str]) -> int:
        """Remove questions from the inbox (handled or unwanted); how many were there."""
        wanted = set(ids)
        before = len(self._kept)
        self._kept = [i for i in self._kept if i.id not in wanted]
        return before - len(self._kept) + await self._delete_inbox(wanted)

    def _report_failure(self, exc: BaseException) -> None:
        if not self._failing:  # log a problem once, not at every retry
            log.warning(
                "%s unavailable (%s); counting in memory until it is back",
                self.describe,
                type(exc).__name__ + ": " + str(exc),
            )
            self._failing = True

    # ------------------------------------------------------------------ reading

    async def rows(self, since: date | None = None, until: date | None = None) -> list[Row]:
        """Stored rows between two days (inclusive), plus what is still pending in memory."""
        counts: Counter[Key] = Counter()
        low, high = (since or date.min).isoformat(), (until or date.max).isoformat()
        try:
            for day, channel, language, event, topic, count in await self._read(low, high):
                counts[(str(day), channel, language, event, topic)] += int(count)
        except self.errors as exc:
            self._report_failure(exc)
        for key, count in self._pending.items():
            if low <= key[0] <= high:
                counts[key] += count
        return [Row(*key, count) for key, count in sorted(counts.items())]

    # ------------------------------------------------------------------ shared deliveries

    async def claim(self, digest: bytes, ttl_seconds: float) -> Claim:
        """Whether this worker should answer a delivery (`delivery_digest`). One process alone
        (SQLite) has no other worker: its channel's own memory decides. PostgreSQL overrides
        this."""
        return Claim.NEW

    def finish(self, digest: bytes) -> None:
        """A claimed delivery was answered: marked done in the same transaction as its counts."""

    async def _beat(self) -> None:
        """Tell other workers this one is alive (PostgreSQL); called by the flush loop."""

    # ------------------------------------------------------------------ the back end

    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    async def _lost(self) -> None:
        """After a failed write: forget connections that may be broken."""

    async def _write(self, batch: Counter[Key], finished: list[bytes]) -> None:
        raise NotImplementedError

    async def _read(self, low: str, high: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _write_inbox(self, items: list[InboxItem], cutoff: str) -> None:
        raise NotImplementedError

    async def _read_inbox(self, low: str, high: str) -> list[InboxItem]:
        raise NotImplementedError

    async def _delete_inbox(self, ids: set[str]) -> int:
        raise NotImplementedError


def _desc(day: str) -> str:
    """Sorts days newest first."""
    return "".join(chr(0x7F - ord(c)) for c in day)


class UsageStore(CountingStore):
    """The counts in a SQLite file (WAL), the embedded default."""

    errors = (sqlite3.Error, OSError)

    def __init__(
        self,
        path: Path,
        flush_every: float = 2.0,
        max_keys: int = 200_000,
        busy_timeout_ms: int = 200,
        inbox_days: int = INBOX_DAYS,
    ) -> None:
        super().__init__(flush_every, max_keys, inbox_days)
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None

    async def _open(self) -> None:
        await self._connect()

    async def _close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _lost(self) -> None:
        await self._drop_connection()

    async def _write(self, batch: Counter[Key], finished: list[bytes]) -> None:
        db = await self._connection()
        await db.executemany(UPSERT, [(*key, count) for key, count in batch.items()])
        await db.commit()

    async def _read(self, low: str, high: str) -> list[tuple[Any, ...]]:
        db = await self._connection()
        query = "SELECT day, channel, language, event, topic, count FROM usage WHERE day >= ? AND day <= ?"
        async with db.execute(query, (low, high)) as cursor:
            return [tuple(row) async for row in cursor]

    async def _write_inbox(self, items: list[InboxItem], cutoff: str) -> None:
        db = await self._connection()
        await db.executemany(
            "INSERT OR IGNORE INTO inbox (id, day, channel, language, text, guesses) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(i.id, i.day, i.channel, i.language, i.text, " ".join(i.guesses)) for i in items],
        )
        await db.execute("DELETE FROM inbox WHERE day <= ?", (cutoff,))
        await db.commit()

    async def _read_inbox(self, low: str, high: str) -> list[InboxItem]:
        db = await self._connection()
        query = (
            "SELECT id, day, channel, language, text, guesses FROM inbox "
            "WHERE day >= ? AND day <= ?"
        )
        async with db.execute(query, (low, high)) as cursor:
            return [
                InboxItem(r[0], r[1], r[2], r[3], r[4], tuple(r[5].split())) async for r in cursor
            ]

    async def _delete_inbox(self, ids: set[str]) -> int:
        if not ids:
            return 0
        db = await self._connection()
        marks = ",".join("?" * len(ids))
        cursor = await db.execute(f"DELETE FROM inbox WHERE id IN ({marks})", tuple(ids))
        await db.commit()
        return cursor.rowcount

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
            # In WAL mode, NORMAL survives the process being killed (what an acknowledged
            # delivery must), though not a power cut; and commits without waiting for the disk,
            # which matters now that a WhatsApp burst commits as often as it can.
            await db.execute("PRAGMA synchronous = NORMAL")
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


async def read_rows(
    where: Path | str, since: date | None = None, until: date | None = None
) -> list[Row]:
    """Rows from a SQLite file or a PostgreSQL URL, for `orienta stats` (no background task)."""
    if postgres(str(where)):
        from bot.stats.postgres import PostgresStore

        shared = PostgresStore(str(where))
        try:
            return await shared.rows(since, until)
        finally:
            await shared.close()
    if not Path(where).exists():
        return []
    store = UsageStore(Path(where))
    try:
        return await store.rows(since, until)
    finally:
        await store.close()


def keep_now(where: Path | str, channel: str, kept: Kept, days: int = INBOX_DAYS) -> None:
    """Put one question in the inbox of a SQLite file or a PostgreSQL URL at once, without a
    running bot (the console's `orienta chat`)."""

    async def run() -> None:
        store: CountingStore
        if postgres(str(where)):
            from bot.stats.postgres import PostgresStore

            store = PostgresStore(str(where), inbox_days=days)
        else:
            store = UsageStore(Path(where), inbox_days=days)
        try:
            store.keep(channel, kept)
            await store.flush()
        finally:
            await store.close()

    asyncio.run(run())


async def read_inbox(where: Path | str, days: int = INBOX_DAYS) -> list[InboxItem]:
    """The inbox of a SQLite file or a PostgreSQL URL, for `orienta inbox` (no background task)."""
    store: CountingStore
    if postgres(str(where)):
        from bot.stats.postgres import PostgresStore

        store = PostgresStore(str(where), inbox_days=days)
    elif not Path(where).exists():
        return []
    else:
        store = UsageStore(Path(where), inbox_days=days)
    try:
        return await store.inbox()
    finally:
        await store.close()
