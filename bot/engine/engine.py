"""The engine: one event in, the replies a user sees out. Synchronous, no I/O, no per-user state.

Everything a button needs to know travels in its payload (see `payload.py`), so any adapter can
hand any press to any engine instance, and a content reload never strands a conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.content.model import Content
from bot.engine import geo
from bot.engine.draft import Draft
from bot.engine.drafting import Drafting, mexico_today
from bot.engine.events import Command, CommandName, Event, Location, Press, Text, Unsupported
from bot.engine.inbox import Inbox
from bot.engine.payload import (
    Action,
    DraftOp,
    DraftView,
    InboxView,
    MenuView,
    Payload,
    TopicView,
    decode,
)
from bot.engine.places import FAR_KM, NEAREST_COUNT
from bot.engine.recall import Recall
from bot.engine.replies import (
    Button,
    PlaceHit,
    PlacesReply,
    Reply,
    Response,
    TextReply,
    Usage,
    UsageKind,
)
from bot.engine.screens import Screens, _guides
from bot.i18n import Catalogs, base_language
from bot.matching.analyzer import fold
from bot.matching.types import Intent, Match, TextMatcher


class Engine(Screens, Drafting, Inbox):
    """The bot's behaviour: events in, replies out; pure and synchronous.

    Args:
        content: validated, immutable content.
        catalogs: UI strings per language.
        matcher: what finds a message's topic (`build_engine` injects the learned matcher, with
            or without sentence embeddings); the lexical rules-only one when left out.
        today: the date, for the drafter's "today" and "yesterday" buttons.
    """

    def __init__(
        self,
        content: Content,
        catalogs: Catalogs,
        matcher: TextMatcher | None = None,
        today: Callable[[], date] = mexico_today,
    ) -> None:
        if matcher is None:
            from bot.matching.matcher import Matcher

            matcher = Matcher(content)
        self.content = content
        self.catalogs = catalogs
        self.matcher = matcher
        self.today = today
        self._guides = {code: _guides(lang) for code, lang in content.languages.items()}
        self._topic_views: dict[tuple[str, str], TextReply] = {}
        self._typed = _typed_commands(content)

    # ------------------------------------------------------------------ entry point

    def handle(
        self, event: Event, draft: Draft | None = None, recall: Recall | None = None
    ) -> Response:
        """The response to `event`. `draft`: the chat's complaint draft, if one is open; the
        response says what it becomes (`Response.draft`). `recall`: what the channel holds for
        the question inbox (nothing is offered without it)."""
        recall = recall or Recall()
        if isinstance(event, Press):
            payload = decode(event.payload)
            if payload is not None and payload.lang in self.content.languages:
                if isinstance(payload.view, DraftView):
                    return self.draft_press(payload, draft)
                if isinstance(payload.view, InboxView):
                    return self.keep_press(payload.lang, payload.view, recall)
                if payload.action is Action.NOT_HELPFUL and isinstance(payload.view, TopicView):
                    response = self._handle(event)
                    response = self.after_not_helpful(payload.view.topic, response, recall)
                    return self.with_continue(response) if draft is not None else response
        if isinstance(event, Text):
            if draft is not None:
                typed = self.draft_text(event, draft)
                if typed is not None:
                    return typed
            start = self._drafter_start(event, draft)
            if start is not None:
                return start
        if (
            draft is not None
            and isinstance(event, Command)
            and event.name is CommandName.LANGUAGE
            and event.arg.strip().lower() in self.content.languages
        ):
            return self.draft_language(event.arg.strip().lower(), draft)
        if isinstance(event, Text):
            found, response = self.answer(event)  # a typed command comes back as Intent.COMMAND
            response = self.after_text(event, found, response, recall)
        else:
            response = self._handle(event)
        return self.with_continue(response) if draft is not None else response

    def _drafter_start(self, event: Text, draft: Draft | None) -> Response | None:
        """The drafter, when a short message asks for it ("help me write a complaint") and
        nobody is in danger; in the language it is written in."""
        if self._typed.get(_command_key(event.text)) is not None:
            return None
        wanting = [code for code in self.content.languages if self.wants_drafter(event.text, code)]
        if not wanting:
            return None
        found = self.match(event.text, event.lang_hint, None)
        if found.danger:
            return None
        lang = next(
            (c for c in (draft.lang if draft else None, found.lang) if c in wanting), wanting[0]
        )
        return self.draft_press(Payload(Action.SHOW, lang, DraftView(DraftOp.START)), draft)

    def _handle(self, event: Event) -> Response:
        match event:
            case Text():
                return self.answer(event)[1]
            case Command():
                return self._command(event)
            case Press():
                return self._press(event.payload)
            case Location():
                return self._location(event)
            case Unsupported():
                return self._unsupported(event)
        raise TypeError(f"not an event: {event!r}")  # pragma: no cover - exhaustive above

    def match(self, text: str, hint: str | None = None, lang: str | None = None) -> Match:
        return self.matcher.match(text, hint, lang)

    def language_of(self, hint: str | None) -> str:
        code = base_language(hint)
        return (
            code
            if code is not None and code in self.content.languages
            else self.content.default_language
        )

    # ------------------------------------------------------------------ events

    def answer(self, event: Text, lang: str | None = None) -> tuple[Match, Response]:
        """The match behind the answer, and the answer. `lang` forces the language."""
        typed = self._typed.get(_command_key(event.text))
        if typed is not None:
            # A command typed as a word ("menú", "inicio", "english", "ayuda"): the command.
            name, arg, word_lang = typed
            # A word several languages use ("menu") says nothing of the language: the platform's
            # language code decides, else the default.
            code = lang or word_lang or self.language_of(event.lang_hint)
            return Match(code, Intent.COMMAND), self._command(Command(name, code, arg))
        found = self.match(event.text, event.lang_hint, lang)
        lang, _ = found.lang, self._t(found.lang)
        usage = [Usage(UsageKind.MESSAGE, lang)]
        replies: list[Reply] = []
        if found.danger:
            replies.append(self._emergency(lang))
            usage.append(Usage(UsageKind.DANGER, lang))
        if found.intent is Intent.TOPIC and found.topic:
            answer = self._topic(lang, found.topic)
            if found.close_call and found.alternatives:
                # Two needs in one message ("they asked me for a bribe and I want to complain"):
                # answer the likelier, offer the other first among the buttons.
                answer = self._with_runner_up(lang, answer, found.alternatives[0])
            replies.append(answer)
            usage.append(Usage(UsageKind.ANSWERED, lang, found.topic))
        elif found.intent is Intent.GREETING:
            replies.append(self._menu(lang, _("Hi! I am Orienta. ") + self._menu_intro(lang)))
        elif found.intent is Intent.THANKS:
            replies.append(
                self._menu(
                    lang,
                    _(
                        "You're welcome. Take care! If you need anything else, write to me or choose a topic:"
                    ),
                )
            )
        elif not found.danger:
            replies.append(
                self._menu(
                    lang,
                    _(
                        "Sorry, I did not understand. Try other words, for example “they asked me for money at the checkpoint”, or choose a topic:"
                    ),
                )
            )
            usage.append(Usage(UsageKind.UNANSWERED, lang))
        else:
            usage.append(Usage(UsageKind.UNANSWERED, lang))
        return found, Response(lang, tuple(replies), tuple(usage))

    def _command(self, event: Command) -> Response:
        lang = self.language_of(event.lang_hint)
        _ = self._t(lang)
        usage = [Usage(UsageKind.COMMAND, lang, event.name.value)]
        match event.name:
            case CommandName.START:
                reply: Reply = self._menu(lang, self._welcome(lang))
            case CommandName.MENU:
                reply = self._menu(lang)
            case CommandName.HELP:
                reply = self._menu(lang, self._help(lang))
            case CommandName.ABOUT:
                reply = self._topic(lang, self.content.roles.about)
            case CommandName.PRIVACY:
                reply = self._topic(lang, self.content.roles.privacy)
            case CommandName.LANGUAGE:
                wanted = event.arg.strip().lower()
                if wanted in self.content.languages:
                    _ = self._t(wanted)
                    usage.append(Usage(UsageKind.LANGUAGE_SET, wanted))
                    name = self.content.languages[wanted].name
                    return Response(
                        wanted,
                        (
                            self._menu(
                                wanted,
                                _("Language: {name}.").format(name=name)
                                + " "
                                + self._menu_intro(wanted),
                            ),
                        ),
                        tuple(usage),
                    )
                reply = self._languages(lang)
        return Response(lang, (reply,), tuple(usage))

    def _press(self, data: str) -> Response:
        payload = decode(data)
        if payload is None or payload.lang not in self.content.languages:
            lang = (
                payload.lang
                if payload and payload.lang in self.content.languages
                else self.content.default_language
            )
            return self._expired(lang)
        lang = payload.lang
        usage = [Usage(UsageKind.BUTTON, lang)]
        if payload.action is Action.SWITCH_LANGUAGE:
            usage.append(Usage(UsageKind.LANGUAGE_SET, lang))
        elif payload.action in (Action.HELPFUL, Action.NOT_HELPFUL):
            return self._feedback(payload, usage)
        shown = self._view(lang, payload.view, usage)
        if shown is None:
            return self._expired(lang)
        return Response(lang, (shown,), tuple(usage))

    def _location(self, event: Location) -> Response:
        lang = self.language_of(event.lang_hint)
        _ = self._t(lang)
        if not geo.valid_coordinates(event.lat, event.lon):
            return Response(
                lang,
                (
                    self._menu(
                        lang,
                        _(
                            "That location does not look valid. Try sharing it again, or choose your state:"
                        ),
                    ),
                ),
            )
        ranked = geo.nearest(self.content.beta, event.lat, event.lon, NEAREST_COUNT)
        lines = [_("The nearest Grupos Beta to the place you shared:")]
        hits = []
        for number, (place, km) in enumerate(ranked, 1):
            lines.append(self._distance_line(lang, number, place, km))
            hits.append(PlaceHit(place.name, place.city, place.state, place.lat, place.lon, km))
        if ranked and ranked[0][1] > FAR_KM:
            lines.append(_("They are all far from you. If you need help now, call 911."))
        lines.append(self._beta_caveat(lang))
        reply = PlacesReply(
            "\n".join(lines),
            tuple(hits),
            buttons=(
                # Shelters, COMAR, consulates, help for deported Mexicans near the same place.
                *self._kind_buttons(lang, event.lat, event.lon, skip=("grupo_beta",)),
                *self._topic_buttons(
                    lang, (self.content.roles.beta_services, self.content.roles.route_selfcare)
                ),
                self._state_button(lang),
            ),
            nav=self._nav(lang, MenuView()),
        )
        return Response(lang, (reply,), (Usage(UsageKind.LOCATION, lang),))

    def _unsupported(self, event: Unsupported) -> Response:
        lang = self.language_of(event.lang_hint)
        _ = self._t(lang)
        text = _(
            "I cannot open stickers, photos, audio, videos or files. I understand written messages, buttons and a shared location. Write your question, or share your location to find the nearest Grupo Beta."
        )
        return Response(lang, (self._menu(lang, text),), (Usage(UsageKind.UNSUPPORTED, lang),))

    def _feedback(self, payload: Payload, usage: list[Usage]) -> Response:
        lang, view = payload.lang, payload.view
        _ = self._t(lang)
        entries = self.content.languages[lang].entries
        if not isinstance(view, TopicView) or view.topic not in entries:
            return self._expired(lang)
        topic = view.topic
        if payload.action is Action.HELPFUL:
            usage.append(Usage(UsageKind.FEEDBACK_YES, lang, topic))
            text = _("Thank you! Your answer helps us improve.")
            buttons: tuple[Button, ...] = ()
        else:
            usage.append(Usage(UsageKind.FEEDBACK_NO, lang, topic))
            text = _("Thank you for telling us. Try asking in other words, or talk to a person:")
            buttons = self._topic_buttons(lang, (self.content.roles.human_help,))
        reply = TextReply(text, buttons, self._nav(lang, MenuView()))
        return Response(lang, (reply,), tuple(usage))

    # ------------------------------------------------------------------ views

    # ------------------------------------------------------------------ pieces


def _command_key(text: str) -> str:
    """A message as a typed command: folded, outer spaces and quiet punctuation removed. An
    exclamation mark is not quiet: "ayuda!!" is a call for help, not a request for /help."""
    return fold(text).strip().strip(".?¿ ").strip()


def _typed_commands(content: Content) -> dict[str, tuple[CommandName, str, str | None]]:
    """Word -> (command, argument, the language it belongs to, or None when several share it)."""
    found: dict[str, tuple[CommandName, str, str | None]] = {}
    for code, language in content.languages.items():
        pairs = [
            (w, CommandName(name), "") for name, words in language.commands.items() for w in words
        ]
        pairs += [(w, CommandName.LANGUAGE, code) for w in language.names]
        for word, name, arg in pairs:
            key = _command_key(word)
            if key in found and found[key][:2] == (name, arg):
                found[key] = (name, arg, None)  # the same word in two languages ("menu")
            else:
                found.setdefault(key, (name, arg, code))
    return found
