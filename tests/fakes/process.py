"""`orienta run` as its own process, configured for a fake Bot API (for signal and load tests)."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

from bot.config import ROOT


async def start_orienta(
    db: Path, telegram: object | None = None, open_files: int | None = None, **env: str
) -> asyncio.subprocess.Process:
    """Start `python -m bot run`. `telegram` is a FakeBotAPI; `env` adds or overrides variables;
    `open_files` sets both the soft and the hard open-files limit of the process."""
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
        preexec_fn=None if open_files is None else lambda: _limit_files(open_files),
    )


def _limit_files(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


class StderrLog:
    """Reads a process's stderr as it is written (so the pipe never fills), keeping every line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        self._stream = process.stderr
        self._changed = asyncio.Condition()
        self._done = False
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while line := await self._stream.readline():
            async with self._changed:
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._done = True
            self._changed.notify_all()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first line matching `pattern`, once it has been written."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := regex.search(line))), None)

        async def wait() -> re.Match[str]:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None or self._done)
            match = found()
            if match is None:
                raise AssertionError(f"the process ended without logging {pattern!r}:\n{self.text}")
            return match

        return await asyncio.wait_for(wait(), timeout)

    async def finished(self) -> str:
        await self._task
        return self.text


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
