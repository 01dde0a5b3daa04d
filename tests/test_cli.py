"""The terminal: `orienta chat` driven through stdin, `orienta ask` through a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.engine.engine import Engine
from bot.handlers.console import ConsoleChat
from tests.conftest import SMALL_CONTENT_DIR, opening

# Real servers or processes (`make test`, not `make test-fast`), over the shipped content.
pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_chat_through_stdin_shows_numbered_buttons_and_follows_them() -> None:
    done = run("chat", stdin="me pidieron mordida\n1\n2\n/menu\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("¡Hola! Soy Orienta.")
    assert opening("es", "complaint.bribe") in out
    assert "  1) 🧭 Guíame paso a paso" in out
    assert "Antes de empezar, ¿estás en peligro ahora mismo?" in out  # pressed 1
    assert "¿Quién cometió el abuso?" in out  # pressed 2: "No, quiero denunciar"
    assert out.rstrip().endswith("🌐 Idioma")  # /menu shows the menu again (four languages)


def test_chat_language_location_and_bad_input() -> None:
    done = run("chat", "--lang", "en", stdin="/lang es\n/loc 32.53 -117.04\n/loc nowhere\n99\n\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Hi! I am Orienta.")
    assert "Idioma: Español." in out
    assert "1. Grupo Beta Tijuana – Tijuana, Baja California: a menos de 1 km" in out
    assert "Para compartir una ubicación escribe /loc LATITUD LONGITUD" in out
    assert "No hay opción 99." in out


def test_chat_ends_cleanly_at_end_of_input() -> None:
    done = run("chat", stdin="")
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_console_chat_in_process(engine: Engine) -> None:
    out = io.StringIO()
    chat = ConsoleChat(engine, out, "en")
    chat.run(["where is the nearest grupo beta", "/loc 14.9 -92.26", "/about"])
    text = out.getvalue()
    assert "Where Grupos Beta are" in text
    assert "1. Grupo Beta Tapachula – Tapachula, Chiapas" in text
    assert "About Orienta" in text
    assert chat.lang == "en"


def test_ask_json_reads_stdin_and_writes_one_object_per_line_in_order() -> None:
    messages = [
        "me pidieron mordida en la garita",
        "how do i ask for asylum",
        "receta de pozole",
        "",
        "help, someone is following me",
    ]
    done = run("ask", "--json", "--lang", "auto", stdin="\n".join(messages) + "\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == messages
    assert [(line["lang"], line["topic"]) for line in lines[:3]] == [
        ("es", "complaint.bribe"),
        ("en", "rights.asylum"),
        ("es", None),
    ]
    for line in lines:
        assert set(line) >= {"lang", "topic", "score", "alternatives", "reply"}
        assert isinstance(line["score"], float) and isinstance(line["alternatives"], list)
    assert lines[0]["reply"].startswith(opening("es", "complaint.bribe"))
    assert lines[2]["reply"].startswith("Perdón, no entendí.")
    assert (
        lines[4]["reply"].startswith("🚨 If you are in danger now") and lines[4]["danger"] is True
    )


def test_ask_with_text_and_forced_language() -> None:
    done = run("ask", "--lang", "en", "--json", "asilo")
    record = json.loads(done.stdout)
    assert record["lang"] == "en"
    plain = run("ask", "cuanto", "dinero", "puedo", "traer")
    assert plain.stdout.startswith("[es] paisano.cash (")
    assert "Si entras o sales de México con más de 10,000 dólares" in plain.stdout
    bad = run("ask", "--lang", "de", "hola")
    assert bad.returncode == 2 and "unknown language 'de'" in bad.stderr


def test_ask_plain_batch_is_one_line_per_message() -> None:
    done = run("ask", stdin="asilo\nmordida\n")
    assert (
        done.stdout.splitlines()
        == [line for line in done.stdout.splitlines() if line.count("\t") == 3]
        and len(done.stdout.splitlines()) == 2
    )


def test_broken_content_gives_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "faq_es.yaml").write_text("language: [oops\n", encoding="utf-8")
    done = run("ask", "hola", env={"ORIENTA_CONTENT_DIR": str(tmp_path)})
    assert done.returncode == 1
    # The list is unclosed at the end of line 1; YAML notices on line 2.
    assert "faq_es.yaml:2: YAML syntax error: did not find expected ',' or ']'" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_command_prints_help() -> None:
    done = run()
    assert done.returncode == 2 and "chat" in done.stdout and "ask" in done.stdout


def test_content_eval_lists_weak_topics_confusions_and_misplaced_questions() -> None:
    done = run(
        "--content",
        str(SMALL_CONTENT_DIR),  # the report's shape is under test, not the shipped content
        "content",
        "eval",
        "--folds",
        "2",
        "--show",
        "2",
        "--no-heldout",
        env={"ORIENTA_EMBEDDINGS": "none"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Matcher: lexical only" in out
    assert "2-fold cross-validation over the content's own examples" in out
    assert re.search(r"  es: example questions on their topic \d+\.\d%", out)
    assert "Topics that need more phrasings" in out and "Topics most often taken for another" in out
    assert re.search(r"/faq_(es|en)\.yaml:\d+: [a-z_.]+ -> ", out)  # file:line of a question
    # Danger, per language: which language's danger list needs more examples.
    assert re.search(
        r"  es: danger examples caught \d+\.\d% of \d+; near misses that alarmed \d+\.\d% of \d+",
        out,
    )
    assert "Held-out sets" not in out


def test_chat_accepts_a_location_as_map_apps_copy_it(engine: Engine) -> None:
    out = io.StringIO()
    chat = ConsoleChat(engine, out, "en")
    chat.run(["/loc 16.55, -94.90", "/loc 16,55 -94,90", "/loc 16.55,-94.90"])
    text = out.getvalue()
    assert text.count("1. Grupo Beta Oaxaca (Ciudad Ixtepec) – Ciudad Ixtepec, Oaxaca") == 3
    assert "To share a location type /loc" not in text


def test_ask_json_with_invalid_utf8_still_writes_one_valid_json_line_each() -> None:
    stdin = b"como pido asilo\nme pidieron mordida \xff\xfe en la garita\n\xc3\n"
    for encoding in ("utf-8", "utf-8:strict"):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--json", "--lang", "es"],
            input=stdin,
            capture_output=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "PYTHONIOENCODING": encoding},
        )
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
        assert [line["text"] for line in lines] == [
            "como pido asilo",
            "me pidieron mordida \ufffd\ufffd en la garita",
            "\ufffd",
        ]
        assert lines[1]["topic"] == "complaint.bribe"
