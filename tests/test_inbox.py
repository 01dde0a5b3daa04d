"""The question inbox: consent per question, scrubbing before anything is stored, retention, and
the staff's terminal (`orienta inbox`). The browser view is in test_admin_page.py; Telegram and
WhatsApp in their own files."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.pipeline import Pipeline
from bot.cli import main
from bot.config import Settings
from bot.engine.engine import Engine
from bot.engine.events import CommandName, Press, Text
from bot.engine.recall import Kept
from bot.engine.replies import Response, TextReply, UsageKind
from bot.engine.scrub import scrub
from bot.stats.store import UsageStore

pytestmark = pytest.mark.shipped_content

OFFER = "📨 Enviar mi pregunta al equipo (anónima)"
OFFER_EN = "📨 Send my question to the team (anonymous)"

# Twenty kinds of personal data, as people write them; none may reach the inbox.
PERSONAL = {
    "name after me llamo": ("me llamo Xochitl Quispe", "Xochitl"),
    "surname": ("me llamo Xochitl Quispe", "Quispe"),
    "name after my name is": ("my name is Brayan Alvarenga", "Alvarenga"),
    "name after je m'appelle": ("je m'appelle Wideline Pierre-Louis", "Wideline"),
    "name after mwen rele": ("mwen rele Jean-Baptiste Dorvilus", "Dorvilus"),
    "a capitalised name mid-sentence": ("vengo con mi prima Yesenia", "Yesenia"),
    "phone +52 spaced": ("+52 55 1234 5678", "1234 5678"),
    "phone with dashes": ("55-8765-4321", "8765-4321"),
    "phone with brackets": ("(664) 123 4567", "123 4567"),
    "phone run": ("5519876543", "5519876543"),
    "US phone": ("+1 (520) 623-7874", "623-7874"),
    "phone with dots": ("33.4567.8901", "4567.8901"),
    "email": ("rosa.quispe88@gmail.com", "quispe88"),
    "passport": ("pasaporte G47211390", "G47211390"),
    "CURP": ("CURP GOMC800101HDFRRL09", "GOMC800101HDFRRL09"),
    "case folio": ("folio de la COMAR 2026118842", "2026118842"),
    "handle": ("mi insta @yesi_la_catracha", "yesi_la_catracha"),
    "street address": ("vivo en calle Nicolás Bravo 1187", "1187"),
    "colonia": ("en la colonia Tlatelolquito", "Tlatelolquito"),
    "US address": ("I stayed at 4512 Alvarado Street", "4512"),
}


def test_twenty_kinds_of_personal_data_are_taken_out(drafting_engine: Engine) -> None:
    message = ". ".join(text for text, _ in PERSONAL.values())
    cleaned = scrub(message, drafting_engine.known_words)
    found = [what for what, (_, secret) in PERSONAL.items() if secret in cleaned]
    assert not found, f"left in: {found}\n{cleaned}"
    # What helps staff stays: the place, the amount, the question itself.
    kept = scrub(
        "me pidieron 500 pesos en la garita de Tijuana, que hago?", drafting_engine.known_words
    )
    assert kept == "me pidieron 500 pesos en la garita de Tijuana, que hago?"


@pytest.fixture(scope="module")
def drafting_engine(engine: Engine) -> Engine:
    return engine


class Chat:
    """A person on a channel whose inbox is on; what they choose to send lands in `kept`."""

    def __init__(self, engine: Engine, keep: bool = True) -> None:
        self.kept: list[Kept] = []
        self.pipeline = Pipeline(
            "test", lambda: engine, keep=(lambda _c, k: self.kept.append(k)) if keep else None
        )

    def say(self, text: str, hint: str = "es") -> Response:
        return self.pipeline.answer_now(1, Text(text, hint))

    def press(self, response: Response, label: str) -> Response:
        button = next(
            b
            for r in response.replies
            if isinstance(r, TextReply)
            for b in r.all_buttons
            if b.label == label
        )
        return self.pipeline.answer_now(1, Press(button.payload))


def labels(response: Response) -> list[str]:
    return [b.label for r in response.replies if isinstance(r, TextReply) for b in r.all_buttons]


def test_not_understood_offers_once_and_only_a_press_sends(engine: Engine) -> None:
    chat = Chat(engine)
    lost = chat.say("me llamo Xochitl, cuanto cuesta un boleto de avion de cancun a madrid")
    assert labels(lost)[0] == OFFER and lost.offered
    assert chat.kept == []  # offered, not sent
    sent = chat.press(lost, OFFER)
    assert "sin tu nombre" in sent.replies[0].text
    (kept,) = chat.kept
    assert kept.lang == "es" and "Xochitl" not in kept.text and "boleto de avion" in kept.text
    assert UsageKind.INBOX_SENT in [u.kind for u in sent.usage]
    # The same button again sends nothing more; and the offer is not made twice.
    again = chat.press(lost, OFFER)
    assert "ya no está" in again.replies[0].text and len(chat.kept) == 1
    assert OFFER not in labels(chat.say("cual es el mejor equipo de futbol de españa"))


def test_what_a_message_counts_and_keeps_waits_for_its_release(engine: Engine) -> None:
    """WhatsApp holds a delivery's counts and inbox question until it knows the delivery is its
    own (`Pipeline.holding`): nothing reaches the store before `release`, and what is never
    released (another worker's delivery) is never counted."""
    chat = Chat(engine)
    counted: list[UsageKind] = []
    chat.pipeline._record = lambda _channel, usage: counted.extend(u.kind for u in usage)
    lost = chat.say("me llamo Xochitl, cuanto cuesta un boleto de avion de cancun a madrid")
    assert UsageKind.MESSAGE in counted  # not holding: counted at once
    counted.clear()
    with chat.pipeline.holding() as held:
        sent = chat.press(lost, OFFER)
    assert counted == [] and chat.kept == []
    assert [u.kind for u in held.usage] == [u.kind for u in sent.usage] and len(held.kept) == 1
    chat.pipeline.release(held)
    assert counted == [u.kind for u in sent.usage] and len(chat.kept) == 1
    with chat.pipeline.holding():  # held, then dropped: another worker's delivery
        chat.say("me pidieron mordida")
    assert counted == [u.kind for u in sent.usage] and len(chat.kept) == 1


def test_no_on_an_answer_to_a_typed_question_offers_it(engine: Engine) -> None:
    chat = Chat(engine)
    answer = chat.say("how much cash can i bring without declaring", hint="en")
    assert OFFER_EN not in labels(answer)
    no = chat.press(answer, "👎 No")
    assert labels(no)[0] == OFFER_EN
    chat.press(no, OFFER_EN)
    assert [k.text for k in chat.kept] == ["how much cash can i bring without declaring"]


def test_no_on_an_answer_reached_by_buttons_offers_nothing(engine: Engine) -> None:
    chat = Chat(engine)
    menu = chat.pipeline.answer_now(1, chat_command(CommandName.MENU))
    emergency = chat.press(menu, "Números de emergencia")
    assert OFFER not in labels(chat.press(emergency, "👎 No"))


def test_a_press_after_writing_something_else_never_sends_the_later_message(
    engine: Engine,
) -> None:
    chat = Chat(engine)
    lost = chat.say("cuanto cuesta un boleto de avion de cancun a madrid")
    chat.say("me pidieron mordida, me llamo Xochitl")
    gone = chat.press(lost, OFFER)
    assert "ya no está" in gone.replies[0].text and chat.kept == []


def test_someone_in_danger_is_not_offered_the_inbox(engine: Engine) -> None:
    chat = Chat(engine)
    danger = chat.say("unos vatos me andan siguiendo")  # danger, and no topic
    assert "911" in danger.replies[0].text
    assert OFFER not in labels(danger) and not danger.offered


def test_without_somewhere_to_keep_it_nothing_is_offered(engine: Engine) -> None:
    chat = Chat(engine, keep=False)
    assert OFFER not in labels(chat.say("cuanto cuesta un boleto de avion de cancun a madrid"))
    assert not Settings.from_env({"ORIENTA_INBOX": "off"}).inbox
    assert Settings.from_env({}).inbox and Settings.from_env({}).inbox_days == 90


def test_privacy_explains_it(engine: Engine) -> None:
    answer = engine.content.languages["es"].entries["meta.privacy"].answer
    assert "enviar tu pregunta al equipo" in answer and "Solo si lo tocas" in answer


def chat_command(name: CommandName) -> object:
    from bot.engine.events import Command

    return Command(name, "es")


# ---------------------------------------------------------------------- the store and the CLI


def test_the_store_keeps_reads_deletes_and_forgets_after_the_retention(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"

    async def scenario() -> list[str]:
        store = UsageStore(db, inbox_days=90)
        old = (datetime.now(UTC).date() - timedelta(days=91)).isoformat()
        store.keep("telegram", Kept("una pregunta vieja", "es", ("rights.asylum",)), day=old)
        store.keep("whatsapp", Kept("donde pido asilo en tapachula", "es", ("rights.asylum",)))
        store.keep("telegram", Kept("can i work while i wait", "en", ("rights.work",)))
        await store.flush()
        items = await store.inbox()
        assert [i.text for i in items] == [
            "can i work while i wait",
            "donde pido asilo en tapachula",
        ]
        assert await store.inbox_delete([items[0].id]) == 1
        texts = [i.text for i in await store.inbox()]
        await store.close()
        return texts

    assert asyncio.run(scenario()) == ["donde pido asilo en tapachula"]
    with sqlite3.connect(db) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(inbox)")]
        rows = connection.execute("SELECT day, channel, language, text FROM inbox").fetchall()
    # Nothing but these: no chat, user, message id or time of day.
    assert columns == ["id", "day", "channel", "language", "text", "guesses"]
    assert [r[3] for r in rows] == ["donde pido asilo en tapachula"]  # the old one is gone
    assert len(rows[0][0]) == 10  # a day, not a time


def test_orienta_inbox_list_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "usage.db"

    async def seed() -> None:
        store = UsageStore(db)
        store.keep("telegram", Kept('me pidieron "cuota" en el reten', "es", ("complaint.bribe",)))
        store.keep("console", Kept("hola robot que dia es hoy", "es", ()))
        await store.flush()
        await store.close()

    asyncio.run(seed())
    assert main(["inbox", "list", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert "· es · complaint.bribe" in listed and 'me pidieron "cuota" en el reten' in listed
    assert main(["inbox", "export", "--db", str(db)]) == 0
    exported = capsys.readouterr().out
    assert "# content/faq_es.yaml, topic complaint.bribe, under `questions:`" in exported
    assert '      - "me pidieron \\"cuota\\" en el reten"' in exported
    import yaml

    block = exported.split("topic complaint.bribe, under `questions:`\n")[1].split("\n\n")[0]
    assert yaml.safe_load(block) == ['me pidieron "cuota" en el reten']
    assert main(["inbox", "export", "--format", "csv", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("id,day,channel,language,guesses,text\n")
    assert main(["inbox", "list", "--db", str(tmp_path / "none.db")]) == 0
    assert "empty" in capsys.readouterr().out


def test_the_console_offers_and_keeps(engine: Engine) -> None:
    from bot.handlers.console import ConsoleChat

    kept: list[Kept] = []
    out = io.StringIO()
    console = ConsoleChat(engine, out, "es", keep=kept.append)
    console.start()
    console.handle_line("cuanto cuesta un boleto de avion de cancun a madrid, soy Yesenia")
    number = next(i for i, b in enumerate(console.buttons, 1) if b.label == OFFER)
    console.handle_line(str(number))
    assert "Gracias. Tu pregunta llegó al equipo" in out.getvalue()
    assert [k.text for k in kept] == [
        "cuanto cuesta un boleto de avion de cancun a madrid, soy [name]"
    ]
