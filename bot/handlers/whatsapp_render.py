"""Engine replies -> WhatsApp Cloud API message bodies, within WhatsApp's limits.

Up to 3 short options become reply buttons (title <= 20); up to 10 become a list (row title <= 24,
description <= 72, body <= 1024); more are split over several messages, content first and
navigation last. A text too long for an interactive body is sent as plain text (<= 4096 per
message) followed by the buttons under a short prompt. The nearest Grupo Beta also goes out as a
location message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot import limits
from bot.channels.text import split
from bot.engine.replies import Button, LocationRequest, PlacesReply, Reply, TextReply

Body = dict[str, Any]


def render(reply: Reply, translate: Callable[[str], str]) -> list[Body]:
    """The message bodies for one reply, without `to` and `messaging_product` (added at send)."""
    _ = translate
    if isinstance(reply, LocationRequest):
        ask = {
            "type": "interactive",
            "interactive": {
                "type": "location_request_message",
                "body": {"text": _fit(reply.text, limits.WHATSAPP_INTERACTIVE_BODY)},
                "action": {"name": "send_location"},
            },
        }
        return [ask, *_choices(_("Or choose:"), reply.nav, _)]
    bodies: list[Body] = []
    if isinstance(reply, PlacesReply):
        for place in [p for p in reply.places if p.distance_km is not None][:1]:
            bodies.append(
                {
                    "type": "location",
                    "location": {
                        "latitude": place.lat,
                        "longitude": place.lon,
                        "name": place.name,
                        "address": f"{place.city}, {place.state}",
                    },
                }
            )
    assert isinstance(reply, TextReply | PlacesReply)
    buttons = list(reply.buttons) + list(reply.nav)
    if not buttons:
        return bodies + [_text(piece) for piece in split(reply.text, limits.WHATSAPP_TEXT)]
    if len(reply.text) <= limits.WHATSAPP_INTERACTIVE_BODY:
        return bodies + _choices(reply.text, buttons, _, content=len(reply.buttons))
    bodies += [_text(piece) for piece in split(reply.text, limits.WHATSAPP_TEXT)]
    return bodies + _choices(_("Choose an option:"), buttons, _, content=len(reply.buttons))


def _text(body: str) -> Body:
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def _choices(
    body: str, buttons: Sequence[Button], _: Callable[[str], str], content: int | None = None
) -> list[Body]:
    """Buttons as reply buttons or lists. `content` = how many of them are content (not nav)."""
    buttons = list(buttons)
    if not buttons:
        return [_text(body)]
    if len(buttons) <= limits.WHATSAPP_REPLY_BUTTONS and all(
        len(b.label) <= limits.WHATSAPP_BUTTON_TITLE for b in buttons
    ):
        return [_reply_buttons(body, buttons)]
    if len(buttons) <= limits.WHATSAPP_LIST_ROWS:
        return [_list(body, buttons, _)]
    # More than one list holds: content rows in lists of 10, navigation after them.
    content = len(buttons) if content is None else content
    head, nav = buttons[:content], buttons[content:]
    out = []
    for start in range(0, len(head), limits.WHATSAPP_LIST_ROWS):
        out.append(
            _list(
                body if start == 0 else _("More options:"),
                head[start : start + limits.WHATSAPP_LIST_ROWS],
                _,
            )
        )
    if nav:
        out.extend(_choices(_("Navigate:"), nav, _, content=len(nav)))
    return out


def _reply_buttons(body: str, buttons: Sequence[Button]) -> Body:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": _fit(body, limits.WHATSAPP_INTERACTIVE_BODY)},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {
                            "id": b.payload,
                            "title": _fit(b.label, limits.WHATSAPP_BUTTON_TITLE),
                        },
                    }
                    for b in buttons
                ]
            },
        },
    }


def _list(body: str, buttons: Sequence[Button], _: Callable[[str], str]) -> Body:
    rows = []
    for button in buttons:
        row: dict[str, str] = {
            "id": button.payload,
            "title": _fit(button.label, limits.WHATSAPP_LIST_ROW_TITLE),
        }
        if len(button.label) > limits.WHATSAPP_LIST_ROW_TITLE:
            row["description"] = _fit(button.label, limits.WHATSAPP_LIST_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": _fit(body, limits.WHATSAPP_INTERACTIVE_BODY)},
            "action": {
                "button": _fit(_("Options"), limits.WHATSAPP_BUTTON_TITLE),
                "sections": [{"rows": rows}],
            },
        },
    }


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
