"""What every channel shares at run time: the current engine and the usage store.

The engine is replaced whole on reload: a message is answered entirely from the engine that was
current when it arrived, never from half-loaded content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.content.loader import read_content
from bot.content.problems import Problem, Report
from bot.engine.engine import Engine
from bot.i18n import Catalogs
from bot.matching.matcher import Matcher
from bot.stats.store import UsageStore

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self, engine: Engine, stats: UsageStore, content_dir: Path, locale_dir: Path
    ) -> None:
        self.engine = engine
        self.stats = stats
        self.content_dir = content_dir
        self.locale_dir = locale_dir
        self.last_reload_ms = 0.0
        self._reloading = asyncio.Lock()
        self._reloaded = asyncio.Condition()
        self.generation = 0  # +1 at every reload attempt, good or bad
        self.on_reload_failure: list[Callable[[str], Awaitable[None]]] = []

    async def wait_for_generation(self, generation: int) -> None:
        """Until at least `generation` reloads have been attempted (for tests and tools)."""
        async with self._reloaded:
            await self._reloaded.wait_for(lambda: self.generation >= generation)

    async def _attempted(self) -> None:
        async with self._reloaded:
            self.generation += 1
            self._reloaded.notify_all()

    async def reload(self, reason: str = "", notify: bool = True) -> list[str] | None:
        """Load and validate the content again. On success swap the engine and return None; on
        failure keep serving the last good content, tell the admins (unless `notify` is False:
        an admin who asked gets the answer directly) and return the `file:line` errors."""
        async with self._reloading:
            started = time.perf_counter()
            engine, errors = await asyncio.to_thread(
                build_engine, self.content_dir, self.locale_dir
            )
            problems = [str(p) for p in errors]
            self.last_reload_ms = (time.perf_counter() - started) * 1000
            if engine is None:
                log.error(
                    "content reload (%s) failed; still serving the last good content:\n%s",
                    reason,
                    "\n".join(problems),
                )
                note = (
                    "Orienta: content reload failed; still serving the last good version.\n"
                    + "\n".join(problems[:15])
                )
                for tell in self.on_reload_failure if notify else []:
                    try:
                        await tell(note)
                    except Exception:  # a failed notification must not break reloading
                        log.exception("could not notify admins of the failed reload")
                await self._attempted()
                return problems
            self.engine = engine  # one assignment: the switch is atomic
            log.info("content reloaded (%s) in %.0f ms", reason, self.last_reload_ms)
            await self._attempted()
            return None


def build_engine(content_dir: Path, locale_dir: Path) -> tuple[Engine | None, list[Problem]]:
    """The engine over validated content, or None and the errors (warnings never stop it)."""
    report = Report()
    content = read_content(content_dir, report)
    if content is None or report.errors:
        return None, report.errors
    return Engine(content, Catalogs(locale_dir), Matcher(content)), []
