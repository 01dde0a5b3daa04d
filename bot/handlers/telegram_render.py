"""Engine replies -> Telegram messages, within Telegram's limits.

Plain text (no parse mode): content can never break markup. Long texts are split at paragraph,
then line, then word boundaries. Content buttons go one per row (two when both are short), the
yes/no pair shares a row, and navigation (Back, Menu, language) gets the last row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.channels.text import split
from bot.engine.payload import Action, decode
from bot.engine.replies import Button, LocationRequest, PlaceHit, PlacesReply, Reply, TextReply

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
SHORT_LABEL = 14  # two buttons this short fit side by side on a phone


@dataclass(frozen=True)
class Outgoing:
    """One Bot API call: a text message, or a venue pin when `venue` is set."""

    text: str = ""
    markup: Markup = None
    venue: PlaceHit | None = None


def render(reply: Reply, translate: Callable[[str], str]) -> list[Outgoing]:
    """A reply as Telegram messages within Telegram's limits (split texts, inline keyboards)."""
    _ = translate
    if isinstance(reply, LocationRequest):
        share = ReplyKeyboardMarkup(
            [[KeyboardButton(_("📍 Share my location"), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        return [
            Outgoing(reply.text, share),
            Outgoing(_("Or choose:"), keyboard((), reply.nav)),
        ]
    out: list[Outgoing] = []
    if isinstance(reply, PlacesReply):
        nearest = [p for p in reply.places if p.distance_km is not None][:1]
        # The pin also clears a "Share my location" keyboard left on screen.
        out += [Outgoing(venue=place, markup=ReplyKeyboardRemove()) for place in nearest]
    assert isinstance(reply, TextReply | PlacesReply)
    chunks = split(reply.text, MessageLimit.MAX_TEXT_LENGTH)
    for chunk in chunks[:-1]:
        out.append(Outgoing(chunk))
    out.append(Outgoing(chunks[-1], keyboard(reply.buttons, reply.nav)))
    return out


class StaticKeyboard(InlineKeyboardMarkup):
    """An inline keyboard serialised once. Keyboards come from immutable content and are sent
    again and again; python-telegram-bot would rebuild the same dict for every message."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: Sequence[Sequence[InlineKeyboardButton]]) -> None:
        super().__init__(rows)
        with self._unfrozen():
            self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self._as_dict)  # a shallow copy: callers may add keys, never change rows


def keyboard(buttons: Sequence[Button], nav: Sequence[Button]) -> InlineKeyboardMarkup | None:
    return _keyboard(tuple(buttons), tuple(nav))


@lru_cache(maxsize=4096)
def _keyboard(buttons: tuple[Button, ...], nav: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    feedback: list[InlineKeyboardButton] = []
    for button in buttons:
        item = _inline(button)
        payload = decode(button.payload)
        if payload is not None and payload.action in (Action.HELPFUL, Action.NOT_HELPFUL):
            feedback.append(item)
        elif (
            rows
            and len(rows[-1]) == 1
            and _short(rows[-1][0].text)
            and _short(button.label)
            and not feedback
        ):
            rows[-1].append(item)
        else:
            rows.append([item])
    if feedback:
        rows.append(feedback)
    if nav:
        rows.append([_inline(b) for b in nav])
    return StaticKeyboard(rows) if rows else None


def _inline(button: Button) -> InlineKeyboardButton:
    if len(button.payload.encode("utf-8")) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {InlineKeyboardButtonLimit.MAX_CALLBACK_DATA} bytes")
    return InlineKeyboardButton(button.label, callback_data=button.payload)


def _short(label: str) -> bool:
    return len(label) <= SHORT_LABEL
