"""Languages are files: a native speaker's review of translated entries, the language menu, and
switching by name. Code tests use a copy of the small fixture; the four shipped languages are
tested over the shipped content (marked shipped_content)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.content.loader import read_content
from bot.content.problems import Report
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Press, Text
from bot.engine.replies import TextReply
from bot.engine.views import ENGINE_CHECKS
from bot.matching.matcher import Intent, Matcher
from bot.runtime import build_engine
from tests.conftest import LOCALE_DIR, SMALL_CONTENT_DIR, opening

DRAFT_LINE = {
    "en": "ⓘ Not yet checked by a native speaker.",
    "es": "ⓘ Aún sin revisar por un hablante nativo.",
}


@pytest.fixture
def small_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(SMALL_CONTENT_DIR, target)
    return target


def _ask_review_of_english(directory: Path) -> None:
    languages = directory / "languages.yaml"
    languages.write_text(
        languages.read_text(encoding="utf-8") + "native_review: [en]\n", encoding="utf-8"
    )


def _mark_all(directory: Path, review: str) -> None:
    """Give every English entry a `review:` line, right after its `reviewed:` date."""
    faq = directory / "faq_en.yaml"
    text = re.sub(r"(?m)^(\s+)reviewed: (\S+)$", rf"\g<0>\n\1review: {review}", faq.read_text())
    faq.write_text(text, encoding="utf-8")


def _errors(directory: Path) -> list[str]:
    report = Report()
    read_content(directory, report, checks=ENGINE_CHECKS)
    return [str(p) for p in report.errors]


def only(engine: Engine, text: str) -> TextReply:
    (reply,) = engine.handle(Text(text)).replies
    assert isinstance(reply, TextReply)
    return reply


def test_a_language_under_native_review_needs_the_field_on_every_entry(small_copy: Path) -> None:
    _ask_review_of_english(small_copy)
    errors = _errors(small_copy)
    entries = len(re.findall(r"(?m)^ *- id: ", (small_copy / "faq_en.yaml").read_text()))
    missing = [e for e in errors if "missing field 'review'" in e]
    assert len(missing) == entries > 0
    # Each error names the file and the line of its entry.
    assert all(re.match(r".*faq_en\.yaml:\d+: entry '[a-z.]+", e) for e in missing)
    _mark_all(small_copy, "draft")
    assert _errors(small_copy) == []


def test_a_review_that_is_neither_draft_nor_a_check_is_an_error_at_its_line(
    small_copy: Path,
) -> None:
    _ask_review_of_english(small_copy)
    _mark_all(small_copy, "yes")
    faq = small_copy / "faq_en.yaml"
    line = [ln.strip() for ln in faq.read_text().splitlines()].index("review: yes") + 1
    errors = _errors(small_copy)
    assert any(f"faq_en.yaml:{line}:" in e and "'review' must be 'draft'" in e for e in errors)
    # A check without its date.
    faq.write_text(faq.read_text().replace("review: yes", "review: {reviewed_by: Marie}"))
    assert any("missing field 'date'" in e for e in _errors(small_copy))


def test_a_language_under_review_must_be_served(small_copy: Path) -> None:
    languages = small_copy / "languages.yaml"
    languages.write_text(languages.read_text() + "native_review: [ht]\n", encoding="utf-8")
    assert any(
        "'ht' is under native_review but not in 'languages'" in e for e in _errors(small_copy)
    )


def test_a_draft_answer_says_so_in_its_language_and_a_reviewed_one_does_not(
    small_copy: Path,
) -> None:
    _ask_review_of_english(small_copy)
    _mark_all(small_copy, "draft")
    faq = small_copy / "faq_en.yaml"
    # One entry has been checked by a native speaker.
    text = faq.read_text()
    start = text.index("- id: complaint.bribe")
    at = text.index("review: draft", start)
    faq.write_text(
        text[:at] + "review: {reviewed_by: Ana Pérez, date: 2026-11-28}" + text[at + 13 :],
        encoding="utf-8",
    )
    engine, problems = build_engine(small_copy, LOCALE_DIR)
    assert engine is not None, problems
    assert engine.content.drafts["en"] and "complaint.bribe" not in engine.content.drafts["en"]
    assert "es" not in engine.content.drafts  # Spanish asks for no review: nothing pretends

    draft = only(engine, "how do i ask for asylum in mexico")
    assert draft.text.startswith(opening("en", "rights.asylum", chars=20))
    answer = engine.content.languages["en"].entries["rights.asylum"].answer
    # The line comes right after the answer, before the source and the feedback question.
    assert f"{answer}\n\n{DRAFT_LINE['en']}\n\n" in draft.text
    reviewed = only(engine, "the officer asked me for a bribe at the checkpoint")
    assert reviewed.text.startswith(opening("en", "complaint.bribe", chars=20))
    assert "native speaker" not in reviewed.text
    spanish = only(engine, "como pido asilo en mexico")
    assert "hablante nativo" not in spanish.text


def test_content_check_lists_the_answers_awaiting_review(
    small_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _ask_review_of_english(small_copy)
    _mark_all(small_copy, "draft")
    assert main(["--content", str(small_copy), "content", "check", "--no-examples"]) == 0
    out = capsys.readouterr().out
    out = " ".join(out.split())  # the note is wrapped at 100 columns
    (note,) = re.findall(r"note: \S*faq_en\.yaml: (\d+) of (\d+) answers not yet checked", out)
    assert note[0] == note[1] and int(note[0]) > 0
    assert "rights.asylum" in out.split("note: ", 1)[1]


# ---------------------------------------------------------------- the shipped four languages

FOUR = {"es": "Español", "en": "English", "ht": "Kreyòl ayisyen", "fr": "Français"}


@pytest.mark.shipped_content
def test_the_language_menu_offers_four_languages_by_their_own_names(
    shipped_engine: Engine,
) -> None:
    (reply,) = shipped_engine.handle(Command(CommandName.LANGUAGE)).replies
    assert isinstance(reply, TextReply)
    assert [b.label for b in reply.buttons] == list(FOUR.values())
    for code, name in FOUR.items():
        (button,) = [b for b in reply.buttons if b.label == name]
        response = shipped_engine.handle(Press(button.payload))
        assert response.lang == code


@pytest.mark.shipped_content
@pytest.mark.parametrize(
    ("typed", "lang"),
    [("kreyòl", "ht"), ("kreyol", "ht"), ("Kreyòl ayisyen", "ht"), ("français", "fr"),
     ("francais", "fr"), ("español", "es"), ("english", "en")],
)  # fmt: skip
def test_typing_a_language_name_switches_to_it(
    shipped_engine: Engine, typed: str, lang: str
) -> None:
    response = shipped_engine.handle(Text(typed, lang_hint="es-MX"))
    assert response.lang == lang


@pytest.mark.shipped_content
@pytest.mark.parametrize(
    ("text", "hint", "lang", "topic"),
    [
        ("kijan pou m mande azil nan Meksik", "fr", "ht", "rights.asylum"),
        ("comment demander l'asile au Mexique", "ht", "fr", "rights.asylum"),
        ("como pido asilo en mexico", "fr-FR", "es", "rights.asylum"),
        ("how do i ask for asylum in mexico", "ht", "en", "rights.asylum"),
    ],
)
def test_the_platform_language_is_only_a_hint(
    shipped_engine: Engine, text: str, hint: str, lang: str, topic: str
) -> None:
    response = shipped_engine.handle(Text(text, lang_hint=hint))
    assert response.lang == lang
    (reply,) = response.replies
    assert isinstance(reply, TextReply)
    assert reply.text.startswith(opening(lang, topic))


@pytest.mark.shipped_content
def test_kreyol_and_french_answers_say_they_await_a_native_speaker(shipped_engine: Engine) -> None:
    content = shipped_engine.content
    for code, question in (("ht", "kijan pou m mande azil"), ("fr", "comment demander l'asile")):
        entry = content.languages[code].entries["rights.asylum"]
        (reply,) = shipped_engine.handle(Text(question)).replies
        assert isinstance(reply, TextReply)
        line = reply.text.split(entry.answer, 1)[1].strip().splitlines()[0]
        if entry.draft:
            assert line.startswith("ⓘ ") and "native" not in line  # in that language
        else:
            assert not line.startswith("ⓘ ")
    assert set(content.drafts) <= {"ht", "fr"}


@pytest.mark.shipped_content
@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [("bonjou", "ht", Intent.GREETING), ("bonswa", "ht", Intent.GREETING),
     ("mesi anpil", "ht", Intent.THANKS), ("bonjour", "fr", Intent.GREETING),
     ("merci beaucoup", "fr", Intent.THANKS), ("hola", "es", Intent.GREETING),
     ("thank you", "en", Intent.THANKS)],
)  # fmt: skip
def test_a_greeting_or_thanks_of_one_or_two_words_is_told_apart_in_four_languages(
    matcher: Matcher, text: str, lang: str, intent: Intent
) -> None:
    # Too short for the n-gram model: the words decide ("bonjou" is in the French content too,
    # but only Kreyol greets with it), and the platform's language is not asked.
    found = matcher.match(text, hint="es")
    assert (found.lang, found.intent) == (lang, intent)


@pytest.mark.shipped_content
def test_choosing_a_language_from_an_answer_shows_that_answer_in_it(
    shipped_engine: Engine,
) -> None:
    """A Haitian who got a Spanish answer picks Kreyol and reads the same answer, not the menu."""
    (answer,) = shipped_engine.handle(Text("como pido asilo en mexico")).replies
    assert isinstance(answer, TextReply) and answer.text.startswith(opening("es", "rights.asylum"))
    (globe,) = [b for b in answer.nav if b.label == "🌐 Idioma"]
    (chooser,) = shipped_engine.handle(Press(globe.payload)).replies
    assert isinstance(chooser, TextReply)
    assert [b.label for b in chooser.buttons] == list(FOUR.values())
    assert "⬅️ Atrás" in [b.label for b in chooser.nav]  # back to the answer, unchanged
    (kreyol,) = [b for b in chooser.buttons if b.label == "Kreyòl ayisyen"]
    switched = shipped_engine.handle(Press(kreyol.payload))
    assert switched.lang == "ht"
    (again,) = switched.replies
    assert isinstance(again, TextReply) and again.text.startswith(opening("ht", "rights.asylum"))


@pytest.mark.shipped_content
def test_choosing_a_language_mid_path_stays_on_the_same_step(shipped_engine: Engine) -> None:
    (menu,) = shipped_engine.handle(Command(CommandName.MENU, "es")).replies
    assert isinstance(menu, TextReply)
    (path,) = [b for b in menu.buttons if b.label == "Soy extranjero en México"]
    (step,) = shipped_engine.handle(Press(path.payload)).replies
    assert isinstance(step, TextReply)
    (globe,) = [b for b in step.nav if b.label == "🌐 Idioma"]
    (chooser,) = shipped_engine.handle(Press(globe.payload)).replies
    assert isinstance(chooser, TextReply)
    (french,) = [b for b in chooser.buttons if b.label == "Français"]
    (same,) = shipped_engine.handle(Press(french.payload)).replies
    assert isinstance(same, TextReply)
    french_tree = shipped_engine.content.languages["fr"].trees["tree.foreigner_rights"]
    assert same.text == french_tree.nodes[french_tree.start].prompt
