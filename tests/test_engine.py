"""What a user sees, event by event. No network, no files: the engine alone."""

from __future__ import annotations

import math
from collections import deque

import pytest

from bot.content.model import Content
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Location, Press, Text, Unsupported
from bot.engine.payload import (
    Action,
    ListedView,
    MenuView,
    NodeView,
    OutcomeView,
    PayloadError,
    StateView,
    TopicView,
    View,
    decode,
    encode,
)
from bot.engine.replies import Button, LocationRequest, PlacesReply, Response, TextReply, UsageKind
from bot.limits import BUTTON_PAYLOAD
from tests.conftest import opening


# Code tests run on the small content fixture (tests/data/content_small), so a staff edit to the
# shipped content never breaks them; tests of the shipped content ask for `shipped_engine` and
# are marked `shipped_content`.
@pytest.fixture(scope="module")
def engine(small_engine: Engine) -> Engine:
    return small_engine


def labels(reply: TextReply | PlacesReply) -> list[str]:
    return [b.label for b in reply.all_buttons]


def press(engine: Engine, reply: TextReply | PlacesReply | LocationRequest, label: str) -> Response:
    buttons = reply.nav if isinstance(reply, LocationRequest) else reply.all_buttons
    (button,) = [b for b in buttons if b.label == label]
    return engine.handle(Press(button.payload))


def only(response: Response) -> TextReply:
    (reply,) = response.replies
    assert isinstance(reply, TextReply)
    return reply


def test_a_migrant_asked_for_a_bribe_gets_the_answer_in_spanish_with_a_guided_path(
    engine: Engine,
) -> None:
    response = engine.handle(Text("me pidieron mordida en la garita"))
    reply = only(response)
    assert response.lang == "es"
    assert reply.text.startswith(opening("es", "complaint.bribe"))
    reviewed = engine.content.languages["es"].entries["complaint.bribe"].reviewed.isoformat()
    assert "\nFuente: " in reply.text and f"Revisado: {reviewed}" in reply.text
    assert "¿Te sirvió esta respuesta?" in reply.text
    assert labels(reply)[0] == "🧭 Guíame paso a paso"
    assert {"👍 Sí", "👎 No", "🏠 Menú", "🌐 English"} <= set(labels(reply))
    guided = only(press(engine, reply, "🧭 Guíame paso a paso"))
    assert guided.text == "Antes de empezar, ¿estás en peligro ahora mismo?"


@pytest.mark.shipped_content
def test_an_english_question_is_answered_in_english_whatever_the_phone_language(
    shipped_engine: Engine,
) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    response = engine.handle(Text("how much cash can i bring into mexico", lang_hint="es-MX"))
    assert response.lang == "en"
    assert only(response).text.startswith(opening("en", "paisano.cash"))


def test_every_answer_offers_related_topics_feedback_and_menu(
    engine: Engine, small_content: Content
) -> None:
    for code, lang in small_content.languages.items():
        for entry in lang.entries.values():
            reply = only(engine.handle(Press(encode(Action.SHOW, code, TopicView(entry.id)))))
            titles = labels(reply)
            for related in entry.related[:3]:
                assert lang.entries[related].title in titles, (entry.id, related)
            payloads = [decode(b.payload) for b in reply.all_buttons]
            actions = {p.action for p in payloads if p}
            assert {Action.HELPFUL, Action.NOT_HELPFUL, Action.SWITCH_LANGUAGE} <= actions, entry.id
            assert any(
                p and isinstance(p.view, MenuView) and p.action is Action.SHOW for p in payloads
            ), entry.id
            assert entry.answer in reply.text and entry.reviewed.isoformat() in reply.text


def walk(engine: Engine, lang: str) -> dict[str, Response]:
    """Press every button reachable from the main menu, breadth first. Returns payload -> response."""
    start = engine.handle(Command(CommandName.MENU, lang))
    seen: dict[str, Response] = {}
    queue = deque(b.payload for r in start.replies for b in _buttons(r))
    while queue:
        payload = queue.popleft()
        if payload in seen:
            continue
        response = engine.handle(Press(payload))
        seen[payload] = response
        queue.extend(b.payload for r in response.replies for b in _buttons(r))
    return seen


def _buttons(reply: TextReply | PlacesReply | LocationRequest) -> tuple[Button, ...]:
    return reply.nav if isinstance(reply, LocationRequest) else reply.all_buttons


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_path_from_the_menu_ends_in_answers_and_nothing_is_a_dead_end(
    engine: Engine, small_content: Content, lang: str
) -> None:
    seen = walk(engine, lang)
    expired = {
        "Ese botón ya no funciona. Aquí está el menú:",
        "That button no longer works. Here is the menu:",
    }
    nodes, topics = set(), set()
    for payload, response in seen.items():
        assert len(payload.encode("utf-8")) <= BUTTON_PAYLOAD
        for reply in response.replies:
            assert reply.text not in expired, payload
            buttons = _buttons(reply)
            # Nobody is ever stuck: there is always a way on, back or to the menu.
            assert buttons, payload
            view = decode(payload)
            assert view is not None
            if isinstance(view.view, NodeView):
                nodes.add((view.lang, view.view.pack()))
                nav = [decode(b.payload) for b in reply.nav]
                assert any(n and isinstance(n.view, MenuView) for n in nav), payload
                assert any(n and n.action is Action.SWITCH_LANGUAGE for n in nav), payload
            if isinstance(view.view, TopicView):
                topics.add(view.view.topic)
    language = small_content.languages[lang]
    every_node = {(lang, f"{t.id}:{n}") for t in language.trees.values() for n in t.nodes}
    assert {n for n in nodes if n[0] == lang} == every_node
    assert set(language.entries) <= topics  # every topic is reachable by buttons alone


def test_tree_steps_have_back_to_the_previous_step(engine: Engine) -> None:
    menu = only(engine.handle(Command(CommandName.MENU, "en")))
    first = only(press(engine, menu, "Report abuse"))
    assert "⬅️ Back" not in labels(first)  # the first step goes back to the menu
    who = only(press(engine, first, "No, I want to report"))
    assert who.text == "Who committed the abuse?"
    back = only(press(engine, who, "⬅️ Back"))
    assert back.text == first.text


def test_switching_language_mid_path_stays_on_the_same_step(engine: Engine) -> None:
    menu = only(engine.handle(Command(CommandName.MENU, "es")))
    step = only(
        press(engine, only(press(engine, menu, "Denunciar un abuso")), "No, quiero denunciar")
    )
    assert step.text == "¿Quién cometió el abuso?"
    switched = press(engine, step, "🌐 English")
    assert switched.lang == "en" and only(switched).text == "Who committed the abuse?"
    assert UsageKind.LANGUAGE_SET in {u.kind for u in switched.usage}


@pytest.mark.shipped_content
def test_an_option_with_several_topics_lists_them_and_one_topic_answers_directly(
    shipped_engine: Engine,
) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    menu = only(engine.handle(Command(CommandName.MENU, "en")))
    trip = only(press(engine, menu, "Travelling to Mexico"))
    goods = only(press(engine, only(press(engine, trip, "By plane")), "My rights"))
    assert goods.text == "These answers can help you. Choose one:"
    assert labels(goods)[:2] == ["Your rights as traveller", "Asked for a bribe"]
    cash = press(engine, only(press(engine, trip, "By plane")), "I carry a lot of cash")
    assert only(cash).text.startswith("Declaring cash")
    assert {u.kind for u in cash.usage} >= {UsageKind.TREE_DONE, UsageKind.ANSWERED}


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "x",
        "v|es",
        "v|es|t|no.such.topic",
        "v|es|n|tree.complaint:gone",
        "v|es|o|tree.complaint:who:99",
        "v|es|o|tree.complaint:who:x",
        "v|es|o|tree.complaint:danger:²",  # "²".isdigit() is True; int("²") fails
        "v|es|o|tree.complaint:danger:٣",  # an Arabic-Indic digit: int() takes it; no option 3
        "v|es|g|Narnia",
        "y|es|t|nope",
        "z|es|m|",
        "v|es|t|" + "a" * 80,
        "v|es|n|tree.gone:x",
    ],
)
def test_forged_truncated_or_stale_buttons_get_the_menu(engine: Engine, payload: str) -> None:
    reply = only(engine.handle(Press(payload)))
    assert reply.text == "Ese botón ya no funciona. Aquí está el menú:"
    assert "Denunciar un abuso" in labels(reply)


def test_stale_button_in_an_unknown_language_falls_back_to_spanish(engine: Engine) -> None:
    response = engine.handle(Press("v|fr|m|"))
    assert response.lang == "es"


def test_sharing_a_location_in_tijuana_lists_the_three_nearest_grupos_beta(engine: Engine) -> None:
    response = engine.handle(Location(32.52, -117.02, "es"))
    (reply,) = response.replies
    assert isinstance(reply, PlacesReply)
    assert [p.name for p in reply.places] == [
        "Grupo Beta Tijuana",
        "Grupo Beta Tecate",
        "Grupo Beta Mexicali",
    ]
    assert reply.places[0].distance_km is not None and reply.places[0].distance_km < 5
    assert "1. Grupo Beta Tijuana – Tijuana, Baja California: a unos 2 km" in reply.text
    assert "No tenemos teléfono ni dirección verificados" in reply.text and "911" in reply.text
    assert [u.kind for u in response.usage] == [UsageKind.LOCATION]


def test_a_location_in_chiapas_finds_tapachula_first(engine: Engine) -> None:
    (reply,) = engine.handle(Location(14.91, -92.27, "en")).replies
    assert isinstance(reply, PlacesReply)
    assert reply.places[0].name == "Grupo Beta Tapachula"
    assert (
        "1. Grupo Beta Tapachula – Tapachula, Chiapas: about 2 km" in reply.text
    )  # 1.5 km, rounded


def test_a_location_far_from_every_group_says_so(engine: Engine) -> None:
    (reply,) = engine.handle(Location(19.43, -99.13, "en")).replies  # Mexico City
    assert isinstance(reply, PlacesReply)
    assert "They are all far from you. If you need help now, call 911." in reply.text


@pytest.mark.parametrize(
    ("lat", "lon"), [(math.nan, 0.0), (91.0, 0.0), (0.0, 200.0), (math.inf, 1.0)]
)
def test_an_impossible_location_is_refused_politely(engine: Engine, lat: float, lon: float) -> None:
    reply = only(engine.handle(Location(lat, lon, "en")))
    assert reply.text.startswith("That location does not look valid.")


def test_choosing_a_state_lists_its_groups_and_says_when_none_is_verified(engine: Engine) -> None:
    chiapas = engine.handle(Press(encode(Action.SHOW, "es", StateView("Chiapas"))))
    (reply,) = chiapas.replies
    assert isinstance(reply, PlacesReply)
    assert len(reply.places) == 5 and "Grupos Beta en Chiapas:" in reply.text
    (tabasco,) = engine.handle(Press(encode(Action.SHOW, "en", StateView("Tabasco")))).replies
    assert isinstance(tabasco, PlacesReply) and tabasco.places == ()
    assert (
        "Official sources say there is a Grupo Beta in Tabasco, but we could not verify in which city."
        in tabasco.text
    )


def test_find_beta_offers_location_sharing(engine: Engine) -> None:
    menu = only(engine.handle(Command(CommandName.MENU, "en")))
    step = only(press(engine, menu, "Nearest Grupo Beta"))
    (request,) = press(engine, step, "📍 Send my location").replies
    assert isinstance(request, LocationRequest)
    assert "Share your location" in request.text and "do not save it" in request.text
    assert "🗺️ Choose a state" in [b.label for b in request.nav]


@pytest.mark.parametrize(
    ("kind", "hint", "start"),
    [("sticker", "es", "No puedo abrir stickers"), ("photo", "en-GB", "I cannot open stickers")],
)
def test_unsupported_media_gets_a_polite_note(
    engine: Engine, kind: str, hint: str, start: str
) -> None:
    response = engine.handle(Unsupported(kind, hint))
    assert only(response).text.startswith(start)
    assert [u.kind for u in response.usage] == [UsageKind.UNSUPPORTED]


def test_commands(engine: Engine) -> None:
    start = only(engine.handle(Command(CommandName.START, "es")))
    assert start.text.startswith("¡Hola! Soy Orienta.") and "No te pido tu nombre" in start.text
    assert only(engine.handle(Command(CommandName.HELP, "en"))).text.startswith(
        "Write your question in your own words, for example"
    )
    assert only(engine.handle(Command(CommandName.ABOUT, "en"))).text.startswith(
        "About Orienta\n\nOrienta is a free"
    )
    assert only(engine.handle(Command(CommandName.PRIVACY, "es"))).text.startswith(
        "Tu privacidad\n\nOrienta NO guarda"
    )
    chooser = only(engine.handle(Command(CommandName.LANGUAGE, "es")))
    assert chooser.text == "Elige tu idioma:" and labels(chooser)[:2] == ["Español", "English"]
    switched = engine.handle(Command(CommandName.LANGUAGE, "es", "en"))
    assert switched.lang == "en" and only(switched).text.startswith("Language: English.")


def test_feedback(engine: Engine) -> None:
    yes = engine.handle(Press(encode(Action.HELPFUL, "en", TopicView("rights.asylum"))))
    assert only(yes).text == "Thank you! Your answer helps us improve."
    assert (UsageKind.FEEDBACK_YES, "rights.asylum") in {(u.kind, u.topic) for u in yes.usage}
    no = engine.handle(Press(encode(Action.NOT_HELPFUL, "es", TopicView("rights.asylum"))))
    assert "habla con una persona" in only(no).text and "Hablar con una persona" in labels(only(no))
    assert (UsageKind.FEEDBACK_NO, "rights.asylum") in {(u.kind, u.topic) for u in no.usage}


def test_danger_puts_the_emergency_numbers_first_then_answers_the_rest(engine: Engine) -> None:
    response = engine.handle(Text("me quieren matar, los polis me pidieron dinero en el reten"))
    first = response.replies[0]
    assert isinstance(first, TextReply) and first.text.startswith(
        "🚨 Si estás en peligro ahora, llama al 911"
    )
    # The banner always offers the way to the nearest Grupo Beta and the menu.
    assert labels(first)[:1] == ["📍 Buscar un Grupo Beta"] and "🏠 Menú" in labels(first)
    assert UsageKind.DANGER in {u.kind for u in response.usage}


def test_the_banners_grupo_beta_button_leads_to_sharing_a_location(engine: Engine) -> None:
    banner = engine.handle(Text("help me!!", "en-US")).replies[0]
    assert isinstance(banner, TextReply)
    find = next(b for b in banner.buttons if "Grupo Beta" in b.label)
    step = only(engine.handle(Press(find.payload)))
    assert "📍 Send my location" in labels(step)


def test_danger_alone_still_gets_the_emergency_numbers(engine: Engine) -> None:
    response = engine.handle(Text("help me!!", "en-US"))
    assert len(response.replies) == 1
    assert response.replies[0].text.startswith("🚨 If you are in danger now, call 911")


@pytest.mark.shipped_content
def test_unanswered_message_gets_the_menu_and_is_counted(shipped_engine: Engine) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    response = engine.handle(Text("receta de pozole"))
    reply = only(response)
    assert reply.text.startswith("Perdón, no entendí.")
    assert "Viajo a México" in labels(reply)
    assert [u.kind for u in response.usage] == [UsageKind.MESSAGE, UsageKind.UNANSWERED]


def test_two_needs_in_one_message_answer_the_first_and_offer_the_second(engine: Engine) -> None:
    match, response = engine.answer(Text("me pidieron mordida y quiero poner una queja"))
    assert (match.topic, match.close_call, match.alternatives[0]) == (
        "complaint.bribe",
        True,
        "complaint.how_to_file",
    )
    reply = only(response)
    assert reply.text.startswith("Me piden mordida")
    assert labels(reply)[0] == "Cómo poner una queja"  # the second need, first among the buttons


def test_usage_carries_no_message_text(engine: Engine) -> None:
    secret = "me llamo Juan Perez y me pidieron mordida"
    response = engine.handle(Text(secret))
    for usage in response.usage:
        assert "Juan" not in repr(usage) and "mordida" not in repr(usage)
    assert [(u.kind, u.topic) for u in response.usage] == [
        (UsageKind.MESSAGE, ""),
        (UsageKind.ANSWERED, "complaint.bribe"),
    ]


def test_same_input_same_output(engine: Engine) -> None:
    assert engine.handle(Text("asilo")) == engine.handle(Text("asilo"))


# ---------------------------------------------------------------------- paper cuts (issue 10)


@pytest.mark.shipped_content
def test_an_answer_chosen_from_a_list_of_answers_has_back_to_the_list(
    shipped_engine: Engine,
) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    step = only(engine.handle(Command(CommandName.MENU, "es")))
    step = only(press(engine, step, "Soy extranjero en México"))
    listing = only(press(engine, step, "Quiero pedir asilo"))
    assert listing.text == "Estas respuestas te pueden ayudar. Elige una:"
    answer = only(press(engine, listing, "Pedir asilo (COMAR)"))
    assert answer.text.startswith(opening("es", "rights.asylum"))
    back = only(press(engine, answer, "⬅️ Atrás"))
    assert back.text == listing.text and labels(back) == labels(listing)


def test_a_location_under_1_km_reads_less_than_1_km(engine: Engine) -> None:
    (reply,) = engine.handle(Location(32.5301, -117.0401, "es")).replies
    assert "1. Grupo Beta Tijuana – Tijuana, Baja California: a menos de 1 km" in reply.text
    (english,) = engine.handle(Location(32.5301, -117.0401, "en")).replies
    assert "Tijuana, Baja California: less than 1 km" in english.text
    assert "<1" not in reply.text + english.text


@pytest.mark.shipped_content
def test_guide_me_on_the_detention_answer_leads_to_the_foreigner_rights_path(
    shipped_engine: Engine,
) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    answer = only(engine.handle(Press(encode(Action.SHOW, "es", TopicView("rights.detention")))))
    guide = only(press(engine, answer, "🧭 Guíame paso a paso"))
    assert guide.text == "¿Cuál es tu situación?"
    assert "Me detuvo migración" in labels(guide)


@pytest.mark.parametrize(
    ("typed", "lang", "expected"),
    [
        ("menu", "es", "Escribe tu pregunta con tus palabras o elige un tema:"),
        ("Menú", "es", "Escribe tu pregunta con tus palabras o elige un tema:"),
        ("inicio", "es", "Escribe tu pregunta con tus palabras o elige un tema:"),
        ("menu", "en", "Write your question in your own words, or choose a topic:"),
        (
            "english",
            "es",
            "Language: English. Write your question in your own words, or choose a topic:",
        ),
        (
            "Inglés",
            "es",
            "Language: English. Write your question in your own words, or choose a topic:",
        ),
        ("español", "en", "Idioma: Español. Escribe tu pregunta con tus palabras o elige un tema:"),
    ],
)
def test_typed_words_act_as_commands(engine: Engine, typed: str, lang: str, expected: str) -> None:
    response = engine.handle(Text(typed, lang))
    assert only(response).text == expected


def test_typed_help_in_both_languages(engine: Engine) -> None:
    spanish = only(engine.handle(Text("ayuda", "es")))
    english = only(engine.handle(Text("help", "en")))
    assert spanish.text.startswith("Escribe tu pregunta con tus palabras, por ejemplo")
    assert english.text.startswith("Write your question in your own words, for example")
    # "ayuda!!" is a call for help, not a request for the help text.
    assert engine.handle(Text("ayuda!!", "es")).replies[0].text.startswith("🚨")


def test_help_shows_how_to_share_a_location_and_does_not_claim_official_information(
    engine: Engine,
) -> None:
    text = only(engine.handle(Command(CommandName.HELP, "en"))).text
    assert "official information" not in text
    assert "public official sources and the press, with the source under each answer" in text
    assert "tap 📎 and then Location" in text and "/loc 16.55, -94.90" in text


@pytest.mark.shipped_content
def test_a_greeting_with_a_question_answers_the_question(shipped_engine: Engine) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    response = engine.handle(
        Text("hola buenas tardes disculpe, me deportaron ayer y no tengo ningun documento")
    )
    assert only(response).text.split("\n")[0] in {
        engine.content.languages["es"].entries[t].title
        for t in ("paisano.returnees", "returnees.documents")
    }


@pytest.mark.shipped_content
def test_about_says_who_runs_the_service_or_that_nobody_said(
    shipped_engine: Engine, content: Content
) -> None:
    engine = shipped_engine  # the shipped content's own paths and topics
    from dataclasses import replace

    from bot.content.model import Operator
    from bot.i18n import Catalogs
    from tests.conftest import LOCALE_DIR

    unset = only(engine.handle(Command(CommandName.ABOUT, "en"))).text
    assert "has not yet said who they are or how to reach them" in unset
    configured = Engine(
        replace(content, operator=Operator("Casa Ejemplo A.C.", "hola@ejemplo.org")),
        Catalogs(LOCALE_DIR),
        engine.matcher,
    )
    text = only(configured.handle(Command(CommandName.ABOUT, "es"))).text
    assert "Este servicio lo opera Casa Ejemplo A.C.. Contacto: hola@ejemplo.org" in text


@pytest.mark.parametrize(
    "view",
    [
        MenuView(),
        TopicView("complaint.bribe"),
        NodeView("tree.complaint", "who"),
        OutcomeView("tree.complaint", "who", 2),
        ListedView("tree.complaint", "who", 2, 1),
        StateView("Baja California"),
    ],
)
def test_every_view_packs_and_unpacks_to_itself(view: View) -> None:
    for action in Action:
        payload = decode(encode(action, "es", view))
        assert payload is not None and payload.view == view and payload.action is action


@pytest.mark.parametrize(
    "view",
    [
        TopicView("a:b"),  # the field separator
        StateView("x|y"),  # the payload separator
        TopicView(""),
        OutcomeView("tree", "node", -1),
        TopicView("t" * 70),  # over 64 bytes
    ],
)
def test_a_view_that_cannot_travel_is_refused_when_packed(view: View) -> None:
    with pytest.raises(PayloadError):
        encode(Action.SHOW, "es", view)
