"""The Telegram channel: a thin adapter between python-telegram-bot's Application and the engine.

It turns updates into engine events, renders the engine's replies (telegram_render.py), keeps the
little per-chat state a chat needs (chosen language, flood counter) in expiring memory, and hands
usage counts to the stats store. It logs no user ids, chat ids or message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
import secrets
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from aiolimiter import AsyncLimiter
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Route
from telegram import BotCommand, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.helpers import effective_message_type
from telegram.warnings import PTBDeprecationWarning
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.channels import ChannelType
from bot.channels.pipeline import Pipeline
from bot.channels.webhook import read_json
from bot.config import Settings
from bot.engine.events import Command, CommandName, Event, Location, Press, Text, Unsupported
from bot.engine.payload import DraftOp, DraftView, Kind, decode
from bot.engine.replies import Reply, Response, TextReply
from bot.handlers.telegram_render import Outgoing, render
from bot.handlers.telegram_request import JSONRequest, PollingRequest
from bot.i18n import N_
from bot.memory import FloodGuard, Verdict, forgetting
from bot.runtime import Runtime
from bot.stats.report import last_days, summarize, text_summary

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # edited messages are never even fetched
NAVIGATION = {Kind.NODE, Kind.MENU, Kind.STATES, Kind.LANGUAGES}  # presses that edit in place
# Presses on a drafter step edit that step into the next (choosing several options edits it in
# place too); "Continue my complaint" under an answer sends a new message and keeps the answer.
DRAFT_STEP_OPS = {DraftOp.PICK, DraftOp.SKIP, DraftOp.DONE, DraftOp.BACK}
SEND_ATTEMPTS = 4
RETRY_AFTER_ATTEMPTS = 3
# At the drain deadline minus this, no new update is started: the ones being answered get this
# long to finish sending (64 at once at 30 messages a second take about 2 s).
DRAIN_GRACE = 3.0
MAX_WAIT = 30.0  # seconds: a platform asking to wait longer gets the message dropped and counted
CONCURRENT_UPDATES = 64
# Connections to the Bot API for sending. Telegram takes about 30 messages a second from a bot,
# which 16 connections carry even at a 500 ms round trip. More would only cost: httpcore checks
# every idle pooled connection before each send (one poll() each, see bot.channels.http).
SEND_CONNECTIONS = 16

COMMANDS = {
    "start": CommandName.START,
    "menu": CommandName.MENU,
    "help": CommandName.HELP,
    "language": CommandName.LANGUAGE,
    "about": CommandName.ABOUT,
    "privacy": CommandName.PRIVACY,
}


COMMAND_DESCRIPTIONS = {
    "start": N_("Start and main menu"),
    "menu": N_("Main menu"),
    "help": N_("How to use Orienta"),
    "language": N_("Change language"),
    "about": N_("About this service"),
    "privacy": N_("What we store"),
}

T = TypeVar("T")
Translate = Callable[[str], str]


class ChatRateLimiter(AIORateLimiter):
    """PTB's limiter (about 30 messages/s overall, group limits) plus Telegram's per-chat advice
    for private chats: on average one message a second, with a small burst so an answer and its
    follow-up are not held back.

    A 429's `retry_after` pauses every send until then, as PTB's own limiter does, but never
    longer than `max_wait`: a longer wait drops the message (the caller counts it) instead of
    stalling every chat, and shutdown, for minutes.
    """

    def __init__(
        self, overall_per_second: float, per_chat_burst: int = 3, max_wait: float = 30.0
    ) -> None:
        # PTB retries nothing itself: its retry sleeps as long as Telegram asks.
        super().__init__(overall_max_rate=overall_per_second, overall_time_period=1, max_retries=0)
        self._burst = per_chat_burst
        self._chats: TTLCache[int, AsyncLimiter] = forgetting(60.0, 50_000)
        self.max_wait = max_wait
        self._resume_at = 0.0  # loop time before which nothing is sent (Telegram asked)

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        for attempt in range(RETRY_AFTER_ATTEMPTS):
            pause = self._resume_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)  # at most max_wait: see below
            try:
                return await self._limited(callback, args, kwargs, endpoint, data, rate_limit_args)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                if wait > self.max_wait or attempt == RETRY_AFTER_ATTEMPTS - 1:
                    raise
                self._resume_at = max(self._resume_at, loop.time() + wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _limited(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if isinstance(chat_id, int) and chat_id > 0:
            limiter = self._chats.get(chat_id)
            if limiter is None:
                limiter = AsyncLimiter(self._burst, self._burst)
            self._chats[chat_id] = limiter
            async with limiter:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


class DrainingUpdateProcessor(BaseUpdateProcessor):
    """PTB's concurrent processing (at most `max_concurrent_updates` at once) that can be closed
    for shutdown. PTB's fetcher takes every update off the queue at once and parks it on the
    semaphore, so "the queue is empty" says nothing about what is left; and `Application.stop()`
    waits for all of them, however long the rate limiter makes that. Once closed, an update that
    has not started is dropped (and counted) instead of processed.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.closed = False
        self.dropped = 0
        self._running: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # (`process_update`, which waits for a free slot, is final in PTB: check once in a slot;
        # dropping is instant, so the waiting ones pass through quickly.)
        if self.closed:
            self._drop(coroutine)
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await coroutine
        finally:
            if task is not None:
                self._running.discard(task)

    def _drop(self, coroutine: Awaitable[Any]) -> None:
        if inspect.iscoroutine(coroutine):
            coroutine.close()
        self.dropped += 1

    def cancel_running(self) -> int:
        """Cancel the updates still being answered; returns how many."""
        running = [task for task in self._running if not task.done()]
        for task in running:
            task.cancel()
        return len(running)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class TelegramChannel:
    """Telegram through python-telegram-bot: long polling, or a webhook on Orienta's own web
    server (`routes()`), and the admin commands `/stats` and `/reload`."""

    name = CHANNEL

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        assert settings.telegram_token, "TELEGRAM_BOT_TOKEN is required"
        self.runtime = runtime
        self.settings = settings
        self.pipeline = Pipeline(
            CHANNEL,
            lambda: runtime.engine,
            runtime.stats.record,
            FloodGuard(),
            size=100_000,
            keep=runtime.stats.keep if settings.inbox else None,
        )
        self.webhook_secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        self.application = self._build()
        runtime.on_reload_failure.append(self.notify_admins)

    def routes(self) -> list[BaseRoute]:
        """The webhook, when TELEGRAM_WEBHOOK_URL is set (at its path); none when polling."""
        if not self.settings.telegram_webhook_url:
            return []
        path = urlsplit(self.settings.telegram_webhook_url).path or "/telegram/webhook"
        return [Route(path, self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> StarletteResponse:
        """An update from Telegram: the secret header first, then the body."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        data = await read_json(request)
        if isinstance(data, StarletteResponse):
            return data
        if not await self.feed(data):
            return PlainTextResponse("bad update", status_code=400)
        return PlainTextResponse("ok")

    # ------------------------------------------------------------------ set-up

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        settings = self.settings
        timeout = settings.http_timeout
        requests = JSONRequest(
            connection_pool_size=SEND_CONNECTIONS,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        # Long polling holds its connection open: it gets its own, with room for the poll timeout.
        polling = PollingRequest(
            on_skipped=self._unreadable,
            connection_pool_size=1,
            connect_timeout=timeout,
            read_timeout=timeout + 25,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token or "")
            .base_url(settings.telegram_api_base_url)
            .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot", 1))
            .concurrent_updates(DrainingUpdateProcessor(CONCURRENT_UPDATES))
            .request(requests)
            .get_updates_request(polling)
        )
        self._rate_limiter: ChatRateLimiter | None = None
        if settings.telegram_rate_limit > 0:
            limiter: Any = ChatRateLimiter(settings.telegram_rate_limit)  # PTB types it loosely
            self._rate_limiter = limiter
            builder = builder.rate_limiter(limiter)
        if settings.telegram_webhook_url:
            builder = builder.updater(None)  # updates arrive through our own web server
        application = builder.build()
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        # Most updates are plain text: check that handler first (the filters do not overlap).
        application.add_handler(
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text)
        )
        application.add_handler(MessageHandler(private & filters.LOCATION, self.on_location))
        for name in COMMANDS:
            application.add_handler(CommandHandler(name, self.on_command, filters=private))
        application.add_handler(CommandHandler("stats", self.on_stats, filters=private))
        application.add_handler(CommandHandler("reload", self.on_reload, filters=private))
        application.add_handler(
            CommandHandler(
                "start",
                self.on_group_start,
                filters=filters.ChatType.GROUPS & filters.UpdateType.MESSAGE,
            )
        )
        application.add_handler(MessageHandler(private & filters.COMMAND, self.on_unknown_command))
        application.add_handler(
            MessageHandler(private & ~filters.TEXT & ~filters.LOCATION, self.on_unsupported)
        )
        application.add_handler(CallbackQueryHandler(self.on_press))
        application.add_error_handler(self.on_error)
        return application

    async def start(self) -> None:
        app = self.application
        await app.initialize()
        await self._set_commands()
        if self.settings.telegram_webhook_url:
            await app.bot.set_webhook(
                self.settings.telegram_webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        await app.start()
        if app.updater is not None:
            await app.bot.delete_webhook()
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                timeout=20,
                bootstrap_retries=-1,  # keep trying while the network is down at start-up
                error_callback=self._polling_error,
            )
        log.info("telegram: %s", "webhook" if self.settings.telegram_webhook_url else "polling")

    async def stop(self, deadline: float | None = None) -> None:
        """Stop fetching first, answer what was already fetched until `deadline` (loop time),
        then stop; the number of updates left unanswered is logged."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            left = await self._drain(deadline)
            if left:
                log.warning("telegram: stopping with %d fetched updates left unanswered", left)
            else:
                log.info("telegram: every fetched update was answered")
            await app.stop()
        await app.shutdown()

    async def _drain(self, deadline: float | None) -> int:
        """Answer fetched updates until `deadline`; then start no more, give the ones being
        answered a short grace (they are mid-send) and cancel what is still running.
        Returns how many fetched updates were not answered."""
        app = self.application
        processor = app.update_processor
        assert isinstance(processor, DrainingUpdateProcessor)
        finished = asyncio.ensure_future(app.update_queue.join())
        try:
            loop = asyncio.get_running_loop()
            close_at = None if deadline is None else deadline - DRAIN_GRACE
            with contextlib.suppress(TimeoutError):
                timeout = None if close_at is None else max(0.0, close_at - loop.time())
                await asyncio.wait_for(asyncio.shield(finished), timeout)
            if finished.done():
                return processor.dropped
            processor.closed = True  # the rest is dropped as each reaches the front
            with contextlib.suppress(TimeoutError):
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait_for(asyncio.shield(finished), timeout)
            cancelled = processor.cancel_running()
            if cancelled:
                log.warning("telegram: %d replies were cut off by the stop deadline", cancelled)
            return processor.dropped + cancelled
        finally:
            finished.cancel()

    async def feed(self, data: dict[str, Any]) -> bool:
        """An update received by the webhook route. False if it is not a valid update."""
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return False
        try:
            update = Update.de_json(data, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            # Well-formed but unreadable by this library version: answered 200 so Telegram
            # does not hold every later update behind it; nobody is answered for it.
            self._unreadable(type(exc).__name__)
            return True
        if update is None:
            return False
        await self.application.update_queue.put(update)
        return True

    def _unreadable(self, why: str) -> None:
        log.warning("telegram: skipped an update this version cannot read (%s)", why)

    def _polling_error(self, error: TelegramError) -> None:
        log.warning("telegram polling: %s", type(error).__name__)

    async def _set_commands(self) -> None:
        engine = self.runtime.engine
        for code in engine.content.languages:
            _ = engine.catalogs.get(code).gettext
            commands = [BotCommand(name, _(text)) for name, text in COMMAND_DESCRIPTIONS.items()]
            await self._retry(
                partial(self.application.bot.set_my_commands, commands, language_code=code)
            )
        _ = engine.catalogs.get(engine.content.default_language).gettext
        default = [BotCommand(name, _(text)) for name, text in COMMAND_DESCRIPTIONS.items()]
        await self._retry(lambda: self.application.bot.set_my_commands(default))

    # ------------------------------------------------------------------ updates

    def _hint(self, update: Update) -> str | None:
        chat, user = update.effective_chat, update.effective_user
        platform = user.language_code if user else None
        return self.pipeline.hint(chat.id, platform) if chat else platform

    def _admitted(self, update: Update) -> bool:
        """Flood control. The first message over the limit gets one polite note."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return False
        platform = user.language_code if user else None
        verdict = self.pipeline.admit(chat.id, platform)
        if verdict == Verdict.WARN:
            note = self.pipeline.slow_down(chat.id, platform)
            asyncio.get_running_loop().create_task(self._send_all(chat.id, [Outgoing(note)]))
        return verdict == Verdict.OK

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text or not self._admitted(update):
            return
        # The command as Telegram marked it ("/help" in "/help?"); anything else: the help.
        commands = message.parse_entities([MessageEntity.BOT_COMMAND])
        marked = next(iter(commands.values()), "")
        name = marked.lstrip("/").split("@")[0].lower()
        arg = " ".join(context.args or [])
        command = COMMANDS.get(name, CommandName.HELP)
        await self._respond(update, Command(command, self._hint(update), arg))

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._admitted(update):
            await self._respond(update, Command(CommandName.HELP, self._hint(update)))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None or not self._admitted(update):
            return
        await self._respond(update, Text(message.text, self._hint(update)))

    async def on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.location is None or not self._admitted(update):
            return
        where = message.location
        await self._respond(update, Location(where.latitude, where.longitude, self._hint(update)))

    async def on_unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not self._admitted(update):
            return
        await self._respond(update, Unsupported(_media_kind(message), self._hint(update)))

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        # Always answer the query, or the user's button keeps spinning.
        await self._retry(lambda: query.answer(), quiet=True)
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or not self._admitted(update):
            return
        data = query.data or ""
        response = await self.pipeline.answer(chat.id, Press(data))
        payload = decode(data)
        editable = (
            payload is not None
            and (
                payload.view.kind in NAVIGATION
                or (isinstance(payload.view, DraftView) and payload.view.op in DRAFT_STEP_OPS)
            )
            and len(response.replies) == 1
            and isinstance(response.replies[0], TextReply)
            and isinstance(query.message, Message)
        )
        if (
            editable
            and isinstance(query.message, Message)
            and await self._edit(query.message, response)
        ):
            return
        await self._deliver(chat.id, response)

    async def on_group_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        lang = self.runtime.engine.language_of(self._hint(update))
        _ = self.runtime.engine.catalogs.get(lang).gettext
        username = self.application.bot.username
        text = _(
            "I answer privately, so nobody else sees your questions. Write to me here: {link}"
        ).format(link=f"https://t.me/{username}")
        await self._retry(lambda: message.reply_text(text))

    async def _admin(self, update: Update, refusal: str) -> tuple[int, Translate] | None:
        """(chat id, translate) when the sender is an admin; otherwise sends `refusal` (a msgid)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or not self._admitted(update):
            return None
        lang = self.runtime.engine.language_of(self._hint(update))
        _ = self.runtime.engine.catalogs.get(lang).gettext
        if user.id not in self.settings.admin_ids:
            await self._send_all(chat.id, [Outgoing(_(refusal))])
            return None
        return chat.id, _

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        admin = await self._admin(
            update, N_("Sorry, usage statistics are only for the team that runs Orienta.")
        )
        if admin is None:
            return
        chat_id, _ = admin
        today = datetime.now(UTC).date()
        since30, until = last_days(today, 30)
        rows = await self.runtime.stats.rows(since30, until)
        periods = [
            (_("Last 7 days"), summarize(rows, *last_days(today, 7))),
            (_("Last 30 days"), summarize(rows, since30, until)),
        ]
        await self._send_all(chat_id, [Outgoing(text_summary(periods, _))])

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        admin = await self._admin(
            update, N_("Sorry, only the team that runs Orienta can reload content.")
        )
        if admin is None:
            return
        chat_id, _ = admin
        problems = await self.runtime.reload(reason="telegram /reload", notify=False)
        if problems is None:
            text = _("Content reloaded.")
        else:
            text = (
                _("Content NOT reloaded; still serving the last good version. Problems:")
                + "\n"
                + "\n".join(problems[:15])
            )
        await self._send_all(chat_id, [Outgoing(text)])

    async def notify_admins(self, text: str) -> None:
        """A message to every admin (reload failures). Admins who never started the bot are skipped."""
        for admin in self.settings.admin_ids:
            await self._send_all(admin, [Outgoing(text)])

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Never log the update: it holds user ids and message text.
        error = context.error
        log.error("telegram handler error: %s: %s", type(error).__name__, _safe(error))

    # ------------------------------------------------------------------ replies

    async def _respond(self, update: Update, event: Event) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        response = await self.pipeline.answer(chat.id, event)
        await self._deliver(chat.id, response)

    async def _deliver(self, chat_id: int, response: Response) -> None:
        translate = self.runtime.engine.catalogs.get(response.lang).gettext
        outgoing = [item for reply in response.replies for item in render(reply, translate)]
        await self._send_all(chat_id, outgoing)

    async def _send_all(self, chat_id: int, outgoing: list[Outgoing]) -> None:
        bot = self.application.bot
        for item in outgoing:
            if item.venue is not None:
                place = item.venue
                address = f"{place.city}, {place.state}"
                await self._retry(
                    partial(
                        bot.send_venue,
                        chat_id,
                        place.lat,
                        place.lon,
                        place.name,
                        address,
                        reply_markup=item.markup,
                    )
                )
            else:
                await self._retry(
                    partial(bot.send_message, chat_id, item.text, reply_markup=item.markup)
                )

    async def _edit(self, message: Message, response: Response) -> bool:
        reply: Reply = response.replies[0]
        translate = self.runtime.engine.catalogs.get(response.lang).gettext
        (item,) = render(reply, translate)
        markup = item.markup
        if not isinstance(markup, InlineKeyboardMarkup | None):
            return False
        try:
            await self._retry(partial(message.edit_text, item.text, reply_markup=markup))
        except BadRequest:
            return False  # too old to edit, or identical: send a new message instead
        return True

    async def _retry(self, call: Callable[[], Awaitable[T]], quiet: bool = False) -> T | None:
        """One retry layer for every call to Telegram (tenacity): network errors and timeouts
        of requests that never left are retried with backoff; a 429 waits as asked (at most
        MAX_WAIT seconds) unless the rate limiter, which already waits for 429s, is on. A request
        that timed out after it may have reached Telegram is not sent again: the user would get
        the same message twice. A blocked chat is given up quietly."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(SEND_ATTEMPTS),
            wait=_telegram_wait,
            retry=retry_if_exception(self._retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await call()
        except RetryAfter as exc:
            self._undelivered(f"Telegram asked to wait {retry_after_seconds(exc):.0f} s")
        except Forbidden:
            pass  # the user blocked the bot: nothing to do
        except TimedOut as exc:
            if not _never_sent(exc):
                log.warning("telegram: a send timed out after it may have arrived; not sent again")
            elif not quiet:
                raise
        except NetworkError:  # BadRequest included: retrying cannot help
            if not quiet:
                raise
        return None

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RetryAfter):
            # With the limiter on, it has waited already: a 429 reaching here is final.
            return self._rate_limiter is None and retry_after_seconds(exc) <= MAX_WAIT
        if isinstance(exc, Forbidden | BadRequest):
            return False
        if isinstance(exc, TimedOut):
            return _never_sent(exc)
        return isinstance(exc, NetworkError)

    def _undelivered(self, why: str) -> None:
        self.pipeline.undelivered(why)


def _telegram_wait(state: RetryCallState) -> float:
    """As long as a 429 asks (already capped by `_retryable`), else 0.5 s doubling."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetryAfter):
        return retry_after_seconds(exc)
    return 0.5 * 2.0 ** (state.attempt_number - 1)


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long a 429 asks to wait, in seconds (PTB 22 gives an int or a timedelta)."""
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return float(wait) if isinstance(wait, int | float) else wait.total_seconds()


def _never_sent(exc: TimedOut) -> bool:
    """Whether a timeout happened before the request left (no connection, or none free)."""
    cause = exc.__cause__
    return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)


def _media_kind(message: Message) -> str:
    return effective_message_type(message) or "other"


def _safe(error: BaseException | None) -> str:
    """An error description without anything a user wrote."""
    if isinstance(error, TelegramError):
        return error.message[:200]
    return type(error).__name__ if error else "unknown"


CHANNEL_TYPE = ChannelType(
    name=CHANNEL,
    enabled=lambda settings: settings.telegram_enabled,
    create=TelegramChannel,
    needs_web=lambda settings: bool(settings.telegram_webhook_url),
)
