"""Button payloads: everything a press needs travels in the button, so the engine keeps no state.

A payload is `action|lang|kind|arg`, at most 64 bytes of UTF-8 (Telegram's callback-data limit).
`action` says what the press does (show a view, switch language, give feedback); `kind` and `arg`
name the view. A payload from an older content version still decodes; the engine then finds its
node or topic gone and shows the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.limits import BUTTON_PAYLOAD


class Action(StrEnum):
    SHOW = "v"
    SWITCH_LANGUAGE = "l"
    HELPFUL = "y"
    NOT_HELPFUL = "n"


class Kind(StrEnum):
    MENU = "m"
    TOPIC = "t"  # arg: topic id
    NODE = "n"  # arg: tree id ":" node id
    OUTCOME = "o"  # arg: tree id ":" node id ":" option index; an option that leads to topics
    LISTED = "a"  # arg: OUTCOME's arg ":" topic index; an answer chosen from that list
    STATES = "s"  # the list of states with a Grupo Beta
    STATE = "g"  # arg: state name; the Grupos Beta of that state
    LOCATION = "p"  # ask the user to share a location
    LANGUAGES = "L"  # the language chooser


@dataclass(frozen=True)
class View:
    kind: Kind
    arg: str = ""


@dataclass(frozen=True)
class Payload:
    action: Action
    lang: str
    view: View

    def encode(self) -> str:
        return f"{self.action.value}|{self.lang}|{self.view.kind.value}|{self.view.arg}"


def encode(action: Action, lang: str, view: View) -> str:
    data = Payload(action, lang, view).encode()
    if len(data.encode("utf-8")) > BUTTON_PAYLOAD:
        # Validation checks every payload the content can produce, so this is a programming error.
        raise ValueError(f"payload over {BUTTON_PAYLOAD} bytes: {data!r}")
    return data


def decode(data: str) -> Payload | None:
    """The payload, or None for anything forged, truncated or malformed."""
    if not data or len(data.encode("utf-8", "surrogatepass")) > BUTTON_PAYLOAD:
        return None
    parts = data.split("|", 3)
    if len(parts) != 4:
        return None
    action, lang, kind, arg = parts
    try:
        return Payload(Action(action), lang, View(Kind(kind), arg))
    except ValueError:
        return None
