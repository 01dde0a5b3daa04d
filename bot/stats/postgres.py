"""The usage counts and the shared WhatsApp delivery log in PostgreSQL, for several workers.

`ORIENTA_DB=postgresql://user@host/db` selects it. Every worker buffers its counts and adds them
to the same rows (`INSERT ... ON CONFLICT DO UPDATE SET count = count + excluded.count`), so the
counts of all workers sum exactly; the admin page and `orienta stats` read the shared rows.
WhatsApp deliveries are deduplicated across workers in `deliveries`: the first worker to insert
a delivery's key answers it, and marks it done in the same transaction as its counts; a retry
that reaches another worker is skipped when done, told to come back later (503) while the first
worker is still at it, and taken over when that worker has died (no heartbeat in `workers` for
`peer_timeout` seconds), so a delivery whose worker was killed is still answered and counted.
Keys are keyed hashes (HMAC-SHA256 with the WhatsApp app secret, which every worker has), so no
message id, which carries the sender's number, is stored in clear; they expire after a day.
Worker ids are random per process and say nothing about anyone.

The schema is created and migrated by Orienta itself (`schema_version`), under an advisory lock
so that workers starting together do not race. asyncpg (Apache-2.0) with a small pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from datetime import date
from typing import Any

import asyncpg

from bot.stats.store import INBOX_DAYS, Claim, CountingStore, InboxItem, Key

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: the counts.
    """
    CREATE TABLE usage (
        day DATE NOT NULL,
        channel TEXT NOT NULL,
        language TEXT NOT NULL,
        event TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT '',
        count BIGINT NOT NULL,
        PRIMARY KEY (day, channel, language, event, topic)
    )
    """,
    # 2: WhatsApp deliveries already taken by a worker (keyed hashes, expiring).
    """
    CREATE TABLE deliveries (
        key BYTEA PRIMARY KEY,
        expires TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX deliveries_expires ON deliveries (expires)
    """,
    # 3: the question inbox (see bot.stats.store): scrubbed questions people chose to send.
    """
    CREATE TABLE inbox (
        id TEXT PRIMARY KEY,
        day DATE NOT NULL,
        channel TEXT NOT NULL,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        guesses TEXT NOT NULL DEFAULT ''
    )
    """,
    # 4: which worker is answering a delivery, whether it is done, and the workers' heartbeats
    # (a delivery whose worker died is taken over by another).
    """
    ALTER TABLE deliveries ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE deliveries ADD COLUMN done BOOLEAN NOT NULL DEFAULT TRUE;
    CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        seen TIMESTAMPTZ NOT NULL
    )
    """,
)
PEER_TIMEOUT = 15.0  # seconds without a heartbeat after which a worker counts as dead
BEAT_EVERY = 1.0  # seconds between heartbeats (the flush loop runs at least every 2 s)

# Take a delivery when it is new, expired, or claimed by a worker that stopped beating; else say
# whether it is done or still being answered. The CASE reads the row as it was before the insert.
CLAIM = """
WITH before AS (
    SELECT expires >= now() AS live FROM deliveries WHERE key = $1
), taken AS (
    INSERT INTO deliveries (key, expires, owner, done)
    VALUES ($1, now() + make_interval(secs => $2), $3, FALSE)
    ON CONFLICT (key) DO UPDATE
        SET expires = EXCLUDED.expires, owner = EXCLUDED.owner, done = FALSE
        WHERE deliveries.expires < now()
           OR (NOT deliveries.done AND NOT EXISTS (
                SELECT 1 FROM workers
                WHERE workers.id = deliveries.owner
                  AND workers.seen > now() - make_interval(secs => $4)))
    RETURNING 1
)
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM taken) AND EXISTS (SELECT 1 FROM before WHERE live) THEN 'orphan'
    WHEN EXISTS (SELECT 1 FROM taken) THEN 'new'
    WHEN (SELECT done FROM deliveries WHERE key = $1) THEN 'done'
    ELSE 'busy'
END
"""
LOCK_ID = 0x0_71E_47A  # advisory lock held while migrating ("orienta")

UPSERT = """
INSERT INTO usage (day, channel, language, event, topic, count) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (day, channel, language, event, topic) DO UPDATE SET count = usage.count + EXCLUDED.count
"""

BEAT = """
INSERT INTO workers (id, seen) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET seen = now()
"""

ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


class PostgresStore(CountingStore):
    """The counts in PostgreSQL, shared by every worker that points at the same database."""

    errors = ERRORS
    describe = "PostgreSQL"

    def __init__(
        self,
        url: str,
        flush_every: float = 2.0,
        max_keys: int = 200_000,
        inbox_days: int = INBOX_DAYS,
        peer_timeout: float = PEER_TIMEOUT,
    ) -> None:
        super().__init__(flush_every, max_keys, inbox_days)
        self.url = url
        self.pool: asyncpg.Pool | None = None
        self.owner = secrets.token_hex(8)  # this process, among the workers; nothing personal
        self.peer_timeout = peer_timeout
        self._beaten = float("-inf")

    async def connect(self) -> None:
        """Open the pool and migrate; raises when the database cannot be reached (at start,
        `orienta run` says so and exits: several workers must share it, or they diverge)."""
        await self._open()

    async def _open(self) -> None:
        if self.pool is None:
            pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=4,
                timeout=5,
                command_timeout=10,
                reset=_nothing_to_reset,
            )
            try:
                await migrate(pool)
                await pool.execute(BEAT, self.owner)
            except BaseException:
                await pool.close()
                raise
            self._beaten = time.monotonic()
            self.pool = pool

    async def _close(self) -> None:
        if self.pool is not None:
            # Gone: a delivery this worker left unfinished may be taken over at once.
            with contextlib.suppress(*ERRORS):
                await self.pool.execute("DELETE FROM workers WHERE id = $1", self.owner)
            try:
                await asyncio.wait_for(self.pool.close(), 5)
            except Exception:  # a pool that cannot close cleanly is closed hard
                self.pool.terminate()
            self.pool = None

    async def _lost(self) -> None:
        """A write failed: PostgreSQL may have restarted. A new pool at the next flush."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None

    async def _write(self, batch: Counter[Key], finished: list[bytes]) -> None:
        pool = await self._ready()
        # Sorted: every worker locks the shared rows in the same order, so two batches never
        # deadlock (PostgreSQL would abort one after deadlock_timeout, a second of nothing).
        rows = [
            (date.fromisoformat(day), channel, language, event, topic, count)
            for (day, channel, language, event, topic), count in sorted(batch.items())
        ]
        async with pool.acquire() as connection, connection.transaction():
            if rows:
                await connection.executemany(UPSERT, rows)
            if finished:  # done with their counts, or not at all
                await connection.execute(
                    "UPDATE deliveries SET done = TRUE WHERE key = ANY($1::bytea[])", finished
                )

    async def _read(self, low: str, high: str) -> list[tuple[Any, ...]]:
        pool = await self._ready()
        records = await pool.fetch(
            "SELECT day, channel, language, event, topic, count FROM usage "
            "WHERE day >= $1 AND day <= $2",
            *_days(low, high),
        )
        return [(r["day"].isoformat(), *tuple(r)[1:]) for r in records]

    async def _write_inbox(self, items: list[InboxItem], cutoff: str) -> None:
        pool = await self._ready()
        async with pool.acquire() as connection, connection.transaction():
            await connection.executemany(
                "INSERT INTO inbox (id, day, channel, language, text, guesses) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                [
                    (
                        i.id,
                        date.fromisoformat(i.day),
                        i.channel,
                        i.language,
                        i.text,
                        " ".join(i.guesses),
                    )
                    for i in items
                ],
            )
            await connection.execute(
                "DELETE FROM inbox WHERE day <= $1", date.fromisoformat(cutoff)
            )

    async def _read_inbox(self, low: str, high: str) -> list[InboxItem]:
        pool = await self._ready()
        records = await pool.fetch(
            "SELECT id, day, channel, language, text, guesses FROM inbox "
            "WHERE day >= $1 AND day <= $2",
            *_days(low, high),
        )
        return [
            InboxItem(
                r["id"],
                r["day"].isoformat(),
                r["channel"],
                r["language"],
                r["text"],
                tuple(r["guesses"].split()),
            )
            for r in records
        ]

    async def _delete_inbox(self, ids: set[str]) -> int:
        if not ids:
            return 0
        pool = await self._ready()
        status = await pool.execute("DELETE FROM inbox WHERE id = ANY($1::text[])", list(ids))
        return int(status.split()[-1])

    async def _ready(self) -> asyncpg.Pool:
        if self.pool is None:  # reconnects after PostgreSQL was down
            await self._open()
        assert self.pool is not None
        return self.pool

    # ------------------------------------------------------------------ deliveries

    async def claim(self, digest: bytes, ttl_seconds: float) -> Claim:
        """NEW for the first worker to claim a delivery within `ttl_seconds`, ORPHAN for the
        first after the worker that claimed it died, DONE once it was answered and counted, BUSY
        while a live worker is at it. When PostgreSQL cannot be reached, NEW: answering twice is
        better than not answering."""
        try:
            pool = await self._ready()
            async with pool.acquire() as connection:
                verdict = await connection.fetchval(
                    CLAIM, digest, float(ttl_seconds), self.owner, self.peer_timeout
                )
                if digest[0] == 0:  # about 1 claim in 256 also sweeps what has expired
                    await connection.execute("DELETE FROM deliveries WHERE expires < now()")
                    await connection.execute(
                        "DELETE FROM workers WHERE seen < now() - interval '1 day'"
                    )
            return Claim(verdict)
        except ERRORS as exc:
            self._report_failure(exc)
            return Claim.NEW

    def finish(self, digest: bytes) -> None:
        if len(self._finished) < self.max_keys:  # bounded while the database is down
            self._finished.append(digest)

    async def _beat(self) -> None:
        if self.pool is None or time.monotonic() - self._beaten < BEAT_EVERY:
            return  # no pool: the next write reconnects, and _open beats
        try:
            await self.pool.execute(BEAT, self.owner)
            self._beaten = time.monotonic()
        except ERRORS as exc:
            self._report_failure(exc)


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """What the pool runs when a connection comes back: nothing. asyncpg's default reset sends a
    query (unlock, close cursors, unlisten, reset settings) at every release: a round trip and a
    transaction per use, about half of what PostgreSQL ran per message. Orienta changes no session
    state: no SET, no LISTEN, no cursors, only transaction-level advisory locks. (asyncpg still
    rolls back a transaction left open before it calls this.)"""


def _days(low: str, high: str) -> tuple[date, date]:
    """An inclusive range of ISO days (the store's open ends clipped to what `date` holds)."""
    return date.fromisoformat(max(low, "0001-01-01")), date.fromisoformat(min(high, "9999-12-31"))


async def migrate(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        current = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
        for version, statement in enumerate(MIGRATIONS, 1):
            if version > current:
                await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_version (version) VALUES ($1)", version
                )
