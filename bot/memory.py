"""Per-chat memory that forgets: bounded in size and in time, never written to disk.

Used for what a channel must remember between messages (a chat's chosen language, flood
counters, WhatsApp message ids already answered). Chat ids live here only, hashed is not needed
because nothing here is persisted or logged.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """A dict whose items vanish `ttl` seconds after they were last set; at most `size` items."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, default: V | None = None) -> V | None:
        item = self._items.get(key)
        if item is None:
            return default
        expires, value = item
        if expires <= self.clock():
            del self._items[key]
            return default
        return value

    def set(self, key: K, value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = (self.clock() + self.ttl, value)
        self._evict()

    def add(self, key: K) -> bool:
        """Remember `key` (as a set would); False if it was already remembered."""
        if self.get(key) is not None:
            return False
        self.set(key, True)  # type: ignore[arg-type]
        return True

    def __len__(self) -> int:
        self._evict()
        return len(self._items)

    def _evict(self) -> None:
        now = self.clock()
        while self._items:
            key, (expires, _) = next(iter(self._items.items()))
            if expires > now and len(self._items) <= self.size:
                break
            del self._items[key]


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
        self._recent: ExpiringMap[object, list[float]] = ExpiringMap(window, size, clock)
        self._paused: ExpiringMap[object, bool] = ExpiringMap(pause, size, clock)

    def check(self, chat: object) -> str:
        """'ok', 'warn' (first message over the limit: say slow down once) or 'drop'."""
        if self._paused.get(chat):
            return "drop"
        now = self.clock()
        recent = [t for t in (self._recent.get(chat) or []) if t > now - self.window]
        recent.append(now)
        self._recent.set(chat, recent)
        if len(recent) > self.limit:
            self._paused.set(chat, True)
            self._recent.set(chat, [])
            return "warn"
        return "ok"
