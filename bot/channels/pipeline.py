"""The work every channel does for each message, written once.

aiogram runs every update through a middleware chain; Orienta's chain is short and fixed, so it
is one class with one method per step, in the order a channel calls them:

1. `admit(chat)`: the flood guard. Over 20 messages a minute a chat gets one "slow down" note
   (`slow_down`) and is then ignored for a minute; each refusal is counted (`rate_limited`).
2. `hint(chat, platform_hint)`: the language to try first: the one this chat used in the last
   six hours, else what the platform says about the user (only a hint: the text decides).
3. `answer(chat, event)`: the engine's response; free text runs off the event loop (it may run
   a sentence embedding), everything else inline.
4. `count(chat, response)`: remember the chat's language, keep or drop its complaint draft,
   and count the usage events. Done by `answer`.
5. `undelivered(why)`: a reply the platform would not take is logged (never its recipient) and
   counted.

Inside `with pipeline.holding() as held:` nothing is counted or kept yet: it is collected in
`held`, for `release(held)` to pass on at once, or for nobody. WhatsApp holds a delivery's counts
until it knows the delivery is its own to count (several workers may receive one delivery), and
then writes them in the same transaction that marks the delivery done.

The console uses the same steps synchronously (`answer_now`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from cachetools import TTLCache

from bot.engine.draft import Draft
from bot.engine.engine import Engine
from bot.engine.events import Event, Text
from bot.engine.recall import Kept, Question, Recall
from bot.engine.replies import Response, Usage, UsageKind
from bot.i18n import N_
from bot.memory import FloodGuard, Verdict, forgetting

log = logging.getLogger(__name__)

LANGUAGE_MEMORY = 6 * 3600.0  # seconds a chat's language is remembered after its last message
# Seconds a complaint draft lives after its last step. It is held here, in this process's memory,
# and nowhere else: never on disk, in the stats, the logs or the shared database. With several
# workers a draft stays in the worker that holds it (README, "Several workers").
DRAFT_MEMORY = 30 * 60.0
# Seconds a chat's last question is held (in memory) so that "Send my question to the team" can
# work; the next message replaces it. It reaches disk only on that press, scrubbed.
QUESTION_MEMORY = 30 * 60.0
SLOW_DOWN = N_("You are sending many messages. Please wait a minute, then write again.")

Record = Callable[[str, Iterable[Usage]], None]
Keep = Callable[[str, Kept], None]  # (channel, a question the person chose to send)


def _ignore(channel: str, usage: Iterable[Usage]) -> None:
    pass


@dataclass
class Held:
    """What a message would have counted and kept, held back (`Pipeline.holding`)."""

    usage: list[Usage] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    released: bool = False  # once released, what comes after is passed on at once


# Per task (each conversation is answered in its own asyncio task): a context variable rather than
# an argument threaded through every step and every send.
_HELD: ContextVar[Held | None] = ContextVar("held", default=None)


class Pipeline:
    """Per-message steps shared by every channel.

    Args:
        channel: the channel's name in usage counts.
        engine: returns the current engine (it changes on a content reload).
        record: where usage events go (`UsageStore.record`); nothing is counted without it.
        flood: the flood guard; None for a channel with one trusted user (the console).
        size: at most this many chats remembered at once (the oldest are forgotten first).
        keep: where questions people choose to send go (`CountingStore.keep`); without it, or
            with ORIENTA_INBOX=off, the offer is never made.
    """

    def __init__(
        self,
        channel: str,
        engine: Callable[[], Engine],
        record: Record = _ignore,
        flood: FloodGuard | None = None,
        size: int = 200_000,
        keep: Keep | None = None,
    ) -> None:
        self.channel = channel
        self._engine = engine
        self._record = record
        self.flood = flood
        self.languages: TTLCache[Hashable, str] = forgetting(LANGUAGE_MEMORY, size)
        self.drafts: TTLCache[Hashable, Draft] = forgetting(DRAFT_MEMORY, size)
        self.questions: TTLCache[Hashable, Question] = forgetting(QUESTION_MEMORY, size)
        # Chats that were offered the inbox: once a conversation (as long as the language).
        self.offered: TTLCache[Hashable, bool] = forgetting(LANGUAGE_MEMORY, size)
        self._keep = keep
        # Free text is answered in worker threads, but matching is mostly Python, which holds
        # the GIL: more threads at once than cores only fight over it (measured: a WhatsApp
        # burst was answered 2.6 times slower with 6 threads matching at once than with 2).
        # The cores this process may run on: a worker pinned to one (CPUAffinity=) matches in one.
        self._matching = asyncio.Semaphore(usable_cores())

    @property
    def engine(self) -> Engine:
        return self._engine()

    # ------------------------------------------------------------------ the steps

    def admit(self, chat: Hashable, platform_hint: str | None = None) -> Verdict:
        """OK to answer; WARN: send `slow_down()` once; DROP: ignore. Refusals are counted."""
        if self.flood is None:
            return Verdict.OK
        verdict = self.flood.check(chat)
        if verdict != Verdict.OK:
            self.record([Usage(UsageKind.RATE_LIMITED, self.language(chat, platform_hint))])
        return verdict

    def admit_refused(self, chat: Hashable, platform_hint: str | None = None) -> None:
        """Count a message refused before the flood guard saw it (a channel's own queue full)."""
        self.record([Usage(UsageKind.RATE_LIMITED, self.language(chat, platform_hint))])

    def slow_down(self, chat: Hashable, platform_hint: str | None = None) -> str:
        """The "slow down" note, in the chat's language."""
        lang = self.language(chat, platform_hint)
        return self.engine.catalogs.gettext(lang, SLOW_DOWN)

    def hint(self, chat: Hashable, platform_hint: str | None = None) -> str | None:
        return self.languages.get(chat) or platform_hint

    def language(self, chat: Hashable, platform_hint: str | None = None) -> str:
        """The language to speak to this chat before it says anything (a served language)."""
        return self.engine.language_of(self.hint(chat, platform_hint))

    async def answer(self, chat: Hashable, event: Event) -> Response:
        """The engine's response to `event`, counted. Free text may run a sentence embedding
        (tens of milliseconds of C code that releases the GIL), so with embeddings on it is
        answered in a worker thread and the loop keeps serving other chats; nothing else calls
        a model."""
        engine = self.engine
        draft, recall = self.drafts.get(chat), self.recall(chat)
        # Only a sentence embedding (C that releases the GIL) is worth a worker thread: lexical
        # matching is Python, about a millisecond, and a thread hop would only add to it.
        if isinstance(event, Text) and getattr(engine.matcher, "semantic", False):
            async with self._matching:
                response = await asyncio.to_thread(engine.handle, event, draft, recall)
        else:
            response = engine.handle(event, draft, recall)
        self.count(chat, response)
        return response

    def answer_now(self, chat: Hashable, event: Event) -> Response:
        """`answer` without an event loop (the console)."""
        response = self.engine.handle(event, self.drafts.get(chat), self.recall(chat))
        self.count(chat, response)
        return response

    def recall(self, chat: Hashable) -> Recall:
        return Recall(self.questions.get(chat), chat in self.offered, self._keep is not None)

    def count(self, chat: Hashable, response: Response) -> None:
        self.languages[chat] = response.lang
        if response.draft is None:
            self.drafts.pop(chat, None)
        elif isinstance(response.draft, Draft):
            self.drafts[chat] = response.draft  # set again: 30 more minutes from this step
        if response.question is None:
            self.questions.pop(chat, None)
        elif isinstance(response.question, Question):
            self.questions[chat] = response.question
        if response.offered:
            self.offered[chat] = True
        if response.keep is not None and self._keep is not None:
            held = _HELD.get()
            if held is not None and not held.released:
                held.kept.append(response.keep)
            else:
                self._keep(self.channel, response.keep)
        self.record(response.usage)

    def record(self, usage: Iterable[Usage]) -> None:
        held = _HELD.get()
        if held is not None and not held.released:
            held.usage.extend(usage)
        else:
            self._record(self.channel, usage)

    @contextlib.contextmanager
    def holding(self) -> Iterator[Held]:
        """Collect what this task counts and keeps instead of passing it on (see the top)."""
        held = Held()
        token = _HELD.set(held)
        try:
            yield held
        finally:
            _HELD.reset(token)

    def release(self, held: Held) -> None:
        """Pass on what `holding` collected: counted and kept now, and from now on at once."""
        self._record(self.channel, held.usage)
        if self._keep is not None:
            for kept in held.kept:
                self._keep(self.channel, kept)
        held.usage, held.kept, held.released = [], [], True

    def undelivered(self, why: str) -> None:
        log.warning("%s: a reply was not sent (%s)", self.channel, why)
        self.record([Usage(UsageKind.UNDELIVERED, "")])


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), not all the machine has."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform (macOS)
        return os.cpu_count() or 2
