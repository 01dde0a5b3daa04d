"""Staff edit YAML; every mistake must come back as `file:line: message` they can act on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.content.loader import load_content, read_content
from bot.content.problems import ContentError, Report, Severity
from bot.engine.views import ENGINE_CHECKS
from tests.conftest import SMALL_CONTENT_DIR


def stale(problem: object) -> bool:
    """A warning that a place's evidence is old or undated: the shipped data has real ones."""
    path, message = getattr(problem, "path", Path()), getattr(problem, "message", "")
    return path.name == "places.yaml" and "re-verify" in message


def check(directory: Path) -> Report:
    report = Report()
    read_content(directory, report, checks=ENGINE_CHECKS)
    return report


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace text in a content file; returns the 1-based line of the first replacement."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def messages(report: Report) -> list[str]:
    return [str(p) for p in report.problems]


UNSET_OPERATOR = "who runs this service is not set"


def test_shipped_content_has_no_problems(content_copy: Path) -> None:
    report = check(content_copy)
    assert report.errors == []
    # Only the deployment's own details are missing: each deployment fills in operator.yaml.
    others = [w.message for w in report.warnings if UNSET_OPERATOR not in w.message]
    assert [w for w in others if "re-verify" not in w] == []


def test_an_unset_operator_is_a_warning_and_a_set_one_is_not(content_copy: Path) -> None:
    (warning,) = [w for w in check(content_copy).warnings if not stale(w)]
    assert warning.path.name == "operator.yaml" and UNSET_OPERATOR in warning.message
    (content_copy / "operator.yaml").write_text(
        "name: Casa Ejemplo A.C.\ncontact: hola@ejemplo.org\n", encoding="utf-8"
    )
    assert [w for w in check(content_copy).warnings if not stale(w)] == []
    assert load_content(content_copy).operator.name == "Casa Ejemplo A.C."


def test_shipped_content_covers_every_catalog_topic_in_both_languages(content) -> None:  # type: ignore[no-untyped-def]
    topics = {t for t in content.catalog if not t.startswith("tree.")}
    trees = {t for t in content.catalog if t.startswith("tree.")}
    assert len(topics) == 40 and len(trees) == 4
    for lang in content.languages.values():
        assert topics <= set(lang.entries), lang.code
        assert trees <= set(lang.trees), lang.code
        for entry in lang.entries.values():
            assert len(entry.questions) >= 8 and entry.source and entry.reviewed
            assert len(entry.answer) <= 1500


def test_broken_yaml_reports_file_and_line(content_copy: Path) -> None:
    faq = content_copy / "faq_es.yaml"
    line = edit(faq, "  - id: paisano.cash\n", "  - id: paisano.cash\n    title: [unclosed\n")
    report = check(content_copy)
    assert any(str(faq) in m and "YAML syntax error" in m for m in messages(report))
    # The reported line is at or right after the broken one, never somewhere else in the file.
    (problem,) = [p for p in report.errors if p.path == faq]
    assert line <= problem.line <= line + 3


def test_unknown_field_suggests_the_right_name(content_copy: Path) -> None:
    faq = content_copy / "faq_en.yaml"
    line = edit(faq, "    keywords: [money, cash", "    keywrods: [money, cash")
    report = check(content_copy)
    assert (
        f"{faq}:{line}: entry 'paisano.cash': unknown field 'keywrods' (did you mean 'keywords'?)"
        in messages(report)
    )


def test_topic_missing_in_one_language_is_named_with_its_line(content_copy: Path) -> None:
    es, en = content_copy / "faq_es.yaml", content_copy / "faq_en.yaml"
    line = edit(es, "  - id: paisano.weapons\n", "  - id: paisano.weaponry\n")
    report = check(content_copy)
    text = "\n".join(messages(report))
    assert (
        f"{es}:{line}: topic 'paisano.weaponry' is in faq_es.yaml but missing from faq_en.yaml"
        in text
    )
    assert f"{es}:1: catalog topic 'paisano.weapons' has no entry in this language" in text
    assert "paisano.weapons' is in faq_en.yaml but missing from faq_es.yaml" in text
    assert str(en) in text


def test_duplicate_ids_and_duplicate_keys(content_copy: Path) -> None:
    faq = content_copy / "faq_en.yaml"
    edit(faq, "  - id: paisano.weapons\n", "  - id: paisano.cash\n")
    line = edit(
        faq, "    title: Vehicle permit\n", "    title: Vehicle permit\n    title: Car permit\n"
    )
    text = "\n".join(messages(check(content_copy)))
    assert "topic 'paisano.cash' is defined twice (first at line" in text
    assert f"{faq}:{line + 1}: key 'title' appears twice in the same block" in text


def test_broken_related_and_tree_references(content_copy: Path) -> None:
    faq, trees = content_copy / "faq_en.yaml", content_copy / "trees_en.yaml"
    edit(
        faq,
        "    related: [paisano.goods, paisano.cash, paisano.what_is]",
        "    related: [paisano.goods, paisano.cashh]",
    )
    edit(
        trees,
        "            topics: [paisano.vehicle_permit]",
        "            topics: [paisano.vehicle]",
    )
    edit(trees, "            next: police", "            next: polize")
    text = "\n".join(messages(check(content_copy)))
    assert "paisano.franchise: related topic 'paisano.cashh' does not exist" in text
    assert "names unknown topic 'paisano.vehicle'" in text
    assert "leads to unknown node 'polize'" in text


def test_tree_cycles_and_unreachable_nodes(content_copy: Path) -> None:
    trees = content_copy / "trees_es.yaml"
    edit(
        trees,
        "          - label: Desapareció alguien\n            topics: [safety.missing_person]",
        "          - label: Desapareció alguien\n            next: who",
    )
    edit(
        trees,
        "      - id: papers\n",
        "      - id: papers\n        prompt: x\n        options: [{label: a, topics: [rights.work]}]\n      - id: orphan\n",
    )
    text = "\n".join(messages(check(content_copy)))
    assert "tree.complaint: the path goes round in a circle: who -> crime -> who" in text
    assert "tree.foreigner_rights: node 'orphan' cannot be reached from 'situation'" in text


def test_platform_limits_and_dates(content_copy: Path) -> None:
    faq = content_copy / "faq_es.yaml"
    edit(faq, "    title: Declarar dinero\n", "    title: Declarar el dinero que traigo\n")
    edit(
        faq,
        "    reviewed: 2026-11-28\n\n  - id: paisano.weapons",
        "    reviewed: 2026-13-01\n\n  - id: paisano.weapons",
    )
    edit(faq, "      Si entras o sales de México", "      " + "muy largo " * 160 + "Si entras")
    text = "\n".join(messages(check(content_copy)))
    assert "entry 'paisano.cash': 'title' is 29 characters, the limit is 24" in text
    assert "'reviewed' = '2026-13-01' is not a valid date (use YYYY-MM-DD)" in text
    assert re.search(r"entry 'paisano.cash': 'answer' is \d+ characters, the limit is 1500", text)


def test_too_many_options_and_long_payloads(content_copy: Path) -> None:
    trees = content_copy / "trees_en.yaml"
    many = "".join(
        f"          - label: Option {i}\n            topics: [rights.work]\n" for i in range(9)
    )
    edit(
        trees,
        "      - id: papers\n        prompt: What are you looking for?\n        options:\n",
        "      - id: papers\n        prompt: What are you looking for?\n        options:\n" + many,
    )
    edit(trees, "      - id: detained\n", "      - id: detained_and_held_long\n")
    text = "\n".join(messages(check(content_copy)))
    assert "node 'papers' has 13 options; 1 to 8 allowed" in text
    assert "node id 'detained_and_held_long' must be 1-20 characters" in text


def test_old_review_date_is_a_warning_not_an_error(content_copy: Path) -> None:
    faq = content_copy / "faq_en.yaml"
    old = (date.today() - timedelta(days=400)).isoformat()
    line = edit(faq, "  - id: paisano.cash\n", "  - id: paisano.cash\n")
    edit(
        faq,
        "    reviewed: 2026-11-28\n\n  - id: paisano.weapons",
        f"    reviewed: {old}\n\n  - id: paisano.weapons",
    )
    report = check(content_copy)
    assert report.errors == []
    (warning,) = [w for w in report.warnings if UNSET_OPERATOR not in w.message and not stale(w)]
    assert warning.severity is Severity.WARNING and warning.line == line
    assert "more than 12 months ago" in warning.message
    load_content(content_copy)  # warnings never stop the bot


def test_words_that_yaml_would_turn_into_booleans_stay_text(content_copy: Path) -> None:
    faq = content_copy / "faq_en.yaml"
    edit(faq, "    keywords: [money, cash,", "    keywords: [no, yes, on, 911, 10000, money, cash,")
    content = load_content(content_copy)
    assert content.languages["en"].entries["paisano.cash"].keywords[:5] == (
        "no",
        "yes",
        "on",
        "911",
        "10000",
    )


def test_load_content_refuses_broken_content_and_lists_every_error(content_copy: Path) -> None:
    edit(content_copy / "faq_en.yaml", "    title: Declaring cash\n", "")
    edit(content_copy / "trees_es.yaml", "    start: danger\n", "    start: peligro\n")
    with pytest.raises(ContentError) as caught:
        load_content(content_copy)
    text = str(caught.value)
    assert "entry 'paisano.cash': missing field 'title'" in text
    assert "start node 'peligro' does not exist" in text


@pytest.fixture()
def lexical(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited content means fitting the models again: lexical only keeps that to seconds."""
    monkeypatch.setenv("ORIENTA_EMBEDDINGS", "none")


@pytest.mark.slow
@pytest.mark.usefixtures("lexical")  # the self-test of 4,800 questions, without 4,800 embeddings
def test_content_check_command_exit_codes(
    content_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["content", "check"]) == 0  # the shipped content
    assert re.search(r"; (\d+)/\1 example questions match their entry", capsys.readouterr().out)
    faq = content_copy / "faq_en.yaml"
    line = edit(faq, "    title: Declaring cash\n", "    titel: Declaring cash\n")
    assert main(["content", "check", str(content_copy)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{faq}:{line}: entry 'paisano.cash': unknown field 'titel' (did you mean 'title'?)" in out
    )


@pytest.mark.usefixtures("lexical")
def test_example_questions_that_match_another_entry_are_listed_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The small content fixture: fitting it takes a second, the shipped content half a minute.
    content = tmp_path / "content"
    shutil.copytree(SMALL_CONTENT_DIR, content)
    faq = content / "faq_en.yaml"
    line = edit(
        faq,
        "  - they asked me for a bribe at the border\n",
        "  - how long do i have to apply for refugee status\n",
    )
    assert main(["content", "check", str(content)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{faq}:{line}: example question of complaint.bribe matched 'rights.asylum': 'how long do i have to apply for refugee status'"
        in out
    )


@pytest.mark.slow
def test_python_dash_m_bot_content_check_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check", "--no-examples"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s), " in done.stdout and UNSET_OPERATOR in done.stdout
    assert "places.yaml" in done.stdout and "more than two years old: re-verify" in done.stdout


def test_a_malformed_phonetic_block_is_reported(content_copy: Path) -> None:
    faq = content_copy / "faq_es.yaml"
    line = edit(faq, "  phonetic: [[ch,", "  phonetic: [[ch, x, y], [ch,")
    assert (
        f"{faq}:{line}: 'phonetic' must be a list of [from, to] pairs, e.g. [[z, s], [v, b]]"
        in messages(check(content_copy))
    )


def test_a_deleted_language_file_is_an_error_not_a_silent_loss(content_copy: Path) -> None:
    (content_copy / "faq_es.yaml").unlink()
    listed = (content_copy / "languages.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(listed, 1) if text.startswith("languages:"))
    assert f"languages.yaml:{line}: language 'es' is listed but faq_es.yaml is missing" in " ".join(
        messages(check(content_copy))
    )
    assert main(["content", "check", str(content_copy)]) == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("default not listed", "the default language 'de' is not in the list"),
        ("trees without faq", "trees_xx.yaml has no faq_xx.yaml beside it"),
        ("faq not listed", "faq_xx.yaml is not listed in languages.yaml: add 'xx' there"),
        ("no languages.yaml", "languages.yaml is missing"),
        ("trees missing", "language 'en' is listed but trees_en.yaml is missing"),
    ],
)
def test_languages_yaml_and_the_files_must_agree(
    content_copy: Path, change: str, expected: str
) -> None:
    languages = content_copy / "languages.yaml"
    if change == "default not listed":
        edit(languages, "default: es", "default: de")
    elif change == "trees without faq":
        shutil.copy(content_copy / "trees_en.yaml", content_copy / "trees_xx.yaml")
    elif change == "faq not listed":
        shutil.copy(content_copy / "faq_en.yaml", content_copy / "faq_xx.yaml")
        shutil.copy(content_copy / "trees_en.yaml", content_copy / "trees_xx.yaml")
    elif change == "no languages.yaml":
        languages.unlink()
    else:
        (content_copy / "trees_en.yaml").unlink()
    report = check(content_copy)
    assert any(expected in m for m in messages(report)), messages(report)
    assert report.errors


def test_a_role_pointing_nowhere_is_an_error_with_its_line(content_copy: Path) -> None:
    line = edit(content_copy / "roles.yaml", "about: meta.about", "about: meta.abuot")
    report = check(content_copy)
    assert (
        f"{content_copy / 'roles.yaml'}:{line}: role 'about' points to the topic 'meta.abuot', "
        "which faq_es.yaml/trees_es.yaml do not have"
    ) in messages(report)


def test_a_renamed_topic_is_followed_by_the_bot_through_roles_yaml(content_copy: Path) -> None:
    from bot.engine.engine import Engine
    from bot.engine.events import Command, CommandName
    from bot.i18n import Catalogs
    from bot.matching.matcher import Bm25Matcher
    from tests.conftest import LOCALE_DIR

    for path in [*content_copy.glob("faq_*.yaml"), content_copy / "topics.yaml"]:
        path.write_text(
            path.read_text(encoding="utf-8").replace("meta.about", "meta.who_we_are"),
            encoding="utf-8",
        )
    edit(content_copy / "roles.yaml", "about: meta.about", "about: meta.who_we_are")
    content = load_content(content_copy)
    # Roles are under test, not the learned models: BM25F needs no fitting.
    engine = Engine(content, Catalogs(LOCALE_DIR), Bm25Matcher(content))
    about = engine.handle(Command(CommandName.ABOUT, "en")).replies[0]
    assert about.text.startswith(content.languages["en"].entries["meta.who_we_are"].title)
