"""`orienta run` as its own process, configured for a fake Bot API (for signal and load tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.config import ROOT


async def start_orienta(
    db: Path, telegram: object | None = None, **env: str
) -> asyncio.subprocess.Process:
    """Start `python -m bot run`. `telegram` is a FakeBotAPI; `env` adds or overrides variables."""
    variables = {
        **os.environ,
        "ORIENTA_DB": str(db),
        "ORIENTA_CONTENT_POLL": "0",
        "TELEGRAM_RATE_LIMIT": "0",
    }
    if telegram is not None:
        variables["TELEGRAM_BOT_TOKEN"] = telegram.token  # type: ignore[attr-defined]
        variables["TELEGRAM_API_BASE_URL"] = telegram.base_url  # type: ignore[attr-defined]
    variables.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def stop_orienta(process: asyncio.subprocess.Process, timeout: float = 15.0) -> int:
    """SIGTERM, then wait; killed if it does not stop in time (which fails the caller's check)."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -9
    return int(process.returncode or 0)
