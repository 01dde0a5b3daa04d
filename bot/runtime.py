"""What every channel shares at run time: the current engine and the usage store.

The engine is replaced whole on reload: a message is answered entirely from the engine that was
current when it arrived, never from half-loaded content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from bot.config import Settings
from bot.content.loader import read_content, served_languages
from bot.content.model import Content
from bot.content.problems import Problem, Report
from bot.engine.engine import Engine
from bot.engine.views import ENGINE_CHECKS
from bot.i18n import Catalogs
from bot.matching.cache import SHIPPED, ModelCache
from bot.matching.embedder import Embedder, make_embedder
from bot.matching.matcher import Matcher
from bot.matching.training import Progress
from bot.stats.store import CountingStore

log = logging.getLogger(__name__)


class Runtime:
    """What a running `orienta run` shares: the current engine (swapped whole on a reload), the
    usage store, where the content lives, and who to tell when a reload fails."""

    def __init__(
        self,
        engine: Engine,
        stats: CountingStore,
        content_dir: Path,
        locale_dir: Path,
        matching: Matching | None = None,
    ) -> None:
        self.engine = engine
        self.stats = stats
        self.content_dir = content_dir
        self.locale_dir = locale_dir
        self.matching = matching
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

    def _dropping(self, dropped: set[str]) -> str:
        return (
            f"{self.content_dir / 'languages.yaml'}:1: the running bot serves "
            f"{', '.join(sorted(dropped))}, which this content drops: restart to remove a language"
        )

    async def reload(self, reason: str = "", notify: bool = True) -> list[str] | None:
        """Load and validate the content again. On success swap the engine and return None; on
        failure keep serving the last good content, tell the admins (unless `notify` is False:
        an admin who asked gets the answer directly) and return the `file:line` errors."""
        async with self._reloading:
            started = time.perf_counter()
            serving = set(self.engine.content.languages)
            listed = set(served_languages(self.content_dir))
            engine: Engine | None = None
            if listed and serving - listed:
                # Refused before any model is fitted for content that cannot go live anyway.
                problems = [self._dropping(serving - listed)]
            else:
                engine, errors = await asyncio.to_thread(
                    build_engine, self.content_dir, self.locale_dir, self.matching
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


_IN_MEMORY: Matching | None = None


class Matching:
    """How matchers are built, shared by every (re)load of one process: the on-disk model cache
    and the sentence embedder (None: lexical only)."""

    def __init__(
        self, cache: ModelCache, embedder: Embedder | None, progress: Progress | None = None
    ) -> None:
        self.cache = cache
        self.embedder = embedder
        self.progress = progress

    @classmethod
    def from_settings(cls, settings: Settings, progress: Progress | None = None) -> Matching:
        """Raises EmbedderUnavailable when ORIENTA_EMBEDDINGS asks for one that cannot run."""
        cache = ModelCache(settings.cache_dir, shipped=settings.content_dir / SHIPPED)
        return cls(cache, make_embedder(settings.embeddings), progress)

    @classmethod
    def in_memory(cls) -> Matching:
        """Lexical only, models kept in this process (tools and tests that build many engines
        over the same content fit once)."""
        global _IN_MEMORY
        if _IN_MEMORY is None:
            _IN_MEMORY = cls(ModelCache(None), None)
        return _IN_MEMORY

    def matcher(self, content: Content) -> Matcher:
        return Matcher(content, partial(self.cache.models, progress=self.progress), self.embedder)


def build_engine(
    content_dir: Path, locale_dir: Path, matching: Matching | None = None
) -> tuple[Engine | None, list[Problem]]:
    """The engine over validated content, or None and the errors (warnings never stop it).

    Without `matching`, the models are fitted lexical only and kept in memory (tests, tools)."""
    report = Report()
    content = read_content(content_dir, report, checks=ENGINE_CHECKS)
    if content is None or report.errors:
        return None, report.errors
    matcher = (matching or Matching.in_memory()).matcher(content)
    return Engine(content, Catalogs(locale_dir, content.default_language), matcher), []
