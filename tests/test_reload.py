"""Staff edit content while the bot runs: changes are picked up without a restart; broken edits
never reach users, and admins hear about them."""

from __future__ import annotations

import asyncio
import shutil
import signal
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import serve, watch_content
from bot.config import ROOT
from bot.engine.events import Text
from bot.runtime import Matching, Runtime, build_engine
from tests.conftest import opening
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.process import start_orienta, stop_orienta
from tests.fakes.started import Started

# Real servers or processes (`make test`, not `make test-fast`), over the shipped content.
pytestmark = [pytest.mark.e2e, pytest.mark.shipped_content]

ADMIN = 999
OLD = opening("es", "complaint.bribe", 60).split("\n\n", 1)[1].split("\n")[0][:30]
NEW = "NUNCA " + OLD.split(" ", 1)[1]  # an edit that does not contain OLD


@dataclass
class Live:
    api: FakeBotAPI
    runtime: Runtime
    content: Path

    async def ask(self, text: str, chat_id: int = 555) -> str:
        before = len(self.api.calls_to("sendMessage"))
        self.api.queue(self.api.text_update(text, chat_id))
        return str((await self.api.wait_for("sendMessage", before + 1))[-1].params["text"])

    def edit(self, old: str, new: str, name: str = "faq_es.yaml") -> None:
        path = self.content / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture()
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    async with FakeBotAPI() as api:
        settings = api.settings(
            tmp_path / "u.db",
            content_dir=content,
            admin_ids=frozenset({ADMIN}),
            content_poll_seconds=0.05,
        )
        stop, started = asyncio.Event(), Started()
        task = asyncio.create_task(serve(settings, stop, started))
        await started.wait()
        assert started.runtime is not None
        yield Live(api, started.runtime, content)
        stop.set()
        assert await task == 0


async def test_an_edited_file_is_served_without_a_restart(live: Live) -> None:
    assert OLD in await live.ask("me pidieron mordida")
    generation = live.runtime.generation
    live.edit(OLD, NEW)
    await live.runtime.wait_for_generation(generation + 1)
    assert NEW in await live.ask("me pidieron mordida")


async def test_a_broken_edit_keeps_the_last_good_content_and_tells_the_admins(live: Live) -> None:
    generation = live.runtime.generation
    live.edit("    title: Me piden mordida\n", "    title: Me piden mordida\n    titel: oops\n")
    await live.runtime.wait_for_generation(generation + 1)
    assert OLD in await live.ask("me pidieron mordida")  # still the last good version
    (note,) = await live.api.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == ADMIN)
    assert note.params["text"].startswith(
        "Orienta: content reload failed; still serving the last good version."
    )
    assert (
        f"{live.content / 'faq_es.yaml'}:" in note.params["text"]
        and "unknown field 'titel'" in note.params["text"]
    )


async def test_reload_command_for_admins(live: Live) -> None:
    live.edit(OLD, NEW)
    refused = await live.ask("/reload")
    assert refused == "Lo siento, solo el equipo que opera Orienta puede recargar el contenido."
    done = await live.ask("/reload", chat_id=ADMIN)
    assert done in ("Contenido recargado.",)
    assert NEW in await live.ask("me pidieron mordida")


async def test_reload_command_reports_problems(live: Live) -> None:
    live.runtime.content_dir = live.content / "missing"
    text = await live.ask("/reload", chat_id=ADMIN)
    assert text.startswith(
        "Contenido NO recargado; sigo usando la última versión buena. Problemas:"
    )
    assert "content directory not found" in text


def runtime_over_a_copy(tmp_path: Path, matching: Matching) -> Runtime:
    """A runtime (without a usage store) serving a writable copy of the shipped content."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    engine, _ = build_engine(content, ROOT / "locale", matching)
    assert engine is not None
    return Runtime(engine, None, content, ROOT / "locale", matching)  # type: ignore[arg-type]


def test_the_switch_is_atomic(tmp_path: Path, matching: Matching) -> None:
    """While reloads swap the engine, every answer comes whole from one content version."""
    runtime = runtime_over_a_copy(tmp_path, matching)
    path = runtime.content_dir / "faq_es.yaml"
    original = path.read_text(encoding="utf-8")
    answers: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            answers.append(runtime.engine.handle(Text("me pidieron mordida")).replies[0].text)

    reader = threading.Thread(target=ask)
    reader.start()
    try:
        for n in range(4):
            path.write_text(
                original.replace(OLD, NEW) if n % 2 == 0 else original, encoding="utf-8"
            )
            asyncio.run(runtime.reload("test"))
    finally:
        stop.set()
        reader.join()
    assert answers
    versions = {(OLD in a, NEW in a) for a in answers}
    assert versions <= {(True, False), (False, True)}


def test_sighup_reloads(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)

    async def scenario() -> None:
        async with FakeBotAPI() as api:
            process = await start_orienta(tmp_path / "u.db", api, ORIENTA_CONTENT_DIR=str(content))
            try:
                await api.wait_for("getUpdates", timeout=30)
                path = content / "faq_es.yaml"
                path.write_text(
                    path.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8"
                )
                process.send_signal(signal.SIGHUP)
                assert process.stderr is not None
                while b"content reloaded (SIGHUP)" not in (
                    line := await asyncio.wait_for(process.stderr.readline(), 20)
                ):
                    assert line, "the process ended before reloading"
                api.queue(api.text_update("me pidieron mordida"))
                (reply,) = await api.wait_for("sendMessage")
                assert NEW in reply.params["text"]
            finally:
                assert await stop_orienta(process, timeout=10) == 0

    asyncio.run(scenario())


def test_a_reload_that_drops_a_language_is_refused(tmp_path: Path, matching: Matching) -> None:
    """Removing English from a running bot would answer English speakers in Spanish."""
    runtime = runtime_over_a_copy(tmp_path, matching)
    content, engine = runtime.content_dir, runtime.engine
    languages = content / "languages.yaml"
    languages.write_text(
        languages.read_text(encoding="utf-8").replace("languages: [es, en,", "languages: [es,"),
        encoding="utf-8",
    )
    (content / "faq_en.yaml").unlink()
    (content / "trees_en.yaml").unlink()
    problems = asyncio.run(runtime.reload("test"))
    assert problems and "which this content drops: restart to remove a language" in problems[0]
    assert runtime.engine is engine
    assert runtime.engine.handle(Text("how do I ask for asylum")).lang == "en"


def test_a_reload_waits_until_the_files_stop_changing(tmp_path: Path) -> None:
    """An editor's save or a copy of several files is read only once it held still for a poll."""
    content = tmp_path / "content"
    content.mkdir()
    faq = content / "faq_es.yaml"
    faq.write_text("a: 1\n", encoding="utf-8")
    reloads: list[str] = []
    polls = 0

    class Watched:
        content_dir = content

        async def reload(self, reason: str = "") -> None:
            reloads.append(faq.read_text(encoding="utf-8"))

    stop = asyncio.Event()
    # What happens between polls, one step per poll: a save in two parts, then quiet.
    steps = [
        lambda: faq.write_text("a: 1\nb:", encoding="utf-8"),  # half written
        lambda: faq.write_text("a: 1\nb: 2\n", encoding="utf-8"),  # finished
        lambda: None,  # unchanged for one poll: now it is read
        lambda: None,
        lambda: (content / "trees_es.yaml").write_text("x: 1\n", encoding="utf-8"),
        lambda: None,
        stop.set,
    ]

    async def sleep(seconds: float) -> None:
        nonlocal polls
        steps[polls]()
        polls += 1

    asyncio.run(watch_content(Watched(), 1.0, stop, sleep))  # type: ignore[arg-type]
    assert reloads == ["a: 1\nb: 2\n", "a: 1\nb: 2\n"]
