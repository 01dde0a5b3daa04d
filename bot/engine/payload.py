"""Button payloads: everything a press needs travels in the button, so the engine keeps no state.

A payload is `action|lang|kind|arg`, at most 64 bytes of UTF-8 (Telegram's callback-data limit).
`action` says what the press does (show a view, switch language, give feedback); `kind` and `arg`
name the view. Each kind of view is a typed dataclass (aiogram's `CallbackData` is the model):
`pack()` joins its fields with ":" and refuses a field holding a separator, `unpack()` mirrors it
and refuses anything malformed (wrong number of fields, a non-ASCII-digit number). Payloads from
an older content version still unpack; the engine then finds their node or topic gone and shows
the menu.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.limits import BUTTON_PAYLOAD

SEPARATOR = "|"  # between action, language, kind and the view's arguments
FIELD = ":"  # between a view's own fields


class Action(StrEnum):
    SHOW = "v"
    SWITCH_LANGUAGE = "l"
    HELPFUL = "y"
    NOT_HELPFUL = "n"


class Kind(StrEnum):
    MENU = "m"
    TOPIC = "t"
    NODE = "n"
    OUTCOME = "o"  # an option that leads to topics
    LISTED = "a"  # an answer chosen from an outcome's list
    STATES = "s"  # the list of states with a Grupo Beta
    STATE = "g"  # the Grupos Beta of one state
    LOCATION = "p"  # ask the user to share a location
    LANGUAGES = "L"  # the language chooser
    TOPIC_LANGUAGES = "T"  # the chooser, opened from an answer: a choice shows that answer
    NODE_LANGUAGES = "N"  # the chooser, opened from a guided step: a choice shows that step
    DRAFT = "d"  # a step of the complaint drafter
    DRAFT_LANGUAGES = "W"  # the chooser, opened from the drafter: a choice shows the same step
    INBOX = "q"  # "Send my question to the team": `tag` names the question it was offered for
    KINDS = "K"  # what kinds of places are near a point
    NEAR = "k"  # the places of one kind nearest to a point
    COUNTRIES = "c"  # the countries with a consulate, for a point
    CONSULATES = "C"  # one country's consulates nearest to a point


class PayloadError(ValueError):
    """A view or payload that cannot be packed (a separator in a field, over 64 bytes)."""


@dataclass(frozen=True)
class View:
    """Something a button shows. Subclasses declare `kind` and their typed fields (str or int)."""

    kind: ClassVar[Kind]

    def pack(self) -> str:
        """The view's arguments as they travel in a payload."""
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise PayloadError(f"{type(self).__name__}.{field.name} must be a count")
                parts.append(str(value))
            else:
                text = str(value)
                if not text or FIELD in text or SEPARATOR in text:
                    raise PayloadError(
                        f"{type(self).__name__}.{field.name}={text!r}: empty or holds a separator"
                    )
                parts.append(text)
        return FIELD.join(parts)

    def pack_lenient(self) -> str:
        """The arguments as text even when they cannot travel (for error messages)."""
        return FIELD.join(str(getattr(self, f.name)) for f in dataclasses.fields(self))

    @classmethod
    def unpack(cls, arg: str) -> View | None:
        """The view these arguments name, or None for anything malformed."""
        fields = dataclasses.fields(cls)
        if not fields:
            return cls() if arg == "" else None
        raw = arg.split(FIELD)
        if len(raw) != len(fields):
            return None
        values: list[str | int] = []
        for field, text in zip(fields, raw, strict=True):
            if field.type == "int":
                # ASCII digits only: "²".isdigit() is True and int("²") fails.
                if not (text.isascii() and text.isdigit()) or len(text) > 4:
                    return None
                values.append(int(text))
            elif text:
                values.append(text)
            else:
                return None
        return cls(*values)


@dataclass(frozen=True)
class MenuView(View):
    kind = Kind.MENU


@dataclass(frozen=True)
class TopicView(View):
    kind = Kind.TOPIC
    topic: str


@dataclass(frozen=True)
class NodeView(View):
    kind = Kind.NODE
    tree: str
    node: str


@dataclass(frozen=True)
class OutcomeView(View):
    kind = Kind.OUTCOME
    tree: str
    node: str
    option: int

    def listed(self, index: int) -> ListedView:
        return ListedView(self.tree, self.node, self.option, index)


@dataclass(frozen=True)
class ListedView(View):
    kind = Kind.LISTED
    tree: str
    node: str
    option: int
    index: int

    @property
    def outcome(self) -> OutcomeView:
        return OutcomeView(self.tree, self.node, self.option)


@dataclass(frozen=True)
class StatesView(View):
    kind = Kind.STATES


@dataclass(frozen=True)
class StateView(View):
    kind = Kind.STATE
    state: str


@dataclass(frozen=True)
class LocationView(View):
    kind = Kind.LOCATION


@dataclass(frozen=True)
class LanguagesView(View):
    kind = Kind.LANGUAGES


@dataclass(frozen=True)
class TopicLanguagesView(View):
    kind = Kind.TOPIC_LANGUAGES
    topic: str


@dataclass(frozen=True)
class NodeLanguagesView(View):
    kind = Kind.NODE_LANGUAGES
    tree: str
    node: str


class DraftOp(StrEnum):
    """What a drafter button does."""

    START = "s"  # open the drafter (or offer to continue the draft in progress)
    RESUME = "r"  # show the step the draft is at
    NEW = "n"  # drop the draft in progress and start again
    PICK = "p"  # press an option of the step
    SKIP = "k"
    DONE = "d"  # finish a step where several options can be chosen
    BACK = "b"
    DELETE = "x"


@dataclass(frozen=True)
class DraftView(View):
    """A drafter button. `step` is the step it was shown at (a press from an older step only
    shows the current one); `option` the option's index, else 0. The answers themselves never
    travel in a payload."""

    kind = Kind.DRAFT
    op: str
    step: int = 0
    option: int = 0

    @classmethod
    def unpack(cls, arg: str) -> View | None:
        view = super().unpack(arg)
        if not isinstance(view, DraftView) or view.op not in set(DraftOp):
            return None
        return view


@dataclass(frozen=True)
class DraftLanguagesView(View):
    kind = Kind.DRAFT_LANGUAGES


@dataclass(frozen=True)
class InboxView(View):
    kind = Kind.INBOX
    tag: str


@dataclass(frozen=True)
class Point(View):
    """A view about a point: `lat` and `lon` as text with two decimals (about 1 km, the
    precision of the city-centre coordinates). A shared location is rounded to this before it
    goes into a button, and it is never stored."""

    lat: str
    lon: str

    @property
    def coordinates(self) -> tuple[float, float]:
        return float(self.lat), float(self.lon)

    @classmethod
    def unpack(cls, arg: str) -> View | None:
        view = super().unpack(arg)
        if not isinstance(view, Point):
            return None
        try:
            lat, lon = view.coordinates
        except ValueError:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also refuses nan and inf
            return None
        return view


def point(lat: float, lon: float) -> tuple[str, str]:
    return f"{lat:.2f}", f"{lon:.2f}"


@dataclass(frozen=True)
class KindsView(Point):
    kind = Kind.KINDS


@dataclass(frozen=True)
class NearView(Point):
    kind = Kind.NEAR
    place_kind: str = "grupo_beta"


@dataclass(frozen=True)
class CountriesView(Point):
    kind = Kind.COUNTRIES


@dataclass(frozen=True)
class ConsulatesView(Point):
    kind = Kind.CONSULATES
    country: str = ""


VIEWS: dict[Kind, type[View]] = {
    view.kind: view
    for view in (
        MenuView,
        TopicView,
        NodeView,
        OutcomeView,
        ListedView,
        StatesView,
        StateView,
        LocationView,
        LanguagesView,
        TopicLanguagesView,
        NodeLanguagesView,
        DraftView,
        DraftLanguagesView,
        InboxView,
        KindsView,
        NearView,
        CountriesView,
        ConsulatesView,
    )
}


@dataclass(frozen=True)
class Payload:
    """What a button carries: an action, the language and a view (`pack`/`unpack`)."""

    action: Action
    lang: str
    view: View

    def pack(self) -> str:
        """The payload as a button carries it; PayloadError past 64 bytes or with a separator."""
        if not self.lang or SEPARATOR in self.lang:
            raise PayloadError(f"language {self.lang!r} cannot travel in a payload")
        data = SEPARATOR.join(
            (self.action.value, self.lang, self.view.kind.value, self.view.pack())
        )
        if len(data.encode("utf-8")) > BUTTON_PAYLOAD:
            raise PayloadError(f"payload over {BUTTON_PAYLOAD} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str) -> Payload | None:
        """The payload, or None for anything forged, truncated or malformed."""
        if not data or len(data.encode("utf-8", "surrogatepass")) > BUTTON_PAYLOAD:
            return None
        parts = data.split(SEPARATOR, 3)
        if len(parts) != 4:
            return None
        action, lang, kind, arg = parts
        try:
            view_type = VIEWS[Kind(kind)]
            view = view_type.unpack(arg)
            return None if view is None else cls(Action(action), lang, view)
        except ValueError:
            return None


def encode(action: Action, lang: str, view: View) -> str:
    """`Payload(action, lang, view).pack()`. Validation checks every payload the content can
    produce, so a PayloadError here is a programming error."""
    return Payload(action, lang, view).pack()


def decode(data: str) -> Payload | None:
    """`Payload.unpack(data)`: the payload, or None for anything forged, truncated or malformed."""
    return Payload.unpack(data)
