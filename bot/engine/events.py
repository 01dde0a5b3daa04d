"""What a channel adapter hands the engine: plain, frozen, and free of user identities."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandName(StrEnum):
    """The commands every channel offers."""

    START = "start"
    MENU = "menu"
    HELP = "help"
    LANGUAGE = "language"
    ABOUT = "about"
    PRIVACY = "privacy"


@dataclass(frozen=True)
class Text:
    """A message in the user's words. `lang_hint`: the language the platform or the chat suggests."""

    text: str
    lang_hint: str | None = None  # the platform's language code, e.g. Telegram's "es-MX"


@dataclass(frozen=True)
class Command:
    """A command (`/start`, `/language en`); `arg` is what followed it."""

    name: CommandName
    lang_hint: str | None = None
    arg: str = ""  # e.g. "/language en"


@dataclass(frozen=True)
class Press:
    """A button press; `payload` is the button's data, untrusted (it may be forged or stale)."""

    payload: str


@dataclass(frozen=True)
class Location:
    """A shared location (WGS 84 degrees), used to rank Grupos Beta and then dropped."""

    lat: float
    lon: float
    lang_hint: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """A sticker, photo, voice note... `kind` names it; the engine answers with a polite note."""

    kind: str  # "sticker", "photo", "voice", ...
    lang_hint: str | None = None


Event = Text | Command | Press | Location | Unsupported
