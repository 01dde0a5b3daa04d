"""The terminal channel: a conversation on stdin/stdout, buttons shown as numbers.

1-9...        press the numbered button
/menu /start /help /about /privacy
/lang en      change language (also /language)
/loc LAT LON  share a location
Ctrl-D        quit
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.channels.pipeline import Pipeline
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Event, Location, Press, Text
from bot.engine.recall import Kept
from bot.engine.replies import (
    Button,
    LocationRequest,
    PlacesReply,
    Reply,
    Response,
    TextReply,
    Usage,
)

CHANNEL = "console"
COMMANDS = {
    "start": CommandName.START,
    "menu": CommandName.MENU,
    "help": CommandName.HELP,
    "about": CommandName.ABOUT,
    "privacy": CommandName.PRIVACY,
    "lang": CommandName.LANGUAGE,
    "language": CommandName.LANGUAGE,
    "idioma": CommandName.LANGUAGE,
}


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


class ConsoleChat:
    """Keeps only what a terminal needs: the current language and the buttons on screen."""

    def __init__(
        self,
        engine: Engine,
        out: TextIO,
        lang: str | None = None,
        count: Callable[[Iterable[Usage]], None] | None = None,
        keep: Callable[[Kept], None] | None = None,
    ) -> None:
        self.engine = engine
        self.out = out
        self.lang = engine.language_of(lang)
        self.buttons: list[Button] = []
        counter = count or (lambda usage: None)
        # The same per-message steps as every channel; one user, so no flood guard.
        # Questions sent to the team go where `keep` puts them (`orienta chat`: the usage
        # database); without it the console never offers to send one.
        self.pipeline = Pipeline(
            CHANNEL,
            lambda: engine,
            lambda _channel, usage: counter(usage),
            keep=(lambda _channel, kept: keep(kept)) if keep else None,
        )

    def start(self) -> None:
        self.show(self.pipeline.answer_now(CHANNEL, Command(CommandName.START, self.lang)))

    def run(self, lines: Iterable[str]) -> None:
        self.start()
        for line in lines:
            self.handle_line(line)

    def handle_line(self, line: str) -> None:
        event = self.parse(line.strip())
        if event is not None:
            self.show(self.pipeline.answer_now(CHANNEL, event))

    def parse(self, line: str) -> Event | None:
        if not line:
            return None
        if line.isdigit():
            index = int(line) - 1
            if 0 <= index < len(self.buttons):
                return Press(self.buttons[index].payload)
            self._say(
                self._t("There is no option {n}. Type one of the numbers shown.").format(n=line)
            )
            return None
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            name = name.lower()
            if name == "loc":
                return self._location(arg)
            if name in COMMANDS:
                return Command(COMMANDS[name], self.lang, arg.strip())
            return Command(CommandName.HELP, self.lang)
        return Text(line, self.lang)

    def _location(self, arg: str) -> Event | None:
        # "16.55 -94.90", "16.55, -94.90" (as map apps copy it) or "16,55 -94,90" (decimal commas).
        numbers = _NUMBER.findall(arg)
        try:
            lat, lon = (float(n.replace(",", ".")) for n in numbers)
        except ValueError:
            self._say(
                self._t(
                    "To share a location type /loc LATITUDE LONGITUDE, for example /loc 32.53 -117.04"
                )
            )
            return None
        return Location(lat, lon, self.lang)

    def show(self, response: Response) -> None:
        self.lang = response.lang
        self.buttons = []
        for reply in response.replies:
            self._render(reply)

    def _render(self, reply: Reply) -> None:
        lines = [reply.text]
        if isinstance(reply, LocationRequest):
            lines.append(
                self._t(
                    "In the terminal, type /loc LATITUDE LONGITUDE, for example /loc 32.53 -117.04"
                )
            )
            buttons: tuple[Button, ...] = reply.nav
        elif isinstance(reply, TextReply | PlacesReply):
            buttons = reply.all_buttons
        if isinstance(reply, PlacesReply):
            # A terminal shows no map: the coordinates (city centres) and a link to open one.
            for place in reply.places:
                lines.append(
                    f"📍 {place.name}: {place.lat:.2f}, {place.lon:.2f} "
                    f"https://www.openstreetmap.org/?mlat={place.lat:.2f}&mlon={place.lon:.2f}"
                    f"#map=12/{place.lat:.2f}/{place.lon:.2f}"
                )
        for button in buttons:
            self.buttons.append(button)
            lines.append(f"  {len(self.buttons)}) {button.label}")
        self._say("\n".join(lines))

    def _say(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()

    def _t(self, message: str) -> str:
        return self.engine.catalogs.gettext(self.lang, message)
