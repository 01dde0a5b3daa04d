"""WhatsApp end to end over real HTTP on loopback: `orienta run`'s web server on port 0 receives
signed webhook posts; a fake Graph API captures what the bot sends, and every message is checked
against WhatsApp's limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot import limits
from bot.app import serve
from bot.config import Settings
from bot.content.model import Content
from tests.conftest import opening
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.started import Started

# Real servers or processes (`make test`, not `make test-fast`), over the shipped content.
pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]

SECRET = "app-secret-for-tests"
VERIFY = "verify-me"
PHONE_ID = "1098765"
USER = "5215512345678"
_ids = itertools.count(1)


def check_limits(message: dict[str, Any]) -> None:
    """Every rule WhatsApp enforces on what we send."""
    assert message["messaging_product"] == "whatsapp" and message["to"]
    kind = message["type"]
    if kind == "text":
        assert 0 < len(message["text"]["body"]) <= limits.WHATSAPP_TEXT
    elif kind == "location":
        assert {"latitude", "longitude", "name", "address"} <= set(message["location"])
    else:
        assert kind == "interactive"
        interactive = message["interactive"]
        assert 0 < len(interactive["body"]["text"]) <= limits.WHATSAPP_INTERACTIVE_BODY
        if interactive["type"] == "button":
            buttons = interactive["action"]["buttons"]
            assert 1 <= len(buttons) <= limits.WHATSAPP_REPLY_BUTTONS
            for button in buttons:
                assert 0 < len(button["reply"]["title"]) <= limits.WHATSAPP_BUTTON_TITLE
                assert len(button["reply"]["id"]) <= 256
        elif interactive["type"] == "list":
            assert 0 < len(interactive["action"]["button"]) <= limits.WHATSAPP_BUTTON_TITLE
            rows = [row for section in interactive["action"]["sections"] for row in section["rows"]]
            assert 1 <= len(rows) <= limits.WHATSAPP_LIST_ROWS
            for row in rows:
                assert 0 < len(row["title"]) <= limits.WHATSAPP_LIST_ROW_TITLE
                assert len(row.get("description", "")) <= limits.WHATSAPP_LIST_ROW_DESCRIPTION
                assert len(row["id"]) <= 200
        else:
            assert interactive["type"] == "location_request_message"
            assert interactive["action"] == {"name": "send_location"}


def options(message: dict[str, Any]) -> dict[str, str]:
    """Title -> id of the buttons or list rows of an interactive message."""
    interactive = message.get("interactive", {})
    if interactive.get("type") == "button":
        return {b["reply"]["title"]: b["reply"]["id"] for b in interactive["action"]["buttons"]}
    if interactive.get("type") == "list":
        return {r["title"]: r["id"] for s in interactive["action"]["sections"] for r in s["rows"]}
    return {}


def text_of(message: dict[str, Any]) -> str:
    if message["type"] == "text":
        return str(message["text"]["body"])
    if message["type"] == "interactive":
        return str(message["interactive"]["body"]["text"])
    return ""


@dataclass
class WhatsApp:
    graph: FakeGraphAPI
    web: httpx.AsyncClient
    settings: Settings
    started: Started
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def envelope(
        self, *messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
        }
        if messages:
            value["contacts"] = [
                {"profile": {"name": "Test User"}, "wa_id": m["from"]} for m in messages
            ]
            value["messages"] = list(messages)
        if statuses:
            value["statuses"] = statuses
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"value": value, "field": "messages"}]}],
        }

    def message(
        self, kind: str, sender: str = USER, message_id: str | None = None, **body: Any
    ) -> dict[str, Any]:
        return {
            "from": sender,
            "id": message_id or f"wamid.in{next(_ids)}",
            "timestamp": str(int(time.time())),
            "type": kind,
            **body,
        }

    async def post(
        self, payload: dict[str, Any] | bytes, secret: str = SECRET, signature: str | None = None
    ) -> httpx.Response:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature is None:
            signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if signature:
            headers["X-Hub-Signature-256"] = signature
        return await self.web.post("/whatsapp/webhook", content=raw, headers=headers)

    async def send(self, message: dict[str, Any], expect: int = 1) -> list[dict[str, Any]]:
        """Deliver one user message; return the messages the bot sent in answer, which must be
        `expect`. The webhook is acknowledged once the message is answered and counted, so all
        of them are out when it returns."""
        before = len(self.graph.sent)
        response = await self.post(self.envelope(message))
        assert response.status_code == 200
        sent = self.graph.sent[before:]
        assert len(sent) == expect, [text_of(m)[:40] for m in sent]
        for item in sent:
            check_limits(item)
        return sent

    async def text(self, body: str, expect: int = 1, sender: str = USER) -> list[dict[str, Any]]:
        return await self.send(self.message("text", sender, text={"body": body}), expect)

    async def press(
        self, payload: str, title: str = "x", kind: str = "button_reply", expect: int = 1
    ) -> list[dict[str, Any]]:
        reply = {"id": payload, "title": title}
        return await self.send(
            self.message("interactive", interactive={"type": kind, kind: reply}), expect
        )


def whatsapp_settings(graph: FakeGraphAPI, tmp_path: Path, **overrides: Any) -> Settings:
    settings = Settings(
        db_path=tmp_path / "usage.db",
        port=0,
        content_poll_seconds=0,
        whatsapp_token=graph.token,
        whatsapp_phone_number_id=PHONE_ID,
        whatsapp_app_secret=SECRET,
        whatsapp_verify_token=VERIFY,
        whatsapp_api_base_url=graph.base_url,
    )
    return replace(settings, **overrides)


@pytest.fixture()
async def wa(tmp_path: Path) -> AsyncIterator[WhatsApp]:
    async with FakeGraphAPI() as graph:
        settings = whatsapp_settings(graph, tmp_path)
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{started.port}") as web:
            yield WhatsApp(graph, web, settings, started)
        stop.set()
        assert await task == 0


async def test_verification_handshake(wa: WhatsApp) -> None:
    ok = await wa.web.get(
        "/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
    )
    assert (
        ok.status_code == 200
        and ok.text == "1158201444"
        and ok.headers["content-type"].startswith("text/plain")
    )
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {},
    ):
        assert (await wa.web.get("/whatsapp/webhook", params=params)).status_code == 403


async def test_signatures_sizes_and_malformed_bodies(wa: WhatsApp) -> None:
    envelope = wa.envelope(wa.message("text", text={"body": "hola"}))
    assert (await wa.post(envelope, signature="")).status_code == 401
    assert (await wa.post(envelope, secret="not-the-secret")).status_code == 403
    assert (await wa.post(envelope, signature="sha256=" + "0" * 64)).status_code == 403
    assert (await wa.post(b"x" * (1024 * 1024 + 1))).status_code == 413
    assert (await wa.post(b"{not json")).status_code == 400
    assert (await wa.post(b"[1, 2]")).status_code == 400
    assert (
        await wa.post({"object": "whatsapp_business_account", "entry": "nonsense"})
    ).status_code == 200
    assert wa.graph.sent == []  # none of these reached the engine


async def test_text_in_spanish_and_english(wa: WhatsApp) -> None:
    (spanish, *_rest) = await wa.text("me pidieron mordida en la garita", expect=2)
    assert spanish["type"] == "text" and spanish["text"]["body"].startswith(
        opening("es", "complaint.bribe")
    )
    assert spanish["to"] == USER
    (english, *_rest) = await wa.text("how do i ask for asylum", expect=2)
    assert text_of(english).startswith(opening("en", "rights.asylum"))
    assert wa.graph.headers[-1]["authorization"] == f"Bearer {wa.graph.token}"


async def test_a_guided_path_with_buttons_and_list_replies(wa: WhatsApp) -> None:
    (menu,) = await wa.text("hola")
    assert menu["interactive"]["type"] == "list"
    assert text_of(menu).startswith("¡Hola! Soy Orienta.")
    assert list(options(menu))[:2] == ["Viajo a México", "Denunciar un abuso"]
    (danger,) = await wa.press(options(menu)["Denunciar un abuso"], kind="list_reply")
    assert text_of(danger) == "Antes de empezar, ¿estás en peligro ahora mismo?"
    assert danger["interactive"]["type"] == "list"  # 2 options + menu + language: more than 3
    (who,) = await wa.press(options(danger)["No, quiero denunciar"], kind="list_reply")
    assert text_of(who) == "¿Quién cometió el abuso?"
    (police,) = await wa.press(options(who)["Policía local o estatal"], kind="list_reply")
    (outcome,) = await wa.press(options(police)["Me pidieron dinero"], kind="list_reply")
    assert text_of(outcome) == "Estas respuestas te pueden ayudar. Elige una:"
    answer = await wa.press(options(outcome)["Me piden mordida"], kind="list_reply", expect=2)
    assert text_of(answer[0]).startswith(opening("es", "complaint.bribe"))
    (thanks,) = await wa.press(options(answer[1])["👍 Sí"], kind="list_reply")
    assert text_of(thanks) == "¡Gracias! Tu respuesta nos ayuda a mejorar."
    assert thanks["interactive"]["type"] == "button"  # Menu + language: reply buttons
    (again,) = await wa.press(options(thanks)["🏠 Menú"])
    assert text_of(again).startswith("Escribe tu pregunta con tus palabras")


async def test_switching_language_with_a_button(wa: WhatsApp) -> None:
    (menu,) = await wa.text("hola")
    # Four languages: the globe opens a chooser that names each in its own words.
    (chooser,) = await wa.press(options(menu)["🌐 Idioma"], kind="list_reply")
    assert {"Español", "English", "Kreyòl ayisyen", "Français"} <= set(options(chooser))
    kind = "list_reply" if chooser["interactive"]["type"] == "list" else "button_reply"
    (english,) = await wa.press(options(chooser)["English"], kind=kind)
    assert text_of(english).startswith("Write your question in your own words")
    assert "Report abuse" in options(english)
    (kreyol,) = await wa.press(options(chooser)["Kreyòl ayisyen"], kind=kind)
    assert "Denonse yon abi" in options(kreyol)


async def test_location_sends_a_pin_and_the_three_nearest(wa: WhatsApp) -> None:
    sent = await wa.send(
        wa.message("location", location={"latitude": 14.91, "longitude": -92.27}), expect=2
    )
    pin, listing = sent
    assert pin["type"] == "location" and pin["location"]["name"] == "Grupo Beta Tapachula"
    assert pin["location"]["address"] == "Tapachula, Chiapas"
    assert text_of(listing).startswith(
        "Los Grupos Beta más cercanos al lugar que compartiste:\n1. Grupo Beta Tapachula"
    )


async def test_find_beta_asks_for_the_location_natively(wa: WhatsApp) -> None:
    (menu,) = await wa.text("hola")
    (step,) = await wa.press(options(menu)["Grupo Beta cercano"], kind="list_reply")
    ask, choices = await wa.press(
        options(step)["📍 Enviar mi ubicación"], kind="list_reply", expect=2
    )
    assert ask["interactive"]["type"] == "location_request_message"
    assert "🗺️ Elegir un estado" in options(choices)


@pytest.mark.parametrize("kind", ["image", "audio", "sticker", "document"])
async def test_media_gets_a_polite_note(wa: WhatsApp, kind: str) -> None:
    (note,) = await wa.send(wa.message(kind, **{kind: {"id": "media-1", "mime_type": "x/y"}}))
    assert text_of(note).startswith("No puedo abrir stickers, fotos, audios")


async def test_a_repeated_delivery_is_answered_and_counted_once(wa: WhatsApp) -> None:
    message = wa.message("text", message_id="wamid.same", text={"body": "como pido asilo"})
    first = await wa.send(message, expect=2)
    assert text_of(first[0]).startswith("Pedir asilo")
    for _ in range(3):
        assert (await wa.post(wa.envelope(message))).status_code == 200
    later = await wa.text("gracias")  # the next real message proves the duplicates were dropped
    assert text_of(later[0]).startswith("De nada.")
    assert sum(1 for m in wa.graph.sent if text_of(m).startswith("Pedir asilo")) == 1
    assert wa.started.runtime is not None
    await wa.started.runtime.stats.flush()
    rows = await wa.started.runtime.stats.rows()
    assert sum(r.count for r in rows if r.event == "message") == 2


async def test_status_updates_are_ignored(wa: WhatsApp) -> None:
    statuses = [
        {"id": "wamid.out1", "status": s, "timestamp": "1", "recipient_id": USER}
        for s in ("sent", "delivered", "read")
    ]
    assert (await wa.post(wa.envelope(statuses=statuses))).status_code == 200
    (reply,) = await wa.text("hola")
    assert len(wa.graph.sent) == 1 and text_of(reply).startswith("¡Hola!")


async def test_a_429_then_success(wa: WhatsApp) -> None:
    wa.graph.fail_next(429, code=130429)
    sent = await wa.text("como pido asilo", expect=2)
    assert text_of(sent[0]).startswith("Pedir asilo")
    assert len(wa.graph.rejected) == 1 and text_of(wa.graph.rejected[0]) == text_of(sent[0])


async def test_a_500_is_retried(wa: WhatsApp) -> None:
    wa.graph.fail_next(500, times=2)
    sent = await wa.text("como pido asilo", expect=2)
    assert text_of(sent[0]).startswith("Pedir asilo") and len(wa.graph.rejected) == 2


async def test_outside_the_24_hour_window_is_dropped_and_the_bot_goes_on(
    wa: WhatsApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wa.graph.fail_next(400, code=131047)
    assert (
        await wa.post(
            wa.envelope(
                wa.message(
                    "text", sender="5219990000000", text={"body": "Soy Maria y me pidieron mordida"}
                )
            )
        )
    ).status_code == 200
    await wa.graph.wait_rejected(1)  # chats are answered concurrently: Maria's reply went first
    (reply,) = await wa.text("hola")
    assert text_of(reply).startswith("¡Hola!")
    assert len(wa.graph.rejected) == 1 and len(wa.graph.sent) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "131047" in logged
    assert "5219990000000" not in logged and "Maria" not in logged and "mordida" not in logged


async def test_long_answers_split_across_text_and_buttons_within_limits(wa: WhatsApp) -> None:
    sent = await wa.text("como saco el permiso para mi carro", expect=2)
    assert (
        sent[0]["type"] == "text" and len(text_of(sent[0])) > 1024
    )  # too long for a body: plain text first
    assert sent[1]["type"] == "interactive"


def test_rendering_more_than_ten_options_is_split() -> None:
    from bot.engine.replies import Button, TextReply
    from bot.handlers.whatsapp_render import render

    reply = TextReply(
        "Choose",
        tuple(Button(f"Option {n}", f"v|es|t|t{n}") for n in range(13)),
        (Button("🏠 Menu", "v|es|m|"), Button("🌐 English", "l|en|m|")),
    )
    bodies = render(reply, lambda s: s)
    assert [b["interactive"]["type"] for b in bodies] == ["list", "list", "button"]
    assert sum(len(options({"interactive": b["interactive"]})) for b in bodies) == 15
    for body in bodies:
        check_limits({"messaging_product": "whatsapp", "to": "1", **body})


async def test_incomplete_whatsapp_configuration_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        db_path=tmp_path / "u.db", whatsapp_token="t", whatsapp_phone_number_id=PHONE_ID
    )
    assert await serve(settings) == 2
    assert "WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN" in capsys.readouterr().err


DELIVERIES = yaml.safe_load(
    (Path(__file__).parent / "data" / "whatsapp_deliveries.yaml").read_text(encoding="utf-8")
)["deliveries"]


MENU = "Escribe tu pregunta con tus palabras o elige un tema:"


async def _until_the_menu(wa: WhatsApp, sender: str) -> list[dict[str, Any]]:
    """What `sender` was sent before the menu (the reply to their "menu", which comes last)."""
    count = 1
    while True:
        await wa.graph.wait_recipient(sender, count)
        mine = [m for m in wa.graph.sent if m["to"] == sender]
        if text_of(mine[-1]) == MENU:
            return mine[:-1]
        count = len(mine) + 1


async def test_every_documented_delivery_gets_the_replies_a_user_would_expect(
    wa: WhatsApp, content: Content
) -> None:
    """Replays every delivery shape of the Cloud API (tests/data/whatsapp_deliveries.yaml). After
    each, the same user sends "menu": its reply comes after any reply to the delivery (one
    conversation is answered in order), so what came before it is exactly the delivery's."""
    titles = tuple(e.title for e in content.languages["es"].entries.values())
    note = "No puedo abrir stickers, fotos, audios, videos ni archivos."
    wrong = []
    for number, shape in enumerate(DELIVERIES):
        sender = f"52155100{number:05d}"
        value: dict[str, Any] = dict(shape.get("value") or {})
        if "message" in shape:
            message = dict(shape["message"])
            if message.get("from") == USER:
                message["from"] = sender
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
                "contacts": [{"profile": {"name": "Test User"}, "wa_id": sender}],
                "messages": [message],
            }
        delivery = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"value": value, "field": shape["field"]}]}],
        }
        assert (await wa.post(delivery)).status_code == 200, shape["name"]
        assert (
            await wa.post(wa.envelope(wa.message("text", sender, text={"body": "menu"})))
        ).status_code == 200
        replies = await _until_the_menu(wa, sender)
        texts = [text_of(m) for m in replies]
        kinds = {
            "none": not replies,
            "note": len(replies) == 1 and texts[0].startswith(note),
            # A long answer goes as its text, then its buttons ("Elige una opción:").
            "answer": bool(replies) and texts[0].startswith(titles),
            "press": bool(replies) and texts[0] != "" and not texts[0].startswith(note),
            "places": bool(replies) and "Grupo Beta" in " ".join(texts),
        }
        if not kinds[shape["expect"]]:
            wrong.append((shape["name"], shape["expect"], [t[:40] for t in texts]))
    assert not wrong, wrong


async def test_a_delivery_without_a_message_id_is_answered_once(wa: WhatsApp) -> None:
    message = wa.message("text", text={"body": "menu"})
    del message["id"]
    await wa.send(message)
    assert (await wa.post(wa.envelope(message))).status_code == 200  # WhatsApp retries it
    await wa.text("ayuda")  # its reply comes after any reply to the retry would have
    texts = [text_of(m) for m in wa.graph.sent]
    assert len(texts) == 2 and texts[1].startswith("Escribe tu pregunta con tus palabras, por")


async def test_a_retry_after_of_a_day_drops_that_reply_and_the_user_is_answered_next(
    wa: WhatsApp,
) -> None:
    wa.graph.fail_next(429, code=130429, headers={"Retry-After": "100000"})
    assert (
        await wa.post(wa.envelope(wa.message("text", text={"body": "hola"})))
    ).status_code == 200
    await wa.graph.wait_rejected(1)
    started = time.monotonic()
    # The same user, straight after: not stuck behind it.
    sent = await wa.text("como pido asilo", expect=2)
    assert text_of(sent[0]).startswith("Pedir asilo")
    assert time.monotonic() - started < 5
    assert len(wa.graph.rejected) == 1  # the dropped reply was not tried again


async def test_deeply_nested_json_is_a_400_not_a_crash(wa: WhatsApp) -> None:
    depth = 100_000
    assert (await wa.post(b"[" * depth + b"]" * depth)).status_code == 400
    nested = (
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * depth + b"]" * depth + b"}"
    )
    assert (await wa.post(nested)).status_code == 400
    await wa.text("hola")  # and the next delivery is answered
    assert len(wa.graph.sent) == 1


BAD_SENDERS_AND_IDS: list[tuple[str, Any]] = [
    ("from", "True"),
    ("from", "[1]"),
    ("from", "5" * 10_000),
    ("from", ""),
    ("from", 5215512345678),
    ("from", ["5215512345678"]),
    ("from", "+52 1 55 1234 5678"),
    ("id", ["wamid.x"]),
    ("id", "w" * 10_000),
]


async def test_an_acknowledged_delivery_is_already_answered_and_counted(wa: WhatsApp) -> None:
    """The 200 comes only once the reply is out and the counts are on disk: a worker killed
    after it loses nothing WhatsApp will not send again."""
    from bot.stats.store import read_rows

    before = {(r.event, r.topic): r.count for r in await read_rows(wa.settings.db_path)}
    response = await wa.post(wa.envelope(wa.message("text", text={"body": "me pidieron mordida"})))
    assert response.status_code == 200
    assert text_of(wa.graph.sent[0]).startswith("Me piden mordida")  # no waiting: it is out
    after = {(r.event, r.topic): r.count for r in await read_rows(wa.settings.db_path)}
    assert after.get(("message", ""), 0) == before.get(("message", ""), 0) + 1
    assert after.get(("answered", "complaint.bribe"), 0) == 1


async def test_an_answer_held_up_by_the_graph_api_is_acknowledged_anyway(
    wa: WhatsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WhatsApp takes a slow webhook for a failed one: past ACK_WAIT the delivery is
    acknowledged while its answer is still on its way, and it still arrives, once. Acknowledged
    means counted all the same: it is counted then, and not again when the answer is out."""
    from bot.handlers import whatsapp
    from bot.stats.store import read_rows

    async def messages_counted() -> int:
        return sum(r.count for r in await read_rows(wa.settings.db_path) if r.event == "message")

    monkeypatch.setattr(whatsapp, "ACK_WAIT", 0.3)
    wa.graph.delay_next(1.5)  # the Graph API is slow to take the reply
    started = time.monotonic()
    response = await wa.post(wa.envelope(wa.message("text", text={"body": "hola"})))
    assert response.status_code == 200 and time.monotonic() - started < 1.2
    assert wa.graph.sent == []  # not out yet
    assert await messages_counted() == 1  # but counted
    (reply,) = await wa.graph.wait_for(1)
    assert text_of(reply).startswith("¡Hola! Soy Orienta.")
    # The same person's next message is answered after the first is done with: once it is
    # acknowledged, everything the first counted is written too.
    await wa.text("como pido asilo", expect=2)  # the answer, then its buttons
    assert await messages_counted() == 2


async def test_a_sender_or_id_that_whatsapp_never_sends_gets_no_reply(wa: WhatsApp) -> None:
    for field_name, value in BAD_SENDERS_AND_IDS:
        message = wa.message("text", text={"body": "hola"})
        message[field_name] = value
        assert (await wa.post(wa.envelope(message))).status_code == 200
    # The same user then asks: their mailbox is answered in order, so any reply to the messages
    # above would come before this one.
    await wa.post(wa.envelope(wa.message("text", text={"body": "como pido asilo"})))
    await wa.graph.wait_recipient(USER, 1)
    assert text_of(wa.graph.sent[0])[:11] == "Pedir asilo"
    assert {m["to"] for m in wa.graph.sent} == {USER}


async def test_a_complaint_drafted_on_whatsapp_within_its_limits(wa: WhatsApp) -> None:
    """Every drafter message passes WhatsApp's limits (checked in `send`); steps with many
    options become lists, and the complaint itself goes as plain text to copy."""
    answer = await wa.text("me pidieron mordida en el retén", expect=2)
    start = options(answer[1])["✍️ Ayúdame a escribirla"]
    first = await wa.press(start, kind="list_reply", expect=2)  # 8 options + 4 nav: two lists
    assert text_of(first[0]).startswith("Te ayudo a escribir tu queja")
    assert first[0]["interactive"]["type"] == "list"
    (place,) = await wa.press(options(first[0])["Guardia Nacional"], kind="list_reply")
    assert text_of(place).startswith("Paso 2 de 8") and place["interactive"]["type"] == "list"
    (when,) = await wa.text("carretera Coatzacoalcos–Minatitlán km 8")
    (time,) = await wa.press(options(when)["Hoy"], kind="list_reply")
    (what,) = await wa.press(options(time)["⏭️ Saltar"], kind="list_reply")
    assert text_of(what).startswith("Paso 4 de 8")
    (asked,) = await wa.text("Me revisaron la mochila y se llevaron mi dinero")
    assert text_of(asked).startswith("Paso 5 de 8")
    (who,) = await wa.text("600 pesos")
    (evidence,) = await wa.press(options(who)["⏭️ Saltar"], kind="list_reply")
    (wants,) = await wa.press(options(evidence)["⏭️ Saltar"], kind="list_reply")
    (more,) = await wa.press(options(wants)["Que no pase a otros"], kind="list_reply")
    done = await wa.press(options(more)["✅ Listo"], kind="list_reply", expect=4)
    letter = done[1]
    assert letter["type"] == "text"
    body = letter["text"]["body"]
    assert body.startswith("QUEJA") and "elementos de la Guardia Nacional" in body
    assert "carretera Coatzacoalcos–Minatitlán km 8" in body and "600 pesos" in body
    assert "que no le pase a otras personas" in body
    assert "sidec.buengobierno.gob.mx" in text_of(done[2])


async def test_a_consulate_near_a_shared_location_comes_with_a_location_message(
    wa: WhatsApp,
) -> None:
    location = wa.message("location", location={"latitude": 14.9, "longitude": -92.26})
    (_pin, listing) = await wa.send(location, expect=2)
    (countries,) = await wa.press(options(listing)["🏳️ Mi consulado"], kind="list_reply")
    (pin, consulates, _menu) = await wa.press(
        options(countries)["Guatemala"], kind="list_reply", expect=3
    )
    assert pin["type"] == "location"
    assert pin["location"]["name"] == "Consulado General de Guatemala en Tapachula"
    assert text_of(consulates).startswith("Consulados de Guatemala, del más cercano al más lejano:")


async def test_the_inbox_offer_on_whatsapp_and_turned_off(tmp_path: Path) -> None:
    """The offer fits a list row (its full words in the row's description); pressed, the question
    is kept. With ORIENTA_INBOX=off nothing is offered."""
    question = "cuanto cuesta un boleto de avion de cancun a madrid"
    for inbox in (True, False):
        async with FakeGraphAPI() as graph:
            settings = whatsapp_settings(graph, tmp_path / str(inbox), inbox=inbox)
            stop, started = asyncio.Event(), Started()
            task = asyncio.create_task(serve(settings, stop, started))
            await started.wait()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{started.port}") as web:
                wa = WhatsApp(graph, web, settings, started)
                (lost,) = await wa.text(question)
                rows = lost["interactive"]["action"]["sections"][0]["rows"]
                offered = [r for r in rows if r["title"].startswith("📨")]
                if not inbox:
                    assert offered == []
                else:
                    (row,) = offered
                    assert row["description"] == "📨 Enviar mi pregunta al equipo (anónima)"
                    (thanks,) = await wa.press(row["id"], kind="list_reply")
                    assert text_of(thanks).startswith("Gracias. Tu pregunta llegó al equipo")
            stop.set()
            assert await task == 0
        with sqlite3.connect(settings.db_path) as db:
            kept = [r[0] for r in db.execute("SELECT text FROM inbox")]
        assert kept == ([question] if inbox else [])
