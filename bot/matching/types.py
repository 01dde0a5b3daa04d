"""What a matcher says about a message, and the contract every matcher keeps.

The engine depends on these alone, not on a matcher's implementation: the learned matcher and the
lexical (BM25F) predecessor both keep the `TextMatcher` contract, and `build_engine` chooses one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Intent(StrEnum):
    """What kind of message it is, before any topic."""

    TOPIC = "topic"
    NONE = "none"  # nothing matched with confidence
    GREETING = "greeting"
    THANKS = "thanks"
    EMPTY = "empty"  # no words at all: emoji only, punctuation, blank
    COMMAND = "command"  # a command typed as a word ("menú", "english"): set by the engine


@dataclass(frozen=True)
class Scored:
    """A candidate topic and how sure the matcher is of it."""

    topic: str
    score: float  # orders candidates: a probability for the learned matcher
    coverage: float  # how sure: 0..1 (the probability again, or BM25's share of the query)


@dataclass(frozen=True)
class Match:
    """What a matcher found in a message: its language, intent and topic, the alternatives, and
    whether it is a cry for help (`danger`)."""

    lang: str
    intent: Intent
    topic: str | None = None
    score: float = 0.0  # confidence in `topic`, 0..1
    alternatives: tuple[str, ...] = ()  # the next most likely topics, best first
    close_call: bool = False  # the first alternative is likely too: offer it beside the answer
    danger: bool = False
    candidates: tuple[Scored, ...] = field(default=(), repr=False)
    semantic: bool = False  # whether the embedding was computed for this message


class TextMatcher(Protocol):
    """Finds the topic of a message (scikit-learn's `predict`, with the language and reasons)."""

    def match(self, text: str, hint: str | None = None, lang: str | None = None) -> Match:
        """The topic of `text`. `hint` is the language the platform or the chat suggests; `lang`
        forces the language (the text does not decide it then)."""
        ...
