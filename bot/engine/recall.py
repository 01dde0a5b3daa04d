"""What a channel remembers of a chat for the question inbox, handed to the engine with each
event: the chat's last question (only in memory, so that "Send my question to the team" can
work) and whether the offer was already made in this conversation.

The engine stays pure: it reads a `Recall` and says in its response what to remember next
(`Response.question`, `Response.offered`) and what the person chose to give (`Response.keep`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """A typed question and what the matcher made of it. Held in memory only, replaced by the
    next message, forgotten after 30 minutes; stored (scrubbed) only on the person's press."""

    text: str
    lang: str
    guesses: tuple[str, ...] = ()  # the matcher's best topics, best first
    answered: str = ""  # the topic it was answered with ("" when not understood)


@dataclass(frozen=True)
class Recall:
    """`question`: the chat's last question, if still held. `offered`: the offer was made in
    this conversation already (it is made once). `can_keep`: the channel has somewhere to keep
    a question (the inbox is on and a store is wired); when False nothing is ever offered."""

    question: Question | None = None
    offered: bool = False
    can_keep: bool = False


@dataclass(frozen=True)
class Kept:
    """A question the person chose to give, scrubbed of anything that identifies anyone, with
    its language and the matcher's guesses. No chat, time or channel message id: the store
    adds the channel and the day."""

    text: str
    lang: str
    guesses: tuple[str, ...] = ()
