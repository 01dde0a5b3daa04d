"""What the engine answers: plain values that each adapter renders within its platform's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.engine.draft import KEEP, Draft, Keep
from bot.engine.recall import Kept, Question


@dataclass(frozen=True)
class Button:
    """A button: what it says and the payload it sends back when pressed."""

    label: str
    payload: str


@dataclass(frozen=True)
class TextReply:
    """A message. `buttons` are choices of content; `nav` are Back / Menu / language, kept apart
    so adapters can lay them out in their own row."""

    text: str
    buttons: tuple[Button, ...] = ()
    nav: tuple[Button, ...] = ()

    @property
    def all_buttons(self) -> tuple[Button, ...]:
        return self.buttons + self.nav


@dataclass(frozen=True)
class PlaceHit:
    """A place in a list of nearest places, with its distance from the user in km."""

    name: str
    city: str
    state: str
    lat: float
    lon: float
    distance_km: float | None  # None when listed by state rather than by distance


@dataclass(frozen=True)
class PlacesReply:
    """Grupos Beta, already described in `text`; `places` lets adapters add map pins."""

    text: str
    places: tuple[PlaceHit, ...]
    buttons: tuple[Button, ...] = ()
    nav: tuple[Button, ...] = ()

    @property
    def all_buttons(self) -> tuple[Button, ...]:
        return self.buttons + self.nav


@dataclass(frozen=True)
class LocationRequest:
    """Ask the user to share a location; each platform explains how in its own way."""

    text: str
    nav: tuple[Button, ...] = ()


Reply = TextReply | PlacesReply | LocationRequest


class UsageKind(StrEnum):
    """The anonymous events Orienta counts (never who, never what was written)."""

    MESSAGE = "message"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    BUTTON = "button"
    TREE_STEP = "tree_step"
    TREE_DONE = "tree_done"
    LOCATION = "location"
    FEEDBACK_YES = "feedback_yes"
    FEEDBACK_NO = "feedback_no"
    LANGUAGE_SET = "language_set"
    UNSUPPORTED = "unsupported"
    RATE_LIMITED = "rate_limited"
    DANGER = "danger"
    COMMAND = "command"
    UNDELIVERED = "undelivered"  # a reply dropped: the platform asked to wait too long, or failed
    DRAFT_STARTED = "draft_started"  # the complaint drafter opened (never what was written)
    DRAFT_DONE = "draft_done"  # a complaint drafted to the end; topic: the authority's kind
    DRAFT_DELETED = "draft_deleted"  # "Delete my answers" pressed
    INBOX_OFFERED = "inbox_offered"  # "Send my question to the team" shown
    INBOX_SENT = "inbox_sent"  # ...and pressed: a scrubbed question kept for staff
    # Staff working through the inbox (channel "admin" or "cli"): counts, never who.
    INBOX_PHRASING = "inbox_phrasing"
    INBOX_OUT_OF_SCOPE = "inbox_out_of_scope"
    INBOX_DELETED = "inbox_deleted"


@dataclass(frozen=True)
class Usage:
    """One anonymous count: what happened, in which language, about which topic. Nothing else."""

    kind: UsageKind
    lang: str
    topic: str = ""


@dataclass(frozen=True)
class Response:
    """The engine's answer to one event: the language it chose, the replies in order, the
    usage events to count, and the chat's complaint draft after it (`KEEP`: unchanged; None:
    there is none, or it is deleted now). For the question inbox: the question to hold in memory
    (`question`, KEEP or None likewise), whether the offer was just made (`offered`), and the
    scrubbed question the person chose to send (`keep`)."""

    lang: str
    replies: tuple[Reply, ...]
    usage: tuple[Usage, ...] = field(default=())
    draft: Draft | Keep | None = KEEP
    question: Question | Keep | None = KEEP
    offered: bool = False
    keep: Kept | None = None
