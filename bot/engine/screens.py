"""The engine's screens: what each view shows (menu, answers, guided-path steps, lists of
places) with its buttons and navigation. Built from content and copy; no matching here."""

from __future__ import annotations

from collections.abc import Iterable

from bot.content.model import Language, Tree
from bot.engine.payload import (
    Action,
    ConsulatesView,
    CountriesView,
    DraftLanguagesView,
    DraftOp,
    DraftView,
    KindsView,
    LanguagesView,
    ListedView,
    LocationView,
    MenuView,
    NearView,
    NodeLanguagesView,
    NodeView,
    OutcomeView,
    StatesView,
    StateView,
    TopicLanguagesView,
    TopicView,
    View,
    encode,
)
from bot.engine.places import KIND_LABELS, Places
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

RELATED_MAX = 3


class Screens(Places):
    """Views in a language, with their buttons (see `bot.engine.payload` for the views)."""

    _guides: dict[str, dict[str, Tree]]
    _topic_views: dict[tuple[str, str], TextReply]

    def _view(self, lang: str, view: View, usage: list[Usage]) -> Reply | None:
        language = self.content.languages[lang]
        match view:
            case MenuView():
                return self._menu(lang)
            case LanguagesView():
                return self._languages(lang)
            case TopicLanguagesView(topic=topic):
                return self._languages(lang, TopicView(topic))
            case NodeLanguagesView(tree=tree_id, node=node_id):
                return self._languages(lang, NodeView(tree_id, node_id))
            case DraftLanguagesView():
                return self._languages(lang, DraftView(DraftOp.RESUME))
            case KindsView():
                return self._kinds(lang, view)
            case NearView():
                return self._near(lang, view)
            case CountriesView():
                return self._countries(lang, view)
            case ConsulatesView():
                return self._consulates(lang, view)
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
        near = self.content.near_me.get(topic)
        if near is not None:  # "COMAR near me" under the asylum answer, and so on
            buttons.append(
                Button(
                    _("📍 {kind} near me").format(kind=_(KIND_LABELS[near])),
                    encode(Action.SHOW, lang, LocationView()),
                )
            )
        drafter = self.content.languages[lang].drafter
        if drafter is not None and topic in drafter.topics:
            buttons.append(
                Button(drafter.button, encode(Action.SHOW, lang, DraftView(DraftOp.START)))
            )
        buttons.extend(self._topic_buttons(lang, entry.related[:RELATED_MAX]))
        view = TopicView(topic)
        buttons.append(Button(_("👍 Yes"), encode(Action.HELPFUL, lang, view)))
        buttons.append(Button(_("👎 No"), encode(Action.NOT_HELPFUL, lang, view)))
        parts = [entry.title, entry.answer]
        if entry.draft:  # a translation nobody reading this language natively has checked yet
            parts.append("ⓘ " + _("Not yet checked by a native speaker."))
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
            elif option.action == "write_complaint":
                view = DraftView(DraftOp.START)
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

    def _languages(self, lang: str, then: View | None = None) -> TextReply:
        """The chooser; a choice shows `then` (the answer or step it was opened from) in the
        chosen language, or the menu."""
        _ = self._t(lang)
        # The default first, then the order of languages.yaml; each by its own name.
        codes = sorted(self.content.languages, key=lambda c: c != self.content.default_language)
        buttons = tuple(
            Button(
                self.content.languages[code].name,
                encode(Action.SWITCH_LANGUAGE, code, then or MenuView()),
            )
            for code in codes
        )
        return TextReply(
            _("Choose your language:"),
            buttons,
            self._nav(lang, MenuView(), then, with_language=False),
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
        places = [p for p in self.content.beta if p.state == state]
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
        middle = self._state_point(state)
        near = self._kind_buttons(lang, *middle, skip=("grupo_beta",)) if middle else ()
        return PlacesReply(
            "\n".join(lines),
            hits,
            (
                *near,
                *self._topic_buttons(
                    lang, (self.content.roles.beta_services, self.content.roles.route_selfcare)
                ),
            ),
            self._nav(lang, StateView(state), StatesView()),
        )

    def _ask_location(self, lang: str) -> LocationRequest:
        _ = self._t(lang)
        text = _(
            "Share your location and I will tell you what is nearest: Grupos Beta, and then shelters, COMAR, consulates or help for deported Mexicans. I only use it for this answer and do not save it."
        )
        return LocationRequest(
            text,
            (
                self._state_button(lang),
                *self._nav(lang, LocationView(), self._find_beta_start(lang)),
            ),
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
        buttons += self._topic_buttons(
            lang, (self.content.roles.emergency, self.content.roles.route_selfcare)
        )
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
            chooser: View = LanguagesView()
            if isinstance(here, TopicView):
                chooser = TopicLanguagesView(here.topic)
            elif isinstance(here, NodeView):
                chooser = NodeLanguagesView(here.tree, here.node)
            elif isinstance(here, DraftView):
                chooser = DraftLanguagesView()
            return (Button(_("🌐 Language"), encode(Action.SHOW, lang, chooser)),)
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
