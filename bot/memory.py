"""Per-chat memory that forgets: bounded in size and in time, never written to disk.

What a channel must remember between messages (a chat's chosen language, flood counters,
WhatsApp deliveries already answered) lives in `cachetools.TTLCache`s: an item vanishes `ttl`
seconds after it was last set, and the oldest go first when the cache is full. Chat ids live
here only; nothing here is persisted or logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from enum import StrEnum
from typing import Any

from cachetools import TTLCache


def forgetting(
    ttl: float, size: int, clock: Callable[[], float] = time.monotonic
) -> TTLCache[Any, Any]:
    """A dict whose items vanish `ttl` seconds after they were last set; at most `size` items."""
    return TTLCache(maxsize=size, ttl=ttl, timer=clock)


class Verdict(StrEnum):
    """What the flood guard says about a chat's next message."""

    OK = "ok"
    WARN = "warn"  # the first message over the limit: say "slow down" once
    DROP = "drop"  # paused: ignore quietly


class FloodGuard:
    """Allows `limit` messages per `window` seconds per chat; then one warning and a pause."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        pause: float = 60.0,
        size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.pause, self.clock = limit, window, pause, clock
        self._recent: TTLCache[Hashable, list[float]] = forgetting(window, size, clock)
        self._paused: TTLCache[Hashable, bool] = forgetting(pause, size, clock)

    def check(self, chat: Hashable) -> Verdict:
        if self._paused.get(chat):
            return Verdict.DROP
        now = self.clock()
        recent = [t for t in self._recent.get(chat, []) if t > now - self.window]
        recent.append(now)
        self._recent[chat] = recent
        if len(recent) > self.limit:
            self._paused[chat] = True
            self._recent[chat] = []
            return Verdict.WARN
        return Verdict.OK
