"""`orienta run`: settings -> content -> engine -> stats -> the configured channels, one process.

SIGTERM or Ctrl-C stops polling, flushes the usage counts and exits 0. SIGHUP reloads content;
so does a change to the content files (polled) and an admin's /reload on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.channels import Channel, configured
from bot.config import Settings, is_loopback, strong_token
from bot.matching.embedder import EmbedderUnavailable
from bot.runtime import Matching, Runtime, build_engine
from bot.stats.store import CountingStore, UsageStore
from bot.web.server import InLoopServer

log = logging.getLogger(__name__)

NOTHING_CONFIGURED = """\
orienta run: no channel is configured.
Set TELEGRAM_BOT_TOKEN (Telegram), WHATSAPP_TOKEN with WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET
and WHATSAPP_VERIFY_TOKEN (WhatsApp), or ORIENTA_ADMIN_TOKEN (the admin page).
To try Orienta without any of them, run: orienta chat"""


# Libraries that would log secrets or user data below these levels: httpx logs request URLs
# (Telegram's contain the bot token); python-telegram-bot logs every API call with its text and
# chat id at DEBUG; aiosqlite logs SQL parameters at DEBUG. `--verbose` never lowers these.
LIBRARY_LOG_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.WARNING,
    "uvicorn": logging.WARNING,
    "apscheduler": logging.WARNING,
}


def quiet_loggers() -> None:
    """Hold libraries that would log secrets or user data at safe levels (LIBRARY_LOG_LEVELS)."""
    for name, level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)


Ready = Callable[[Runtime, int | None], None]


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, ready: Ready | None = None
) -> int:
    """Run until `stop` is set (or SIGTERM/SIGINT). Returns the process exit code.

    `ready` is called once every channel is up, with the runtime and the web server's port.
    """
    quiet_loggers()
    raise_open_files_limit()
    channel_types = configured(settings)
    if not (channel_types or settings.admin_token):
        print(NOTHING_CONFIGURED, file=sys.stderr)
        return 2
    if settings.admin_token and not strong_token(settings.admin_token):
        print(
            "orienta run: ORIENTA_ADMIN_TOKEN is too weak: use at least 24 random characters",
            file=sys.stderr,
        )
        return 2
    for channel_type in channel_types:
        if missing := channel_type.missing(settings):
            print(
                f"orienta run: {channel_type.name} is configured, but not {', '.join(missing)}",
                file=sys.stderr,
            )
            return 2
    try:
        matching = Matching.from_settings(settings, progress=lambda m: log.info("matcher: %s", m))
    except EmbedderUnavailable as exc:
        print(f"orienta run: {exc}", file=sys.stderr)
        return 2
    log.info(
        "matcher: %s", "lexical + sentence embeddings" if matching.embedder else "lexical only"
    )
    engine, problems = await asyncio.to_thread(
        build_engine, settings.content_dir, settings.locale_dir, matching
    )
    if engine is None:
        print(
            "orienta run: the content has errors:\n" + "\n".join(map(str, problems)),
            file=sys.stderr,
        )
        return 1
    stats: CountingStore
    if settings.db_url:
        from bot.stats.postgres import ERRORS, PostgresStore

        stats = PostgresStore(
            settings.db_url, inbox_days=settings.inbox_days, peer_timeout=settings.peer_timeout
        )
        try:
            await stats.connect()
        except ERRORS as exc:
            # Workers that share counts and deliveries must not start on their own.
            print(
                f"orienta run: cannot use the PostgreSQL database in ORIENTA_DB "
                f"({type(exc).__name__}: {exc})",
                file=sys.stderr,
            )
            return 2
    else:
        stats = UsageStore(settings.db_path, inbox_days=settings.inbox_days)
    await stats.start()
    runtime = Runtime(engine, stats, settings.content_dir, settings.locale_dir, matching)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: asyncio.ensure_future(runtime.reload("SIGHUP"))
        )

    channels: list[Channel] = []
    server = None
    tasks: list[asyncio.Task[object]] = []
    try:
        for channel_type in channel_types:
            channel = channel_type.create(runtime, settings)
            channels.append(channel)
            await channel.start()
        if settings.admin_token or any(t.needs_web(settings) for t in channel_types):
            server = await start_web(settings, runtime, channels)
        tasks.append(
            asyncio.create_task(watch_content(runtime, settings.content_poll_seconds, stop))
        )
        if ready is not None:
            ready(runtime, server.port if server else None)
        await stop.wait()
        log.info("stopping")
    finally:
        # Stop taking work first, answer what was taken until the drain deadline (below the
        # service manager's stop timeout), then write the counts.
        deadline = loop.time() + settings.drain_seconds
        for task in tasks:
            task.cancel()
        if server is not None:
            await server.stop()
        # Side by side: each drains its own backlog until the same deadline.
        await asyncio.gather(*(channel.stop(deadline) for channel in channels))
        await stats.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return 0


def raise_open_files_limit(cap: int = 65536) -> None:
    """Lift the soft open-files limit towards the hard one (a common soft limit is 1024)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        pass  # not allowed here: the connection guard still keeps the server reachable


async def start_web(
    settings: Settings, runtime: Runtime, channels: Sequence[Channel]
) -> InLoopServer:
    """Start the one web server: `/healthz`, each channel's routes, the admin page if configured.

    Returns the running server (its `port` is the one bound, useful with port 0)."""
    from bot.web.app import build_app

    if not is_loopback(settings.host):
        log.warning(
            "ORIENTA_HOST=%s is reachable from other machines: put a reverse proxy that "
            "terminates HTTPS in front of it (README, 'Exposing the web server')",
            settings.host,
        )

    server = InLoopServer(build_app(settings, runtime, channels), settings.host, settings.port)
    port = await server.start()
    log.info("web server on %s:%d", settings.host, port)
    return server


async def watch_content(
    runtime: Runtime,
    every: float,
    stop: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Reload when the content files changed and then stayed the same for one more poll, so a
    reload never reads an editor's half-written save, or half of a copy of several files
    (polling: works on every filesystem)."""
    if every <= 0:
        return
    last = _fingerprint(runtime.content_dir)
    pending: object = None  # the changed state seen at the previous poll
    while not stop.is_set():
        await sleep(every)
        now = _fingerprint(runtime.content_dir)
        if now == last:
            pending = None
        elif now == pending:
            last, pending = now, None
            await runtime.reload("content files changed")
        else:
            pending = now


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        return tuple(
            sorted(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.yaml")
            )
        )
    except OSError:
        return ()
