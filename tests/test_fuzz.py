"""Property-based tests: whatever users, forgers or the network send, the engine never raises,
every reply fits each platform's limits, forged buttons get the menu, and malformed webhook
deliveries are rejected cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot import limits
from bot.config import Settings
from bot.engine.engine import Engine
from bot.engine.events import Location, Press, Text, Unsupported
from bot.engine.payload import decode
from bot.engine.replies import LocationRequest, Response
from bot.handlers import telegram_render, whatsapp_render
from bot.handlers.whatsapp import WhatsAppChannel
from bot.runtime import Runtime
from bot.stats.store import UsageStore
from bot.web.app import build_app
from tests.test_whatsapp import check_limits, text_of

UNUSED_DB = Path("/nonexistent/fuzz.db")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXPIRED = {
    "Ese botón ya no funciona. Aquí está el menú:",
    "That button no longer works. Here is the menu:",
}

RTL_AND_FRIENDS = [
    "\u200f",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\u0000",
    "\x1b[31m",
    "\r\n",
    "\t",
    "👨‍👩‍👧",
    "🇲🇽",
    "ﷺ",
    "𝔪𝔬𝔯𝔡𝔦𝔡𝔞",
]

texts = st.one_of(
    st.text(max_size=400),
    st.text(
        alphabet=st.characters(
            categories=["Cc", "Cf", "Co", "Mn", "Me", "So", "Sk", "Zl", "Zp", "Zs"]
        ),
        max_size=200,
    ),
    st.lists(
        st.sampled_from([*RTL_AND_FRIENDS, "mordida", "asilo", "help me", "me quieren matar", " "]),
        max_size=60,
    ).map("".join),
    st.builds(
        lambda chunk, times: (chunk * times)[:10_000],
        st.text(min_size=1, max_size=7),
        st.integers(1_400, 10_000),
    ),
)
hints = st.one_of(
    st.none(),
    st.sampled_from(["es", "en", "es-MX", "en-US", "fr", "", "zz-ZZ"]),
    st.text(max_size=12),
)


def assert_fits(response: Response) -> None:
    """What a user would receive fits Telegram and WhatsApp."""
    assert response.replies, "every event gets an answer"
    for reply in response.replies:
        for item in telegram_render.render(reply, lambda s: s):
            assert len(item.text) <= limits.TELEGRAM_MESSAGE
            markup = item.markup
            for row in getattr(markup, "inline_keyboard", ()):
                for button in row:
                    assert (
                        len(button.callback_data.encode("utf-8")) <= limits.TELEGRAM_CALLBACK_DATA
                    )
        for body in whatsapp_render.render(reply, lambda s: s):
            check_limits({"messaging_product": "whatsapp", "to": "1", **body})
        buttons = reply.nav if isinstance(reply, LocationRequest) else reply.all_buttons
        for button in buttons:
            assert decode(button.payload) is not None


@FUZZ
@given(text=texts, hint=hints)
def test_any_text(engine: Engine, text: str, hint: str | None) -> None:
    assert_fits(engine.handle(Text(text, hint)))


payload_parts = st.tuples(
    st.sampled_from(["v", "l", "y", "n", "x", "", "vv"]),
    st.sampled_from(["es", "en", "xx", "", "ES", "e"]),
    st.sampled_from(["m", "t", "n", "o", "s", "g", "p", "L", "q", ""]),
    st.one_of(
        st.text(max_size=50),
        st.sampled_from(
            [
                "complaint.bribe",
                "tree.complaint:who",
                "tree.complaint:who:2",
                "tree.complaint:gone",
                "tree.find_beta:how:0",
                "tree.old_path:start",
                "paisano.removed_topic",
                "Chiapas",
                "Tabasco",
                "Atlantis",
                "tree.complaint:who:-1",
            ]
        ),
    ),
)


@FUZZ
@given(parts=payload_parts, cut=st.integers(0, 70))
def test_any_button_payload(engine: Engine, parts: tuple[str, str, str, str], cut: int) -> None:
    payload = "|".join(parts)
    for data in (payload, payload[:cut]):
        response = engine.handle(Press(data))
        assert_fits(response)
        if decode(data) is None:
            assert response.replies[0].text in EXPIRED


@FUZZ
@given(data=st.text(max_size=100))
def test_any_raw_callback_data(engine: Engine, data: str) -> None:
    response = engine.handle(Press(data))
    assert_fits(response)


@FUZZ
@given(
    lat=st.floats(allow_nan=True, allow_infinity=True),
    lon=st.floats(allow_nan=True, allow_infinity=True),
    hint=hints,
)
def test_any_coordinates(engine: Engine, lat: float, lon: float, hint: str | None) -> None:
    assert_fits(engine.handle(Location(lat, lon, hint)))


@FUZZ
@given(kind=st.text(max_size=30), hint=hints)
def test_any_media(engine: Engine, kind: str, hint: str | None) -> None:
    assert_fits(engine.handle(Unsupported(kind, hint)))


# ---------------------------------------------------------------------- adapters

json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def memory_runtime(engine: Engine, config: Settings) -> Runtime:
    """A runtime whose usage store is never started: counts stay in memory."""
    return Runtime(engine, UsageStore(UNUSED_DB), config.content_dir, config.locale_dir)


def telegram_app(engine: Engine) -> tuple[TestClient, str]:
    from bot.handlers.telegram import TelegramChannel

    config = Settings(
        telegram_token="123:fuzz",
        telegram_webhook_url="https://example.org/telegram/webhook",
        telegram_rate_limit=0,
    )
    runtime = memory_runtime(engine, config)
    channel = TelegramChannel(runtime, config)
    _TELEGRAM["channel"] = channel
    return TestClient(build_app(config, runtime, [channel])), channel.webhook_secret


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"update_id": json_values},
            optional={"message": json_values, "callback_query": json_values},
        ),
    )
)
def test_malformed_telegram_updates_are_rejected_cleanly(engine: Engine, body: Any) -> None:
    """Not an object, or no integer update_id: 400 and nothing queued. With an integer
    update_id: 200 (an update Telegram sent must never be retried forever, holding back every
    later one), queued for the bot when python-telegram-bot can read it."""
    client, secret = _telegram_client(engine)
    queue = _TELEGRAM["channel"].application.update_queue
    before = queue.qsize()
    response = client.post(
        "/telegram/webhook",
        content=json.dumps(body),
        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
    )
    queued = queue.qsize() - before
    update_id = body.get("update_id") if isinstance(body, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        assert response.status_code == 400 and queued == 0
    else:
        assert response.status_code == 200 and queued in (0, 1)
        if set(body) == {"update_id"}:
            assert queued == 1  # an update with nothing in it is still read


_TELEGRAM: dict[str, Any] = {}


def _telegram_client(engine: Engine) -> tuple[TestClient, str]:
    if "client" not in _TELEGRAM:
        _TELEGRAM["client"] = telegram_app(engine)
    client, secret = _TELEGRAM["client"]
    return client, secret


def whatsapp_channel(engine: Engine, sent: list[dict[str, Any]]) -> WhatsAppChannel:
    config = Settings(
        whatsapp_token="t",
        whatsapp_phone_number_id="1",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
    )
    runtime = memory_runtime(engine, config)
    channel = WhatsAppChannel(runtime, config)

    def graph(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"messages": [{"id": "x"}]})

    channel.client = httpx.AsyncClient(
        base_url="http://graph.invalid/v21.0", transport=httpx.MockTransport(graph)
    )
    return channel


messages = st.fixed_dictionaries(
    {"from": st.one_of(st.just("5215500000000"), st.text(max_size=15)), "id": st.text(max_size=20)},
    optional={
        "type": st.sampled_from(
            [
                "text",
                "interactive",
                "location",
                "image",
                "audio",
                "sticker",
                "document",
                "reaction",
                "unknown",
                "weird",
            ]
        ),
        "text": st.one_of(json_values, st.fixed_dictionaries({"body": texts})),
        "interactive": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["button_reply", "list_reply", "nfm_reply"]),
                    "button_reply": st.fixed_dictionaries(
                        {
                            "id": st.one_of(
                                st.text(max_size=70),
                                st.sampled_from(["v|es|m|", "v|en|n|tree.complaint:who"]),
                            )
                        }
                    ),
                    "list_reply": st.fixed_dictionaries({"id": st.text(max_size=70)}),
                }
            ),
        ),
        "location": st.one_of(
            json_values, st.fixed_dictionaries({"latitude": json_values, "longitude": json_values})
        ),
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(message=messages)
def test_any_whatsapp_message_is_handled_within_limits(
    engine: Engine, message: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """No message makes the channel fail (it would log it and send nothing, so the error is
    looked for, not only what was sent); a real sender's media gets exactly the polite note."""
    caplog.clear()
    sent: list[dict[str, Any]] = []
    channel = whatsapp_channel(engine, sent)
    asyncio.run(channel._process(message, b"fuzz-delivery"))  # its digest: any bytes
    assert "could not answer" not in caplog.text
    for body in sent:
        check_limits(body)
    sender = message.get("from")
    if sender == "5215500000000" and message.get("type") in ("image", "audio", "sticker", "weird"):
        assert len(sent) == 1 and text_of(sent[0]).startswith("No puedo abrir")
    if sender == "5215500000000" and message.get("type") == "text":
        text = message.get("text")
        if isinstance(text, dict) and isinstance(text.get("body"), str):
            assert sent, "a text message gets an answer"
    if not (isinstance(sender, str) and sender.isascii() and sender.isdigit()):
        assert sent == []  # nobody to answer


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        json_values, st.fixed_dictionaries({"entry": json_values}), st.binary(max_size=200)
    )
)
def test_malformed_whatsapp_deliveries_are_rejected_cleanly(engine: Engine, body: Any) -> None:
    """A signed body is 200 exactly when it is a JSON object (WhatsApp would retry anything
    else forever otherwise... and a 400 says what is wrong), whatever it holds."""
    channel = whatsapp_channel(engine, [])
    config = replace(Settings(), whatsapp_token="t")
    client = TestClient(build_app(config, channel.runtime, [channel]))
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = "sha256=" + hmac.new(b"s", raw, hashlib.sha256).hexdigest()
    response = client.post(
        "/whatsapp/webhook", content=raw, headers={"X-Hub-Signature-256": signature}
    )
    try:
        is_object = isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        is_object = False
    assert response.status_code == (200 if is_object else 400)
