"""Telegram end to end: the real python-telegram-bot Application, started by `orienta run`'s own
code (bot.app.serve), against a fake Bot API server on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.app import serve
from bot.config import ROOT, Settings
from bot.handlers.telegram_render import split
from tests.conftest import opening
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.fakes.process import start_orienta, stop_orienta
from tests.fakes.started import Started

# Real servers or processes (`make test`, not `make test-fast`), over the shipped content.
pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]

ADMIN = 999
USER = 555


@dataclass
class Running:
    api: FakeBotAPI
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[int]

    def keyboard(self, call: Call) -> list[dict[str, Any]]:
        markup = call.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def button(self, call: Call, label: str) -> str:
        for button in self.keyboard(call):
            if button["text"] == label:
                return str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in {[b['text'] for b in self.keyboard(call)]}")

    async def say(self, text: str, chat_id: int = USER, language: str | None = "es") -> Call:
        before = len(self.api.calls_to("sendMessage"))
        self.api.queue(self.api.text_update(text, chat_id, language))
        return (await self.api.wait_for("sendMessage", before + 1))[-1]

    async def press(
        self, call: Call, label: str, method: str = "editMessageText", chat_id: int = USER
    ) -> Call:
        before = len(self.api.calls_to(method))
        self.api.queue(self.api.press_update(self.button(call, label), chat_id))
        return (await self.api.wait_for(method, before + 1))[-1]


def base_settings(tmp_path: Path, api: FakeBotAPI, **overrides: Any) -> Settings:
    return api.settings(tmp_path / "usage.db", **{"admin_ids": frozenset({ADMIN}), **overrides})


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """`orienta run` polling a fake Bot API; stopped (and checked to exit 0) on the way out."""
    async with FakeBotAPI() as api:
        settings = base_settings(tmp_path, api)
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        await api.wait_for("getUpdates")
        yield Running(api, settings, stop, task)
        stop.set()
        assert await asyncio.wait_for(task, 15) == 0


@pytest.fixture()
async def bot(tmp_path: Path) -> AsyncIterator[Running]:
    async with running(tmp_path) as started:
        yield started


async def test_start_greets_in_the_users_language_and_registers_commands(bot: Running) -> None:
    reply = await bot.say("/start")
    assert reply.params["text"].startswith("¡Hola! Soy Orienta.")
    assert [b["text"] for b in bot.keyboard(reply)][:4] == [
        "Viajo a México",
        "Denunciar un abuso",
        "Soy extranjero en México",
        "Grupo Beta cercano",
    ]
    english = await bot.say("/start", chat_id=556, language="en")
    assert english.params["text"].startswith("Hi! I am Orienta.")
    commands = bot.api.calls_to("setMyCommands")
    by_language = {
        c.params.get("language_code"): [x["command"] for x in c.params["commands"]]
        for c in commands
    }
    assert set(by_language) == {"es", "en", "ht", "fr", None}  # every language served
    assert by_language["en"] == ["start", "menu", "help", "language", "about", "privacy"]
    spanish = next(c for c in commands if c.params.get("language_code") == "es")
    assert spanish.params["commands"][1]["description"] == "Menú principal"
    kreyol = next(c for c in commands if c.params.get("language_code") == "ht")
    assert kreyol.params["commands"][1]["description"] != "Menú principal"  # its own words


@pytest.mark.parametrize(
    ("command", "start"),
    [
        ("/menu", "Escribe tu pregunta con tus palabras"),
        ("/help", "Escribe tu pregunta con tus palabras, por ejemplo"),
        ("/language", "Elige tu idioma:"),
        ("/about", "Sobre Orienta"),
        ("/privacy", "Tu privacidad"),
        ("/nonsense", "Escribe tu pregunta con tus palabras, por ejemplo"),
    ],
)
async def test_commands(bot: Running, command: str, start: str) -> None:
    reply = await bot.say(command)
    assert reply.params["text"].startswith(start)


async def test_free_text_in_spanish_and_english(bot: Running) -> None:
    spanish = await bot.say("me pidieron mordida en la garita")
    assert spanish.params["text"].startswith(opening("es", "complaint.bribe"))
    assert "👍 Sí" in [b["text"] for b in bot.keyboard(spanish)]
    english = await bot.say("how do i ask for asylum", language="es")
    assert english.params["text"].startswith(opening("en", "rights.asylum"))
    assert "🏠 Menu" in [b["text"] for b in bot.keyboard(english)]
    for button in bot.keyboard(english):
        assert len(button["callback_data"].encode()) <= 64


async def test_a_path_through_each_guided_tree_to_its_end(bot: Running) -> None:
    menu = await bot.say("/menu", language="en")
    # Report abuse: danger? no -> immigration agent -> asked for money -> the two answers.
    step = await bot.press(menu, "Report abuse")
    assert step.params["text"] == "First, are you in danger right now?"
    step = await bot.press(step, "No, I want to report")
    step = await bot.press(step, "Immigration agent")
    outcome = await bot.press(step, "They asked for money", method="sendMessage")
    assert outcome.params["text"] == "These answers can help you. Choose one:"
    answer = await bot.press(outcome, "Asked for a bribe", method="sendMessage")
    assert answer.params["text"].startswith("Asked for a bribe\n\nDo not pay.")
    # Travelling to Mexico: by land with a vehicle -> vehicle permit.
    step = await bot.press(menu, "Travelling to Mexico")
    step = await bot.press(step, "By land, with a vehicle")
    answer = await bot.press(step, "Vehicle permit", method="sendMessage")
    assert answer.params["text"].startswith(opening("en", "paisano.vehicle_permit"))
    # Foreigner in Mexico: detained -> my rights.
    step = await bot.press(menu, "Foreigner in Mexico")
    step = await bot.press(step, "Immigration detained me")
    answer = await bot.press(step, "My rights if detained", method="sendMessage")
    assert answer.params["text"].startswith(opening("en", "rights.detention"))
    # Nearest Grupo Beta: choose a state -> Sonora.
    step = await bot.press(menu, "Nearest Grupo Beta")
    states = await bot.press(step, "🗺️ Choose a state")
    assert states.params["text"].startswith("Choose a state.")
    sonora = await bot.press(states, "Sonora", method="sendMessage")
    assert sonora.params["text"].startswith(
        "Grupos Beta in Sonora:\n• Grupo Beta San Luis Río Colorado"
    )


async def test_share_location_button_and_a_shared_location(bot: Running) -> None:
    menu = await bot.say("/menu", language="en")
    step = await bot.press(menu, "Nearest Grupo Beta")
    request = await bot.press(step, "📍 Send my location", method="sendMessage")
    keyboard = request.params["reply_markup"]["keyboard"]
    assert keyboard[0][0] == {"text": "📍 Share my location", "request_location": True}
    (_, choose) = await bot.api.wait_for(
        "sendMessage",
        where=lambda c: c.params["text"] in (request.params["text"], "Or choose:"),
        count=2,
    )
    assert "🗺️ Choose a state" in [b["text"] for b in bot.keyboard(choose)]
    before = len(bot.api.calls_to("sendMessage"))
    bot.api.queue(bot.api.location_update(32.52, -117.02, language="en"))
    (venue,) = await bot.api.wait_for("sendVenue")
    assert (
        venue.params["title"] == "Grupo Beta Tijuana"
        and venue.params["address"] == "Tijuana, Baja California"
    )
    assert venue.params["reply_markup"] == {"remove_keyboard": True}
    listing = (await bot.api.wait_for("sendMessage", before + 1))[-1]
    assert listing.params["text"].startswith(
        "The nearest Grupos Beta to the place you shared:\n1. Grupo Beta Tijuana"
    )
    # Another kind near the same place: a venue pin for the nearest, then the list.
    bot.api.queue(bot.api.press_update(bot.button(listing, "🏠 Shelters")))
    (_, shelter) = await bot.api.wait_for("sendVenue", 2)
    assert shelter.params["title"] == "Casa del Migrante en Tijuana (Centro Scalabrini)"
    shelters = (await bot.api.wait_for("sendMessage", before + 2))[-1]
    assert shelters.params["text"].startswith("🏠 Shelters, nearest first:")
    assert "city centres, not the office" in shelters.params["text"]


@pytest.mark.parametrize("kind", ["sticker", "photo"])
async def test_stickers_and_photos_get_a_polite_note(bot: Running, kind: str) -> None:
    update = bot.api.sticker_update() if kind == "sticker" else bot.api.photo_update(language="en")
    bot.api.queue(update)
    (reply,) = await bot.api.wait_for("sendMessage")
    assert reply.params["text"].startswith(
        "No puedo abrir stickers" if kind == "sticker" else "I cannot open stickers"
    )


async def test_a_5000_character_message_is_answered(bot: Running) -> None:
    text = "me pidieron mordida en la garita " + "y " * 2500
    reply = await bot.say(text[:5000])
    assert reply.params["text"].startswith("Me piden mordida")


async def test_a_429_answer_is_retried_and_the_message_arrives(bot: Running) -> None:
    bot.api.fail_next("sendMessage", times=1, code=429, retry_after=1)
    bot.api.queue(bot.api.text_update("como pido asilo"))
    calls = await bot.api.wait_for("sendMessage", 2)
    assert calls[0].params["text"] == calls[1].params["text"]
    assert calls[1].at - calls[0].at >= 0.9  # waited as Telegram asked
    assert calls[1].params["text"].startswith("Pedir asilo (COMAR)")


async def test_stats_for_admins_only(bot: Running) -> None:
    await bot.say("me pidieron mordida")
    await bot.say("receta de pozole")
    refusal = await bot.say("/stats")
    assert (
        refusal.params["text"]
        == "Lo siento, las estadísticas de uso son solo para el equipo que opera Orienta."
    )
    assert not any(ch.isdigit() for ch in refusal.params["text"])
    report = await bot.say("/stats", chat_id=ADMIN, language="en")
    text = report.params["text"]
    assert text.startswith("📊 Last 7 days")
    assert "Messages: 2" in text and "Unanswered: 1 (50%)" in text
    assert "1. complaint.bribe: 1" in text and "Last 30 days" in text


async def test_groups_get_one_pointer_to_a_private_chat_and_silence(bot: Running) -> None:
    bot.api.queue(bot.api.text_update("hola", chat_id=-100, chat_type="group"))
    bot.api.queue(bot.api.text_update("/start", chat_id=-100, chat_type="group"))
    (reply,) = await bot.api.wait_for("sendMessage")
    assert reply.params["chat_id"] == -100
    assert reply.params["text"].endswith("https://t.me/orienta_test_bot")
    await bot.say("hola")  # a later private message is answered; the group text never was
    assert [c.params["chat_id"] for c in bot.api.calls_to("sendMessage")] == [-100, USER]


async def test_edited_messages_are_ignored(bot: Running) -> None:
    edited = bot.api.text_update("me pidieron mordida")
    edited["edited_message"] = edited.pop("message")
    bot.api.queue(edited)
    reply = await bot.say("hola")
    assert reply.params["text"].startswith("¡Hola!")
    assert len(bot.api.calls_to("sendMessage")) == 1


async def test_a_flooding_chat_is_told_once_and_ignored(bot: Running) -> None:
    for n in range(25):
        bot.api.queue(bot.api.text_update(f"asilo {n}", chat_id=4242))
    await bot.api.wait_for("sendMessage", 21, where=lambda c: c.params.get("chat_id") == 4242)
    other = await bot.say("asilo", chat_id=4343)  # other chats are unaffected
    assert other.params["text"].startswith("Pedir asilo")
    texts = bot.api.sent_texts(4242)
    assert texts.count("Estás enviando muchos mensajes. Espera un minuto y vuelve a escribir.") == 1
    assert len(texts) == 21


async def test_nothing_identifying_reaches_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI() as api:
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(base_settings(tmp_path, api), stop, started))
        await started.wait()
        api.queue(api.text_update("me llamo Rosa y me pidieron mordida", chat_id=31337))
        await api.wait_for("sendMessage")
        stop.set()
        assert await task == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert api.token not in logged and api.token.split(":")[1] not in logged
    assert "Rosa" not in logged and "31337" not in logged


async def test_webhook_mode_checks_the_secret_header(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        settings = base_settings(
            tmp_path, api, telegram_webhook_url="https://bot.example.org/telegram/webhook", port=0
        )
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        (hook,) = api.calls_to("setWebhook")
        assert hook.params["url"] == "https://bot.example.org/telegram/webhook"
        secret = hook.params["secret_token"]
        assert not api.calls_to("getUpdates")
        port = started.port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            update = api.text_update("como pido asilo")
            bad = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            assert bad.status_code == 403
            missing = await client.post("/telegram/webhook", json=update)
            assert missing.status_code == 403
            good = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )
            assert good.status_code == 200
            (reply,) = await api.wait_for("sendMessage")
            assert reply.params["text"].startswith("Pedir asilo")
            assert (await client.get("/healthz")).text == "ok"
            depth = 100_000
            nested = await client.post(
                "/telegram/webhook",
                content=b'{"update_id": 1, "message": ' + b"[" * depth + b"]" * depth + b"}",
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )
            assert nested.status_code == 400
        stop.set()
        assert await task == 0


def test_long_texts_are_split_cleanly() -> None:
    text = "\n\n".join(f"Paragraph {n}. " + "word " * 300 for n in range(6))
    pieces = split(text, 4096)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) > 1
    assert all(p.startswith("Paragraph") for p in pieces)
    assert split("x" * 9000, 4096) == ["x" * 4096, "x" * 4096, "x" * 808]


async def test_sigterm_stops_polling_flushes_counts_and_exits_0(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        db = tmp_path / "usage.db"
        process = await start_orienta(db, api)
        try:
            await api.wait_for("getUpdates", timeout=30)
            api.queue(api.text_update("me pidieron mordida"))
            await api.wait_for("sendMessage")
        finally:
            code = await stop_orienta(process, timeout=10)
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert code == 0, stderr
        assert api.token not in stderr
    rows = (
        sqlite3.connect(db)
        .execute("SELECT channel, event, topic, count FROM usage ORDER BY event")
        .fetchall()
    )
    assert ("telegram", "answered", "complaint.bribe", 1) in rows
    assert ("telegram", "message", "", 1) in rows


def test_run_without_configuration_exits_2_and_names_the_variables() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WHATSAPP_", "ORIENTA_ADMIN"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in done.stderr and "orienta chat" in done.stderr


def test_settings_never_show_secrets() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:SECRET",
            "ORIENTA_ADMIN_TOKEN": "admin-secret-0123456789-abcdefgh",
            "WHATSAPP_APP_SECRET": "shh",
        }
    )
    assert (
        "SECRET" not in repr(settings)
        and "admin-secret-0123456789-abcdefgh" not in repr(settings)
        and "shh" not in repr(settings)
    )
    assert json.dumps(str(settings)).count("secret") == 0


async def test_every_button_press_is_answered(bot: Running) -> None:
    menu = await bot.say("/menu", language="en")
    step = await bot.press(menu, "Report abuse")
    await bot.press(step, "Yes, I am in danger", method="sendMessage")
    bot.api.queue(bot.api.press_update("forged|payload"))
    answered = await bot.api.wait_for("answerCallbackQuery", 3)
    assert len(answered) == 3
    expired = await bot.api.wait_for(
        "sendMessage", where=lambda c: c.params["text"].startswith("Ese botón ya no funciona")
    )
    assert expired


async def test_a_429_with_the_rate_limiter_on(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(
            serve(base_settings(tmp_path, api, telegram_rate_limit=30), stop, started)
        )
        await started.wait()
        api.fail_next("sendMessage", times=1, code=429, retry_after=1)
        api.queue(api.text_update("como pido asilo"))
        calls = await api.wait_for("sendMessage", 2)
        assert calls[1].params["text"].startswith("Pedir asilo (COMAR)")
        stop.set()
        assert await task == 0


@pytest.mark.parametrize(
    ("command", "start"),
    [
        ("/help?", "Escribe tu pregunta con tus palabras, por ejemplo"),
        ("/menu!", "Escribe tu pregunta con tus palabras o elige un tema"),
        ("/about...", "Sobre Orienta"),
    ],
)
async def test_a_command_followed_by_punctuation_is_still_answered(
    bot: Running, command: str, start: str
) -> None:
    reply = await bot.say(command)
    assert reply.params["text"].startswith(start)


async def test_a_forged_button_with_a_superscript_digit_gets_the_menu(bot: Running) -> None:
    bot.api.queue(bot.api.press_update("v|es|o|tree.complaint:danger:²"))
    await bot.api.wait_for("answerCallbackQuery")
    replies = await bot.api.wait_for("sendMessage")
    assert replies[0].params["text"] == "Ese botón ya no funciona. Aquí está el menú:"


async def test_a_429_asking_for_ten_minutes_drops_one_reply_and_stalls_nothing(
    tmp_path: Path,
) -> None:
    """With the rate limiter on, Telegram's retry_after would hold every chat (and shutdown)."""
    async with FakeBotAPI() as api:
        db = tmp_path / "usage.db"
        process = await start_orienta(db, api, TELEGRAM_RATE_LIMIT="30")
        try:
            await api.wait_for("getUpdates", timeout=30)
            api.fail_next("sendMessage", times=1, code=429, retry_after=600)
            api.queue(api.text_update("hola", chat_id=601))
            await api.wait_for("sendMessage")  # the refused one
            api.queue(api.text_update("como pido asilo", chat_id=602))
            (reply,) = await api.wait_for(
                "sendMessage", where=lambda c: c.params["chat_id"] == 602, timeout=5
            )
            assert reply.params["text"].startswith("Pedir asilo")
            loop = asyncio.get_running_loop()
            asked = loop.time()
        finally:
            code = await stop_orienta(process, timeout=10)
        assert code == 0 and loop.time() - asked < 5  # SIGTERM is honoured at once
    rows = dict(
        (
            (event, count)
            for event, count in sqlite3.connect(db).execute(
                "SELECT event, sum(count) FROM usage GROUP BY event"
            )
        )
    )
    assert rows["undelivered"] == 1 and rows["message"] == 2


UPDATES = yaml.safe_load(
    (Path(__file__).parent / "data" / "telegram_updates.yaml").read_text(encoding="utf-8")
)["updates"]


async def test_recorded_update_shapes_get_the_replies_a_user_would_expect(bot: Running) -> None:
    """Each recorded shape (tests/data/telegram_updates.yaml) from its own chat. Updates are
    answered concurrently, so for a shape that should get no reply a later command in the same
    chat marks the end (/start in a group, /about in private): what gets no reply is filtered
    before any await, so when the marker's reply is out, the shape was dealt with."""
    wrong = []
    for number, shape in enumerate(UPDATES):
        chat_type = shape.get("chat_type", "private")
        chat_id = 40_000 + number if chat_type == "private" else -100_000 - number
        message = dict(shape["message"])
        if "reply_to_message" in message:
            message["reply_to_message"] = {
                **message["reply_to_message"],
                "chat": {"id": chat_id, "type": chat_type},
            }
        bot.api.queue(bot.api.message_update(chat_id, "es", chat_type, **message))

        def mine(call: Call, chat_id: int = chat_id) -> bool:
            return call.params.get("chat_id") == chat_id

        if shape["expect"] == "none":
            marker = "/start" if chat_type != "private" else "/about"
            bot.api.queue(bot.api.text_update(marker, chat_id=chat_id, chat_type=chat_type))
            (pointer,) = await bot.api.wait_for("sendMessage", where=mine)
            sent = [c for c in bot.api.calls if c.method.startswith("send") and mine(c)]
            if sent != [pointer]:
                wrong.append((shape["name"], [c.params.get("text", "")[:40] for c in sent]))
            continue
        first = (await bot.api.wait_for("sendMessage", where=mine))[0].params["text"]
        venues = [c for c in bot.api.calls_to("sendVenue") if mine(c)]
        expected = {
            "note": first.startswith("No puedo abrir stickers"),
            "answer": first.startswith(opening("es", "complaint.bribe", 0)),
            "help": first.startswith("Escribe tu pregunta con tus palabras, por"),
            "menu": first.startswith("Escribe tu pregunta con tus palabras o"),
            "places": "Grupo Beta" in first or bool(venues),
        }
        if not expected[shape["expect"]]:
            wrong.append((shape["name"], first[:60]))
    assert not wrong, wrong


async def test_a_complaint_drafted_on_telegram_leaves_no_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The drafter end to end: presses edit the step in place, typed answers get the next step,
    the complaint arrives as plain messages; then the database files (WAL included) and the
    logs are searched for every typed answer, and only counts are found."""
    caplog.set_level(logging.DEBUG)
    typed = {
        "place": "Puente Zaragoza Xoconostle",
        "time": "around midnight Zacatzontli",
        "what": "The officer Tlacaelel took my passport and laughed",
        "asked": "250 dollars Quimichin",
        "who": "badge ZX-99812",
    }
    async with running(tmp_path) as bot:
        api, settings = bot.api, bot.settings
        step = await bot.say("help me write a complaint", language="en")
        assert step.params["text"].startswith("I will help you write your complaint")
        step = await bot.press(step, "Customs")
        assert step.params["text"].startswith("Step 2 of 8")
        step = await bot.say(typed["place"], language="en")
        step = await bot.press(step, "Yesterday")
        assert step.params["text"].startswith("About what time?")
        step = await bot.say(typed["time"], language="en")
        step = await bot.say(typed["what"], language="en")
        step = await bot.say(typed["asked"], language="en")
        step = await bot.say(typed["who"], language="en")
        step = await bot.press(step, "Photos")
        assert "✅ Photos" in [b["text"] for b in bot.keyboard(step)]
        step = await bot.press(step, "✅ Done")
        step = await bot.press(step, "An investigation")
        before = len(api.calls_to("sendMessage"))
        api.queue(api.press_update(bot.button(step, "✅ Done"), USER))
        sent = (await api.wait_for("sendMessage", before + 5))[before:]
        letter, spanish, where = sent[1].params, sent[3].params, sent[4].params
        assert letter["text"].startswith("COMPLAINT") and "reply_markup" not in letter
        assert all(value in letter["text"] for value in typed.values())
        assert "La presento contra personal de la aduana (ANAM)." in spanish["text"]
        assert "sidec.buengobierno.gob.mx" in where["text"]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("usage.db")]
    blob = b"".join(p.read_bytes() for p in files)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for what, value in typed.items():
        for word in value.split():
            if len(word) > 5:
                assert word.encode() not in blob, f"{what} ({word}) found in the database files"
                assert word not in logged, f"{what} ({word}) found in the logs"
    with sqlite3.connect(settings.db_path) as db:
        events = dict(
            db.execute("SELECT event || ':' || topic, SUM(count) FROM usage GROUP BY 1").fetchall()
        )
    assert events["draft_started:"] == 1 and events["draft_done:customs"] == 1


async def test_a_question_reaches_the_inbox_only_on_a_press_and_scrubbed(tmp_path: Path) -> None:
    """Two messages full of personal data are not understood. The first is never sent: its text
    reaches no file. The person sends the second with the button: its row holds none of the
    personal data either, and nothing says who sent it."""
    from tests.test_inbox import PERSONAL

    planted = ". ".join(text for text, _ in PERSONAL.values())
    private = "Hola soy Tlacotzin Mendieta y quiero saber cuanto cuesta volar a Madrid"
    sent = f"cuanto cuesta un boleto de avion a madrid. {planted}"
    async with running(tmp_path) as bot:
        settings = bot.settings
        first = await bot.say(private, chat_id=4242)
        assert first.params["text"].startswith("Perdón, no entendí")
        offer = "📨 Enviar mi pregunta al equipo (anónima)"
        assert bot.keyboard(first)[0]["text"] == offer
        second = await bot.say(sent, chat_id=4242)
        assert offer not in [b["text"] for b in bot.keyboard(second)]  # once a conversation
        thanks = await bot.press(first, offer, method="sendMessage", chat_id=4242)
        assert "ya no está" in thanks.params["text"]  # that button was for the first message
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("usage.db"))
    assert b"Tlacotzin" not in blob and b"Mendieta" not in blob and b"Madrid" not in blob
    # A fresh conversation: the person sends the second message on purpose.
    async with running(tmp_path) as bot:
        settings = bot.settings
        lost = await bot.say(sent, chat_id=4343)
        thanks = await bot.press(lost, offer, method="sendMessage", chat_id=4343)
        assert thanks.params["text"].startswith("Gracias. Tu pregunta llegó al equipo")
    with sqlite3.connect(settings.db_path) as db:
        rows = db.execute("SELECT * FROM inbox").fetchall()
    ((_id, day, channel, language, text, _guesses),) = rows
    assert (channel, language, len(day)) == ("telegram", "es", 10)
    assert text.startswith("cuanto cuesta un boleto de avion a madrid")
    leaked = [what for what, (_, secret) in PERSONAL.items() if secret in text]
    assert not leaked, f"{leaked} in {text!r}"
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("usage.db"))
    for what, (_, secret) in PERSONAL.items():
        assert secret.encode() not in blob, f"{what} found in the database files"
    assert b"4343" not in blob and b"Tlacotzin" not in blob
