"""UI strings come from gettext catalogs; a new language is new files only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.config import ROOT
from bot.content.loader import load_content
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Press, Text
from bot.engine.payload import Action, TopicView, encode
from bot.engine.replies import TextReply
from bot.i18n import Catalogs
from bot.matching.matcher import Bm25Matcher

LOCALE = ROOT / "locale"
SMALL_CONTENT_DIR = ROOT / "tests" / "data" / "content_small"


def catalog(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp)


def test_spanish_and_english_catalogs_translate_every_ui_string() -> None:
    with (LOCALE / "messages.pot").open("rb") as fp:
        template = {m.id for m in read_po(fp) if m.id}
    assert len(template) > 30
    for lang in ("es", "en"):
        translated = {m.id for m in catalog(lang) if m.id and m.string}
        assert template <= translated, (lang, template - translated)


def test_every_ui_string_in_the_code_is_in_the_template() -> None:
    """Catches a new `_("...")` that nobody extracted (run `make i18n`)."""
    with (LOCALE / "messages.pot").open("rb") as fp:
        template = {m.id for m in read_po(fp) if m.id}
    pattern = re.compile(r'\b_t?\(\s*"((?:[^"\\]|\\.)*)"\s*\)')
    for path in (ROOT / "bot").rglob("*.py"):
        for literal in pattern.findall(path.read_text(encoding="utf-8")):
            text = literal.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            assert text in template, f"{path.name}: {text!r} is not in locale/messages.pot"


def test_placeholders_survive_translation() -> None:
    for message in catalog("es"):
        if message.id:
            assert re.findall(r"{\w+}", message.id) == re.findall(r"{\w+}", message.string), (
                message.id
            )


def test_missing_translations_fall_back_to_spanish(tmp_path: Path) -> None:
    shutil.copytree(LOCALE, tmp_path / "locale")
    po = tmp_path / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    cat = read_po(po.open("rb"))
    cat["Choose your language:"].string = ""
    (tmp_path / "locale" / "en" / "LC_MESSAGES" / "messages.mo").unlink(missing_ok=True)
    with po.open("wb") as fp:
        write_po(fp, cat)
    catalogs = Catalogs(tmp_path / "locale")
    assert catalogs.gettext("en", "Choose your language:") == "Elige tu idioma:"
    assert catalogs.gettext("en", "🏠 Menu") == "🏠 Menu"
    assert catalogs.gettext("zz", "🏠 Menu") == "🏠 Menú"  # no catalog at all: Spanish


def test_an_edited_po_file_wins_over_a_stale_compiled_mo(tmp_path: Path) -> None:
    shutil.copytree(LOCALE, tmp_path / "locale")
    po = tmp_path / "locale" / "es" / "LC_MESSAGES" / "messages.po"
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgstr "🏠 Menú"', 'msgstr "🏠 Inicio"'),
        encoding="utf-8",
    )
    assert Catalogs(tmp_path / "locale").gettext("es", "🏠 Menu") == "🏠 Inicio"


def _pseudo(text: str) -> str:
    return f"⟦{text}⟧"


def test_a_third_language_needs_only_new_files(tmp_path: Path) -> None:
    """Adds 'xx', a pseudo-language, from files alone: content, guided paths and a catalog."""
    content_dir, locale_dir = tmp_path / "content", tmp_path / "locale"
    shutil.copytree(SMALL_CONTENT_DIR, content_dir)  # es and en
    shutil.copytree(LOCALE, locale_dir)
    faq = (content_dir / "faq_en.yaml").read_text(encoding="utf-8")
    faq = faq.replace("  code: en\n  name: English\n", "  code: xx\n  name: Pseudo\n")
    faq = faq.replace("  stemmer: english\n", "  stemmer: none\n")  # like Haitian Creole
    faq = re.sub(r"(?m)^(\s*)title: Asking for asylum$", r"\1title: Pedir refugio XX", faq)
    (content_dir / "faq_xx.yaml").write_text(faq, encoding="utf-8")
    trees = (content_dir / "trees_en.yaml").read_text(encoding="utf-8")
    (content_dir / "trees_xx.yaml").write_text(
        trees.replace("title: Report abuse", "title: Reportar XX"), encoding="utf-8"
    )
    languages = content_dir / "languages.yaml"
    languages.write_text(
        languages.read_text(encoding="utf-8").replace("[es, en]", "[es, en, xx]"), encoding="utf-8"
    )
    folder = locale_dir / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    cat = Catalog(locale="en", domain="messages")  # babel needs a real locale for plural rules
    cat.add("Choose your language:", _pseudo("Choose your language:"))
    cat.add("🏠 Menu", _pseudo("Menu"))
    with (folder / "messages.po").open("wb") as fp:
        write_po(fp, cat)

    content = load_content(content_dir)
    assert set(content.languages) == {"es", "en", "xx"}
    # The language machinery is under test, not the learned models: the lexical BM25F matcher
    # needs no fitting (the learned one takes ~10 s here; tests/test_learned.py covers it).
    engine = Engine(content, Catalogs(locale_dir), Bm25Matcher(content))

    chooser = engine.handle(Command(CommandName.LANGUAGE, "es"))
    (reply,) = chooser.replies
    assert isinstance(reply, TextReply)
    assert [b.label for b in reply.buttons] == ["Español", "English", "Pseudo"]
    switched = engine.handle(Press(reply.buttons[2].payload))
    assert switched.lang == "xx"
    (menu,) = switched.replies
    assert isinstance(menu, TextReply)
    assert "Reportar XX" in [b.label for b in menu.buttons]  # content in the new language
    # With three languages the menu offers the chooser; xx lacks its label, so it is Spanish.
    assert [b.label for b in menu.nav] == ["🌐 Idioma"]

    (answer,) = engine.handle(Press(encode(Action.SHOW, "xx", TopicView("rights.asylum")))).replies
    assert isinstance(answer, TextReply)
    assert answer.text.startswith("Pedir refugio XX")
    assert "⟦Menu⟧" in [b.label for b in answer.nav]  # translated UI string
    assert "¿Te sirvió esta respuesta?" in answer.text  # untranslated: falls back to Spanish

    found, response = engine.answer(Text("how do i ask for asylum"), "xx")
    assert (found.lang, found.topic, response.lang) == ("xx", "rights.asylum", "xx")
