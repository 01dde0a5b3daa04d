"""The baseline for Telegram benchmarks: a bare python-telegram-bot echo bot, built like Orienta's
Application (same timeouts, concurrency and pool) but doing nothing but echo the text back.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=... python benchmarks/echo_bot.py
"""

from __future__ import annotations

import asyncio
import os
import signal

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


def build(token: str, base_url: str):  # type: ignore[no-untyped-def]
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(64)
        .connect_timeout(10)
        .read_timeout(10)
        .write_timeout(10)
        .pool_timeout(10)
        .connection_pool_size(64)
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message and update.effective_message.text:
            await update.effective_message.reply_text(update.effective_message.text)

    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def run(token: str, base_url: str, stop: asyncio.Event) -> None:
    app = build(token, base_url)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=20, allowed_updates=[Update.MESSAGE])
    await stop.wait()
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await run(os.environ["TELEGRAM_BOT_TOKEN"], os.environ["TELEGRAM_API_BASE_URL"], stop)


if __name__ == "__main__":
    asyncio.run(main())
