"""How free text becomes a language and a topic: normalisation, typos, language, danger."""

from __future__ import annotations

import pytest

from bot.matching.analyzer import Analyzer, fold, tokenize
from bot.matching.matcher import Intent, Matcher


def test_fold_removes_accents_and_case() -> None:
    assert fold("¿Dónde está la COMISIÓN?") == "¿donde esta la comision?"


def test_tokenize_drops_punctuation_emoji_and_collapses_repeats() -> None:
    assert tokenize("Holaaaa!!! 😭😭 ayudaaa, xfa...") == ["hola", "ayuda", "xfa"]
    assert tokenize("traigo 10,000 dlls y 1.500") == ["traigo", "10000", "dlls", "y", "1500"]
    assert tokenize("abc123def") == ["abc", "123", "def"]


def test_chat_abbreviations_expand_per_language(matcher: Matcher) -> None:
    es = matcher.models["es"].analyzer
    assert es.words("xq me piden lana pa pasar, tmb q hago xfa") == [
        "porque",
        "me",
        "piden",
        "dinero",
        "para",
        "pasar",
        "tambien",
        "que",
        "hago",
        "por",
        "favor",
    ]
    en = matcher.models["en"].analyzer
    assert en.words("pls can u help") == ["please", "can", "you", "help"]


def test_stemming_is_per_language() -> None:
    es = Analyzer("spanish", {}, [])
    en = Analyzer("english", {}, [])
    assert es.terms("deportaron deportado") == [es.stem("deportaron")] * 2
    assert en.terms("deported deportation")[0] == en.stem("deport")


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("me pidieron mordida", "complaint.bribe"),
        ("ME PIDIERON MORDIDAAA!!!", "complaint.bribe"),
        ("me pidiern mordia en la garita", "complaint.bribe"),  # typos
        ("cuanto puedo traer sin pagar impuestos", "paisano.franchise"),
        ("kuanto puedo traer sin pagar impuestos", "paisano.franchise"),
        ("franquisia paisano", "paisano.franchise"),
        ("como pido asilo", "rights.asylum"),
        ("how do i ask for asylum", "rights.asylum"),
        ("how do i ask for asilum", "rights.asylum"),
        ("they asked me for a bribe", "complaint.bribe"),
        ("who are you", "meta.about"),
        ("quien eres", "meta.about"),
    ],
)
def test_typical_questions_find_their_topic(matcher: Matcher, text: str, topic: str) -> None:
    found = matcher.match(text)
    assert (found.intent, found.topic) == (Intent.TOPIC, topic)


@pytest.mark.parametrize(
    "text", ["asdf", "quien gano el partido", "receta de pozole", "you are stupid", "lol"]
)
def test_out_of_scope_matches_nothing(matcher: Matcher, text: str) -> None:
    found = matcher.match(text)
    assert found.intent is Intent.NONE and found.topic is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hola", Intent.GREETING),
        ("buenas tardes", Intent.GREETING),
        ("hello there", Intent.GREETING),
        ("muchas gracias", Intent.THANKS),
        ("thank you", Intent.THANKS),
        ("😀😀", Intent.EMPTY),
        ("  ", Intent.EMPTY),
    ],
)
def test_greetings_thanks_and_empty_messages(matcher: Matcher, text: str, intent: Intent) -> None:
    assert matcher.match(text).intent is intent


def test_language_comes_from_the_message_and_the_hint_only_breaks_ties(matcher: Matcher) -> None:
    assert matcher.match("me pidieron dinero en la garita", hint="en").lang == "es"
    assert matcher.match("they asked me for money at the border", hint="es").lang == "en"
    assert matcher.detect_language("bribe?", hint="es") == "en"  # a word only English uses
    assert matcher.detect_language("mordida", hint="es") == "es"  # Spanish, used in English too
    # "ok" belongs to both languages: the platform's language decides.
    assert matcher.detect_language("ok", hint="en-US") == "en"
    assert matcher.detect_language("ok", hint="es-MX") == "es"
    assert matcher.detect_language("ok", hint=None) == "es"
    assert matcher.detect_language("ok", hint="de") == "es"  # a language not served: the default


@pytest.mark.parametrize(
    "text",
    [
        "me quieren matar",  # exact phrases: the floor
        "me estan siguiendo unos tipos",
        "AUXILIO",
        "someone is following me",
        "ayudaaa me quieren matar!!!",
        "help me",  # a message that is only a call for help
        "HELP ME!!",
        "ayudaaa",
        "sos",
        "nos secuestraron en tamaulipas, estamos en una casa",  # the learned model
        "estoy perdido en el monte, tengo sed y ya no tengo agua, ayuda",
        "unos vatos me andan siguiendo",
        "the coyote left us in the desert we have no water",
        "some guys been following me",
    ],
)
def test_danger_is_detected(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).danger


def test_danger_words_of_another_language_count_too(matcher: Matcher) -> None:
    found = matcher.match("they are following me, estoy en la frontera de tijuana con mi hijo")
    assert found.lang == "es" and found.danger


def test_danger_words_do_not_pick_a_topic_on_their_own(matcher: Matcher) -> None:
    found = matcher.match("they are following me")
    assert found.danger and found.topic is None


@pytest.mark.parametrize(
    "text",
    [
        "can you help me with my vehicle permit",  # "help me" inside a question is no alarm
        "hace dos años me secuestraron en tamaulipas, eso me sirve para pedir asilo?",
        "is it dangerous to travel through tamaulipas",
        "me mata el calor de esta ciudad jaja",
    ],
)
def test_near_misses_are_not_danger(matcher: Matcher, text: str) -> None:
    assert not matcher.match(text).danger


@pytest.mark.parametrize(
    "text", ["como denuncio a un policia", "cuanto dinero puedo llevar", "what is grupo beta"]
)
def test_ordinary_questions_are_not_danger(matcher: Matcher, text: str) -> None:
    assert not matcher.match(text).danger


def test_forced_language(matcher: Matcher) -> None:
    assert matcher.match("asylum", lang="es").lang == "es"


def test_very_long_messages_are_cut_before_matching(matcher: Matcher) -> None:
    found = matcher.match("me pidieron mordida " + "bla " * 5000)
    assert found.lang == "es"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("ke ago si me agara la migra", "rights.detention"),  # silent h, rr written r
        ("nesesito ayuda con el permizo de mi carro", "paisano.vehicle_permit"),  # s for c, z for s
        ("cuanto tiempo tengo pa pedir el refujio", "rights.asylum"),  # j for g
        (
            "me yamaron disiendo que tienen a mi hermano y quieren dinero",
            "safety.extortion",
        ),  # y for ll
        ("que es eso de los grupos veta", "beta.what_are"),  # v for b
        (
            "puedo llevar mi perro a mexico",
            "paisano.goods",
        ),  # "perro" is not the function word "pero"
    ],
)
def test_spanish_spelled_by_sound(matcher: Matcher, text: str, topic: str) -> None:
    found = matcher.match(text)
    assert (found.lang, found.topic) == ("es", topic)


def test_sound_alike_folding_comes_from_the_content(matcher: Matcher) -> None:
    es = matcher.models["es"].analyzer
    assert es.sound("permizo") == es.sound("permiso")
    assert es.sound("ablar") == es.sound("hablar")
    assert es.sound("perro") != es.sound("permiso")
    assert matcher.models["en"].analyzer.phonetic_rules == ()  # English defines none
