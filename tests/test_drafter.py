"""The complaint drafter, as a user meets it: from an answer, the complaint path or typed words,
through the steps with buttons and typed answers, to a complaint ready to copy and where to send
it; and every way of leaving it half-way (menu, a question, a language switch, time, Delete)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.channels.pipeline import DRAFT_MEMORY, Pipeline
from bot.content.loader import load_content
from bot.content.model import Content
from bot.content.problems import ContentError
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Press, Text
from bot.engine.replies import Button, Response, TextReply, UsageKind
from bot.engine.views import ENGINE_CHECKS
from bot.i18n import Catalogs
from bot.matching.matcher import Matcher
from bot.memory import forgetting
from tests.conftest import LOCALE_DIR

pytestmark = pytest.mark.shipped_content

TODAY = date(2026, 11, 29)


class Chat:
    """One person talking to the engine through a channel's pipeline (which holds the draft)."""

    def __init__(self, engine: Engine, clock: list[float] | None = None) -> None:
        self.pipeline = Pipeline("test", lambda: engine)
        if clock is not None:
            self.pipeline.drafts = forgetting(DRAFT_MEMORY, 100, lambda: clock[0])
        self.last: Response | None = None

    def say(self, text: str, hint: str | None = None) -> Response:
        self.last = self.pipeline.answer_now(1, Text(text, hint))
        return self.last

    def command(self, name: CommandName, arg: str = "") -> Response:
        self.last = self.pipeline.answer_now(1, Command(name, None, arg))
        return self.last

    def press(self, label: str) -> Response:
        """Press the button whose label is `label` (or ends with it) in the last response."""
        assert self.last is not None
        button = find(self.last, label)
        self.last = self.pipeline.answer_now(1, Press(button.payload))
        return self.last

    @property
    def draft(self) -> object:
        return self.pipeline.drafts.get(1)


def buttons(response: Response) -> list[Button]:
    return [b for r in response.replies if isinstance(r, TextReply) for b in r.all_buttons]


def labels(response: Response) -> list[str]:
    return [b.label for b in buttons(response)]


def find(response: Response, label: str) -> Button:
    for button in buttons(response):
        if button.label == label or button.label.endswith(" " + label):
            return button
    raise AssertionError(f"no button {label!r} in {labels(response)}")


def text(response: Response) -> str:
    return "\n\n".join(r.text for r in response.replies)


@pytest.fixture(scope="module")
def drafting(content: Content, matcher: Matcher) -> Engine:
    return Engine(content, Catalogs(LOCALE_DIR), matcher, today=lambda: TODAY)


@pytest.fixture()
def chat(drafting: Engine) -> Iterator[Chat]:
    yield Chat(drafting)


# ---------------------------------------------------------------------- the must-reach path


def test_spanish_start_to_finish_with_buttons_and_three_typed_answers(chat: Chat) -> None:
    answer = chat.say("me pidieron mordida en el retén")
    assert "✍️ Ayúdame a escribirla" in labels(answer)
    first = chat.press("Ayúdame a escribirla")
    assert "No guardo tus respuestas" in text(first) and "Paso 1 de 8" in text(first)
    assert {"⏭️ Saltar", "🗑️ Borrar mis respuestas"} <= set(labels(first))
    chat.press("Migración (INM)")
    chat.say("retén de La Ventosa, Oaxaca, km 12")  # typed 1
    time = chat.press("Ayer")
    assert "¿A qué hora, más o menos?" in text(time)
    chat.press("Saltar")  # the day stays; no time given
    chat.say("Dos agentes revisaron mis papeles y dijeron que eran falsos; me bajaron del camión")
    chat.say("1000 pesos")  # typed 3
    chat.press("Saltar")  # no name or badge seen
    chat.press("Fotos")
    chat.press("Testigos")
    chat.press("Listo")
    chat.press("Que se investigue")
    done = chat.press("Listo")
    letter = done.replies[1].text
    assert letter.startswith("QUEJA")
    assert "agentes del Instituto Nacional de Migración (INM)" in letter
    assert "retén de La Ventosa, Oaxaca, km 12" in letter
    assert "Sucedió el 28 de noviembre de 2026." in letter
    assert "Dos agentes revisaron mis papeles" in letter
    assert "Me pidieron o me quitaron 1000 pesos." in letter
    assert "fotos y testigos que vieron lo que pasó" in letter
    assert "Pido que se investigue" in letter
    assert "Datos de quien lo hizo" not in letter  # skipped: no line
    assert len(done.replies) == 3  # Spanish: no second copy
    where = done.replies[-1].text
    for channel in ("sidec.buengobierno.gob.mx", "CNDH", "No acepta quejas anónimas", "089"):
        assert channel in where
    assert "Asuntos Internos" not in where  # a federal authority: not the local police's channels
    assert "no envió ni presentó nada" in where and "no se guardaron" in where
    assert chat.draft is None
    kinds = [u.kind for u in done.usage]
    assert UsageKind.DRAFT_DONE in kinds
    assert [u.topic for u in done.usage if u.kind is UsageKind.DRAFT_DONE] == ["inm"]


def test_english_municipal_police_gets_local_channels_and_a_spanish_copy(chat: Chat) -> None:
    chat.say("help me write a complaint")
    chat.press("Municipal police")
    chat.say("Avenida Juárez, downtown Tijuana")
    chat.say("last Saturday around 9 pm")
    chat.say("Two officers stopped me, took my phone and told me to leave the city")
    chat.press("My things")
    chat.say("patrol car 2231")
    chat.press("Skip")
    chat.press("Get my things back")
    done = chat.press("Done")
    letter = done.replies[1].text
    assert "It is against municipal police officers." in letter
    assert "Avenida Juárez, downtown Tijuana" in letter and "last Saturday around 9 pm" in letter
    assert "took my phone" in letter and "my belongings" in letter and "patrol car 2231" in letter
    heading, spanish = done.replies[2].text, done.replies[3].text
    assert "Spanish" in heading
    assert "La presento contra policías municipales." in spanish  # from Spanish templates
    assert "Me pidieron o me quitaron mis pertenencias." in spanish
    assert "«Two officers stopped me, took my phone and told me to leave the city»" in spanish
    assert "pueden necesitar traducción" in spanish
    where = done.replies[-1].text
    for channel in (
        "Internal Affairs",
        "Contraloría",
        "human rights commission of the state",
        "089",
    ):
        assert channel in where
    assert "sidec" not in where and "CNDH" not in where
    assert "has not sent or filed anything" in where


# ---------------------------------------------------------------------- ways in


@pytest.mark.parametrize(
    ("message", "lang"),
    [
        ("quiero escribir mi queja", "es"),
        ("kiero escrivir mi keja contra migracion", "es"),
        ("help me write a complaint", "en"),
        ("m vle ekri yon plent", "ht"),
        ("aidez-moi à écrire une plainte", "fr"),
    ],
)
def test_typed_words_open_the_drafter(chat: Chat, message: str, lang: str) -> None:
    response = chat.say(message)
    assert response.lang == lang
    drafter = chat.pipeline.engine.drafter(lang)
    assert drafter is not None and response.replies[0].text.startswith(drafter.intro)
    assert UsageKind.DRAFT_STARTED in [u.kind for u in response.usage]


def test_asking_how_to_complain_answers_and_offers_the_drafter(chat: Chat) -> None:
    response = chat.say("como pongo una queja contra un agente de migracion")
    assert "✍️ Ayúdame a escribirla" in labels(response)
    assert chat.draft is None


def test_the_complaint_path_leads_to_it(chat: Chat) -> None:
    chat.command(CommandName.MENU)
    chat.press("Denunciar un abuso")
    chat.press("No, quiero denunciar")
    step = chat.press("Escribir mi queja")
    assert "Paso 1 de 8" in text(step)


# ---------------------------------------------------------------------- leaving half-way


def test_menu_mid_draft_then_continue_keeps_the_answers(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Aduana")
    chat.say("puente internacional de Nuevo Laredo")
    menu = chat.press("Menú")
    assert labels(menu)[0] == "✍️ Seguir con mi queja"
    again = chat.press("Seguir con mi queja")
    assert "Paso 3 de 8" in text(again)
    back = chat.press("Atrás")
    assert "Paso 2 de 8" in text(back)


def test_a_question_mid_draft_is_answered_and_the_draft_waits(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Guardia Nacional")
    answer = chat.say("¿dónde pido asilo?")
    assert answer.replies[0].text.startswith("Pedir asilo")
    assert "✍️ Seguir con mi queja" in labels(answer)
    step = chat.press("Seguir con mi queja")
    assert "Paso 2 de 8" in text(step)
    # On a step of buttons, typed words that are no option are a question too...
    chat.press("Atrás")
    other = chat.say("cuanto dinero puedo traer sin pagar impuestos")
    assert "Paso" not in other.replies[0].text and "✍️ Seguir con mi queja" in labels(other)
    # ...and typed words that name an option press it.
    chosen = chat.say("guardia nacional")
    assert "Paso 2 de 8" in text(chosen)


def test_danger_mid_draft_puts_the_emergency_numbers_first(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Policía estatal")
    response = chat.say("me vienen siguiendo unos hombres armados ahorita, tengo miedo")
    assert "911" in response.replies[0].text
    assert "Paso 3 de 8" in response.replies[-1].text  # the draft goes on


def test_delete_at_any_step_leaves_nothing(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Policía municipal")
    chat.say("mercado de Tapachula")
    gone = chat.press("Borrar mis respuestas")
    assert "no guardó nada" in text(gone) and chat.draft is None
    assert UsageKind.DRAFT_DELETED in [u.kind for u in gone.usage]
    fresh = chat.press("Empezar de nuevo")
    assert "Paso 1 de 8" in text(fresh)


def test_thirty_minutes_after_the_last_step_the_draft_is_gone(drafting: Engine) -> None:
    clock = [0.0]
    chat = Chat(drafting, clock)
    chat.say("quiero escribir mi queja")
    step = chat.press("Aduana")
    clock[0] += DRAFT_MEMORY - 60
    chat.say("aeropuerto de Cancún")  # each step gives it 30 more minutes
    clock[0] += DRAFT_MEMORY - 60
    assert chat.draft is not None
    clock[0] += 120
    assert chat.draft is None
    chat.last = step  # a button of an old step pressed now
    expired = chat.press("Un aeropuerto")
    assert "ya no está" in text(expired) and "30 minutos" in text(expired)
    # Typed text is an ordinary message again.
    assert chat.say("me pidieron mordida").replies[0].text.startswith("Me piden mordida")


def test_switching_language_mid_draft_shows_the_same_step(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Aduana")
    chooser = chat.press("Idioma")
    english = chat.press("English")
    assert english.lang == "en" and "Step 2 of 8" in text(english)
    chat.say("the airport in Cancún")
    typed = chat.command(CommandName.LANGUAGE, "fr")
    assert typed.lang == "fr" and "3" in text(typed) and "Language" not in text(typed)
    assert chooser.lang == "es"


def test_starting_again_while_a_draft_is_open_asks_first(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Aduana")
    ask = chat.say("quiero escribir una queja")
    assert "a medio escribir" in text(ask)
    assert "Paso 2 de 8" in text(chat.press("Seguir con mi queja"))
    chat.say("quiero escribir una queja")
    assert "Paso 1 de 8" in text(chat.press("Empezar de nuevo"))


def test_an_old_button_shows_the_current_step_and_changes_nothing(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    first = chat.press("Aduana")
    chat.say("puente fronterizo de Ciudad Juárez")
    before = chat.draft
    chat.last = first
    again = chat.press("Un aeropuerto")
    assert "Paso 3 de 8" in text(again) and chat.draft == before


def test_a_too_long_answer_is_refused_politely_and_nothing_is_lost(chat: Chat) -> None:
    chat.say("quiero escribir mi queja")
    chat.press("Aduana")
    before = chat.draft
    long = chat.say("x" * 301)
    assert "301" in text(long) and "300" in text(long) and "Paso 2 de 8" in text(long)
    assert chat.draft == before


# ---------------------------------------------------------------------- content


def _broken(content_copy: Path, name: str, old: str, new: str) -> str:
    path = content_copy / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, checks=ENGINE_CHECKS)
    return str(caught.value)


def test_a_missing_language_file_is_an_error(content_copy: Path) -> None:
    (content_copy / "drafter_fr.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, checks=ENGINE_CHECKS)
    assert "drafter_fr.yaml is missing" in str(caught.value)


def test_errors_name_the_file_and_line(content_copy: Path) -> None:
    error = _broken(content_copy, "drafter_es.yaml", "asked.typed]", "asked.tipped]")
    assert "drafter_es.yaml:" in error and "'asked.tipped' is no step's answer" in error
    error = _broken(
        content_copy, "drafter_en.yaml", "label: Customs", "label: Customs and excise office staff"
    )
    assert "drafter_en.yaml:" in error and "the limit is 24" in error


def test_the_steps_must_match_across_languages(content_copy: Path) -> None:
    error = _broken(content_copy, "drafter_en.yaml", "id: bridge", "id: puente")
    assert "drafter_en.yaml:1: the drafter's steps" in error


def test_every_language_has_the_same_drafter(content: Content) -> None:
    from bot.content.drafter import shape

    shapes = {shape(lang.drafter) for lang in content.languages.values() if lang.drafter}
    assert len(shapes) == 1 and all(lang.drafter for lang in content.languages.values())


def test_the_console_drafts_with_numbered_buttons(drafting: Engine) -> None:
    import io

    from bot.handlers.console import ConsoleChat

    out = io.StringIO()
    console = ConsoleChat(drafting, out, "es")
    console.start()

    def press(label: str) -> None:
        number = next(i for i, b in enumerate(console.buttons, 1) if b.label.endswith(label))
        console.handle_line(str(number))

    console.handle_line("quiero escribir mi queja")
    press("Policía de tránsito")
    console.handle_line("crucero de la avenida Central, Tuxtla Gutiérrez")
    press("Hoy")
    console.handle_line("como a las 7 de la mañana")
    console.handle_line("Me detuvieron sin motivo y me pidieron dinero para no llevarse el carro")
    press("Dinero")
    for _ in range(3):
        press("Saltar")
    shown = out.getvalue()
    assert "Sucedió el 29 de noviembre de 2026 (como a las 7 de la mañana)." in shown
    assert "La presento contra agentes de tránsito." in shown
    assert "Asuntos Internos" in shown and "Contraloría" in shown and "089" in shown
    assert console.pipeline.drafts.get("console") is None


def test_the_time_after_today_goes_in_both_copies(chat: Chat) -> None:
    chat.say("help me write a complaint")
    chat.press("Customs")
    chat.press("Skip")
    chat.press("Today")
    chat.say("around 3 in the afternoon")
    for _ in range(5):  # what, asked, who, evidence, wants
        done = chat.press("Skip")
    assert "This was on 29 November 2026 (around 3 in the afternoon)." in done.replies[1].text
    assert (
        "Sucedió el 29 de noviembre de 2026 («around 3 in the afternoon»)." in done.replies[3].text
    )
