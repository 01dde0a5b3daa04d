"""What a channel adapter hands the engine: plain, frozen, and free of user identities."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandName(StrEnum):
    START = "start"
    MENU = "menu"
    HELP = "help"
    LANGUAGE = "language"
    ABOUT = "about"
    PRIVACY = "privacy"


@dataclass(frozen=True)
class Text:
    text: str
    lang_hint: str | None = None  # the platform's language code, e.g. Telegram's "es-MX"


@dataclass(frozen=True)
class Command:
    name: CommandName
    lang_hint: str | None = None
    arg: str = ""  # e.g. "/language en"


@dataclass(frozen=True)
class Press:
    payload: str


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    lang_hint: str | None = None


@dataclass(frozen=True)
class Unsupported:
    kind: str  # "sticker", "photo", "voice", ...
    lang_hint: str | None = None


Event = Text | Command | Press | Location | Unsupported
