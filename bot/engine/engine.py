"""The engine: one event in, the replies a user sees out. Synchronous, no I/O, no per-user state.

Everything a button needs to know travels in its payload (see `payload.py`), so any adapter can
hand any press to any engine instance, and a content reload never strands a conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.content.model import Content, Entry, Language, Tree
from bot.engine import geo
from bot.engine.events import Command, CommandName, Event, Location, Press, Text, Unsupported
from bot.engine.payload import (
    Action,
    LanguagesView,
    ListedView,
    LocationView,
    MenuView,
    NodeView,
    OutcomeView,
    Payload,
    StatesView,
    StateView,
    TopicView,
    View,
    decode,
    encode,
)
from bot.engine.replies import (
    Button,
    LocationRequest,
    PlaceHit,
    PlacesReply,
    Reply,
    Response,
    TextReply,
    Usage,
    UsageKind,
)
from bot.i18n import Catalogs, base_language
from bot.matching.analyzer import fold
from bot.matching.types import Intent, Match, TextMatcher

NEAREST_COUNT = 3
FAR_KM = 300.0  # beyond this the "nearest" group is no practical help on foot
RELATED_MAX = 3

Translate = Callable[[str], str]


class Engine:
    """The bot's behaviour: events in, replies out; pure and synchronous.

    Args:
        content: validated, immutable content.
        catalogs: UI strings per language.
        matcher: what finds a message's topic (`build_engine` injects the learned matcher, with
            or without sentence embeddings); the lexical rules-only one when left out.
    """

    def __init__(
        self, content: Content, catalogs: Catalogs, matcher: TextMatcher | None = None
    ) -> None:
        if matcher is None:
            from bot.matching.matcher import Matcher

            matcher = Matcher(content)
        self.content = content
        self.catalogs = catalogs
        self.matcher = matcher
        self._guides = {code: _guides(lang) for code, lang in content.languages.items()}
        self._topic_views: dict[tuple[str, str], TextReply] = {}
        self._typed = _typed_commands(content)

    # ------------------------------------------------------------------ entry point

    def handle(self, event: Event) -> Response:
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
        ranked = geo.nearest(self.content.places, event.lat, event.lon, NEAREST_COUNT)
        lines = [_("The nearest Grupos Beta to the place you shared:")]
        hits = []
        for number, (place, km) in enumerate(ranked, 1):
            # Coordinates are city centres: under 1 km a figure would be false precision.
            line = (
                _("{n}. {name} – {city}, {state}: less than 1 km")
                if km < 1
                else _("{n}. {name} – {city}, {state}: about {km} km")
            )
            lines.append(
                line.format(
                    n=number, name=place.name, city=place.city, state=place.state, km=_round_km(km)
                )
            )
            hits.append(PlaceHit(place.name, place.city, place.state, place.lat, place.lon, km))
        if ranked and ranked[0][1] > FAR_KM:
            lines.append(_("They are all far from you. If you need help now, call 911."))
        lines.append(self._beta_caveat(lang))
        reply = PlacesReply(
            "\n".join(lines),
            tuple(hits),
            buttons=(
                *self._topic_buttons(lang, (self.content.roles.beta_services,)),
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

    def _view(self, lang: str, view: View, usage: list[Usage]) -> Reply | None:
        language = self.content.languages[lang]
        match view:
            case MenuView():
                return self._menu(lang)
            case LanguagesView():
                return self._languages(lang)
            case TopicView(topic=topic):
                if topic not in language.entries:
                    return None
                usage.append(Usage(UsageKind.ANSWERED, lang, topic))
                return self._topic(lang, topic)
            case NodeView(tree=tree_id, node=node_id):
                tree = language.trees.get(tree_id)
                if tree is None or node_id not in tree.nodes:
                    return None
                usage.append(Usage(UsageKind.TREE_STEP, lang, tree_id))
                return self._node(lang, tree, node_id)
            case OutcomeView():
                return self._outcome(lang, view, usage)
            case ListedView():
                return self._listed(lang, view, usage)
            case StatesView():
                return self._states(lang)
            case StateView(state=state):
                if state not in self.content.states:
                    return None
                return self._groups_in_state(lang, state)
            case LocationView():
                return self._ask_location(lang)
        return None

    def _menu(self, lang: str, text: str | None = None) -> TextReply:
        language = self.content.languages[lang]
        buttons = []
        for item in language.menu:
            if item.target in language.trees:
                tree = language.trees[item.target]
                buttons.append(
                    Button(
                        tree.title,
                        encode(Action.SHOW, lang, NodeView(tree.id, tree.start)),
                    )
                )
            elif item.target in language.entries:
                buttons.append(
                    Button(
                        language.entries[item.target].title,
                        encode(Action.SHOW, lang, TopicView(item.target)),
                    )
                )
        nav = self._language_buttons(lang, MenuView())
        return TextReply(text or self._menu_intro(lang), tuple(buttons), nav)

    def _topic(self, lang: str, topic: str) -> TextReply:
        # Content is immutable, so an answer's view never changes: build it once.
        key = (lang, topic)
        view = self._topic_views.get(key)
        if view is None:
            view = self._topic_views[key] = self._build_topic(lang, topic)
        return view

    def _build_topic(self, lang: str, topic: str) -> TextReply:
        _ = self._t(lang)
        entry = self.content.languages[lang].entries[topic]
        buttons: list[Button] = []
        guide = self._guides[lang].get(topic)
        if guide is not None:
            buttons.append(
                Button(
                    _("🧭 Guide me step by step"),
                    encode(Action.SHOW, lang, NodeView(guide.id, guide.start)),
                )
            )
        buttons.extend(self._topic_buttons(lang, entry.related[:RELATED_MAX]))
        view = TopicView(topic)
        buttons.append(Button(_("👍 Yes"), encode(Action.HELPFUL, lang, view)))
        buttons.append(Button(_("👎 No"), encode(Action.NOT_HELPFUL, lang, view)))
        parts = [entry.title, entry.answer]
        if topic == self.content.roles.about:
            parts.append(self._operator(lang))
        parts += [self._source_line(lang, entry), _("Was this helpful?")]
        text = "\n\n".join(parts)
        return TextReply(text, tuple(buttons), self._nav(lang, view))

    def _node(self, lang: str, tree: Tree, node_id: str) -> TextReply:
        _ = self._t(lang)
        node = tree.nodes[node_id]
        buttons = []
        for index, option in enumerate(node.options):
            view: View
            if option.next is not None:
                view = NodeView(tree.id, option.next)
            elif option.action == "share_location":
                view = LocationView()
            elif option.action == "choose_state":
                view = StatesView()
            else:
                view = OutcomeView(tree.id, node_id, index)
            buttons.append(Button(option.label, encode(Action.SHOW, lang, view)))
        parent = tree.parents.get(node_id)
        back = NodeView(tree.id, parent) if parent else MenuView()
        return TextReply(
            node.prompt,
            tuple(buttons),
            self._nav(lang, NodeView(tree.id, node_id), back),
        )

    def _outcome(self, lang: str, view: OutcomeView, usage: list[Usage]) -> TextReply | None:
        _ = self._t(lang)
        topics = self._option_topics(lang, view)
        if not topics:
            return None
        usage.append(Usage(UsageKind.TREE_DONE, lang, view.tree))
        back = NodeView(view.tree, view.node)
        if len(topics) == 1:
            usage.append(Usage(UsageKind.ANSWERED, lang, topics[0]))
            answer = self._topic(lang, topics[0])
            return TextReply(answer.text, answer.buttons, self._nav(lang, view, back))
        entries = self.content.languages[lang].entries
        buttons = tuple(
            Button(entries[t].title, encode(Action.SHOW, lang, view.listed(k)))
            for k, t in enumerate(topics)
            if t in entries
        )
        return TextReply(
            _("These answers can help you. Choose one:"), buttons, self._nav(lang, view, back)
        )

    def _listed(self, lang: str, view: ListedView, usage: list[Usage]) -> TextReply | None:
        """An answer chosen from a list of answers: Back returns to the list."""
        topics = self._option_topics(lang, view.outcome)
        if (
            view.index >= len(topics)
            or topics[view.index] not in self.content.languages[lang].entries
        ):
            return None
        topic = topics[view.index]
        usage.append(Usage(UsageKind.ANSWERED, lang, topic))
        answer = self._topic(lang, topic)
        return TextReply(answer.text, answer.buttons, self._nav(lang, view, view.outcome))

    def _option_topics(self, lang: str, view: OutcomeView) -> tuple[str, ...]:
        """The topics an outcome's option leads to; empty when the option is gone."""
        tree = self.content.languages[lang].trees.get(view.tree)
        if tree is None or view.node not in tree.nodes:
            return ()
        options = tree.nodes[view.node].options
        return options[view.option].topics if view.option < len(options) else ()

    def _with_runner_up(self, lang: str, answer: TextReply, topic: str) -> TextReply:
        extra = self._topic_buttons(lang, (topic,))
        if not extra:
            return answer
        rest = tuple(b for b in answer.buttons if b != extra[0])
        return TextReply(answer.text, (*extra, *rest), answer.nav)

    def _languages(self, lang: str) -> TextReply:
        _ = self._t(lang)
        codes = sorted(
            self.content.languages, key=lambda c: (c != self.content.default_language, c)
        )
        buttons = tuple(
            Button(
                self.content.languages[code].name,
                encode(Action.SWITCH_LANGUAGE, code, MenuView()),
            )
            for code in codes
        )
        return TextReply(
            _("Choose your language:"),
            buttons,
            self._nav(lang, MenuView(), with_language=False),
        )

    def _states(self, lang: str) -> TextReply:
        _ = self._t(lang)
        buttons = tuple(
            Button(state, encode(Action.SHOW, lang, StateView(state)))
            for state in self.content.states
        )
        back = self._find_beta_start(lang)
        return TextReply(
            _("Choose a state. Grupos Beta work in these states:"),
            buttons,
            self._nav(lang, StatesView(), back),
        )

    def _groups_in_state(self, lang: str, state: str) -> PlacesReply:
        _ = self._t(lang)
        places = [p for p in self.content.places if p.state == state]
        if places:
            lines = [_("Grupos Beta in {state}:").format(state=state)]
            lines += [f"• {p.name} – {p.city}" for p in places]
        else:
            lines = [
                _(
                    "Official sources say there is a Grupo Beta in {state}, but we could not verify in which city."
                ).format(state=state)
            ]
        lines.append(self._beta_caveat(lang))
        hits = tuple(PlaceHit(p.name, p.city, p.state, p.lat, p.lon, None) for p in places)
        return PlacesReply(
            "\n".join(lines),
            hits,
            self._topic_buttons(lang, (self.content.roles.beta_services,)),
            self._nav(lang, StateView(state), StatesView()),
        )

    def _ask_location(self, lang: str) -> LocationRequest:
        _ = self._t(lang)
        text = _(
            "Share your location and I will tell you which Grupos Beta are nearest. I only use it for this answer and do not save it."
        )
        return LocationRequest(
            text,
            (
                self._state_button(lang),
                *self._nav(lang, LocationView(), self._find_beta_start(lang)),
            ),
        )

    # ------------------------------------------------------------------ pieces

    def _t(self, lang: str) -> Translate:
        return self.catalogs.get(lang).gettext

    def _welcome(self, lang: str) -> str:
        _ = self._t(lang)
        return (
            _(
                "Hi! I am Orienta. I give free information about your rights as a migrant or traveller in Mexico: Paisano trips, complaints against officials, your rights whatever your papers, safety and the Grupos Beta. I do not ask your name and I do not save your messages."
            )
            + "\n\n"
            + self._menu_intro(lang)
        )

    def _menu_intro(self, lang: str) -> str:
        _ = self._t(lang)
        return _("Write your question in your own words, or choose a topic:")

    def _help(self, lang: str) -> str:
        _ = self._t(lang)
        return _(
            "Write your question in your own words, for example “how much can I bring without paying taxes” or “they asked me for a bribe”. My answers come from public official sources and the press, with the source under each answer. I am not a lawyer.\n\n/menu – main menu\n/language – change language\n/about – who runs this service\n/privacy – what we store\n\nTo find the nearest Grupo Beta, share your location: on WhatsApp or Telegram, tap 📎 and then Location; in the terminal, type /loc and the coordinates, for example /loc 16.55, -94.90. In an emergency call 911."
        )

    def _operator(self, lang: str) -> str:
        _ = self._t(lang)
        operator = self.content.operator
        if operator.name and operator.contact:
            return _("This service is run by {name}. Contact: {contact}").format(
                name=operator.name, contact=operator.contact
            )
        return _(
            "Whoever runs this copy of Orienta has not yet said who they are or how to reach them."
        )

    def _source_line(self, lang: str, entry: Entry) -> str:
        _ = self._t(lang)
        return _("Source: {source}\nReviewed: {date}").format(
            source=" · ".join(entry.source), date=entry.reviewed.isoformat()
        )

    def _beta_caveat(self, lang: str) -> str:
        _ = self._t(lang)
        return _(
            "Locations are approximate (the city, not the office). We have no verified phone number or address for any Grupo Beta. Their agents wear orange and help whatever your papers. In an emergency call 911."
        )

    def _emergency(self, lang: str) -> TextReply:
        """The danger banner: emergency numbers first; then the way to the nearest Grupo Beta,
        what to do in an emergency, and the menu."""
        _ = self._t(lang)
        language = self.content.languages[lang]
        find = self._find_beta_start(lang)
        if isinstance(find, MenuView):
            find = LocationView()
        buttons = [Button(_("📍 Find a Grupo Beta"), encode(Action.SHOW, lang, find))]
        buttons += self._topic_buttons(lang, (self.content.roles.emergency,))
        nav = (Button(_("🏠 Menu"), encode(Action.SHOW, lang, MenuView())),)
        return TextReply(language.safety.message, tuple(buttons), nav)

    def _expired(self, lang: str) -> Response:
        _ = self._t(lang)
        reply = self._menu(lang, _("That button no longer works. Here is the menu:"))
        return Response(lang, (reply,), (Usage(UsageKind.BUTTON, lang),))

    def _topic_buttons(self, lang: str, topics: Iterable[str]) -> tuple[Button, ...]:
        entries = self.content.languages[lang].entries
        return tuple(
            Button(entries[t].title, encode(Action.SHOW, lang, TopicView(t)))
            for t in topics
            if t in entries
        )

    def _state_button(self, lang: str) -> Button:
        _ = self._t(lang)
        return Button(_("🗺️ Choose a state"), encode(Action.SHOW, lang, StatesView()))

    def _find_beta_start(self, lang: str) -> View:
        tree = self.content.languages[lang].trees.get(self.content.roles.find_beta)
        return NodeView(tree.id, tree.start) if tree else MenuView()

    def _nav(
        self, lang: str, here: View, back: View | None = None, with_language: bool = True
    ) -> tuple[Button, ...]:
        """Back (when there is somewhere to go back to), Menu, and the language switch."""
        _ = self._t(lang)
        nav = []
        if back is not None and not isinstance(back, MenuView):
            nav.append(Button(_("⬅️ Back"), encode(Action.SHOW, lang, back)))
        nav.append(Button(_("🏠 Menu"), encode(Action.SHOW, lang, MenuView())))
        if with_language:
            nav.extend(self._language_buttons(lang, here))
        return tuple(nav)

    def _language_buttons(self, lang: str, here: View) -> tuple[Button, ...]:
        """With two languages, one tap switches and stays on the same screen; with more, a chooser."""
        others = [code for code in self.content.languages if code != lang]
        if len(others) == 1:
            other = others[0]
            return (
                Button(
                    f"🌐 {self.content.languages[other].name}",
                    encode(Action.SWITCH_LANGUAGE, other, here),
                ),
            )
        if others:
            _ = self._t(lang)
            return (Button(_("🌐 Language"), encode(Action.SHOW, lang, LanguagesView())),)
        return ()


def _guides(language: Language) -> dict[str, Tree]:
    """Topic -> the guided path that leads to it first (menu order), for "Guide me step by step"."""
    ordered = [language.trees[m.target] for m in language.menu if m.target in language.trees]
    ordered += [t for t in language.trees.values() if t not in ordered]
    guides: dict[str, Tree] = {}
    # A path where the topic is an option's first answer beats one where it is only mentioned.
    for primary in (True, False):
        for tree in ordered:
            for node in tree.nodes.values():
                for option in node.options:
                    for topic in option.topics[:1] if primary else option.topics:
                        guides.setdefault(topic, tree)
    return guides


def _round_km(km: float) -> str:
    # Coordinates are city centres: a finer figure than whole kilometres would be false precision.
    return str(round(km))


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
