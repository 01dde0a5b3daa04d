"""A complaint being drafted: the only per-chat state the engine sees.

The engine never stores it: it receives a chat's draft with each event and returns the next one
in its response (`Response.draft`). The channel's pipeline keeps it in memory only, for 30 minutes
after the last step (`bot.channels.pipeline.DRAFT_MEMORY`), and never writes it anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import Enum


@dataclass(frozen=True)
class Answer:
    """One step's answer: options pressed, or typed text, or a day ("today", "yesterday") and
    the time typed after it."""

    picks: tuple[str, ...] = ()  # option ids
    text: str = ""  # as typed, never translated or changed
    day: date | None = None
    time: str = ""  # typed after a day button, as typed


@dataclass(frozen=True)
class Draft:
    """The answers so far, the step being asked (an index into the drafter's steps) and the
    language the person is drafting in."""

    lang: str
    step: int = 0
    answers: tuple[tuple[str, Answer], ...] = ()

    def answer(self, step_id: str) -> Answer | None:
        return next((a for s, a in self.answers if s == step_id), None)

    def with_answer(self, step_id: str, answer: Answer | None) -> Draft:
        """This draft with `step_id` answered (or cleared, with None)."""
        rest = tuple((s, a) for s, a in self.answers if s != step_id)
        return replace(self, answers=rest if answer is None else (*rest, (step_id, answer)))

    def at(self, step: int, lang: str | None = None) -> Draft:
        return replace(self, step=step, lang=lang or self.lang)


class Keep(Enum):
    """`Response.draft` when the event left the chat's draft as it was."""

    KEEP = "keep"


KEEP = Keep.KEEP
