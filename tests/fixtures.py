"""Small content for tests of the matcher's machinery: a few topics of the shipped content, so a
fit takes a fraction of a second."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.content.loader import load_content
from bot.content.model import Content, frozen_map
from tests.conftest import CONTENT_DIR

TOPICS = (
    "complaint.bribe",
    "complaint.how_to_file",
    "rights.asylum",
    "paisano.franchise",
    "paisano.vehicle_permit",
    "beta.what_are",
    "safety.emergency",
    "meta.about",
    "meta.human_help",
)
_SHIPPED: list[Content] = []


def small_content(_tmp: Path | None = None) -> Content:
    if not _SHIPPED:
        _SHIPPED.append(load_content(CONTENT_DIR))
    shipped = _SHIPPED[0]
    languages = {}
    for code, language in shipped.languages.items():
        if code not in ("es", "en"):  # two languages are enough to test the models' machinery
            continue
        languages[code] = replace(
            language,
            entries=frozen_map({t: e for t, e in language.entries.items() if t in TOPICS}),
            out_of_scope=language.out_of_scope[:60],
            safety=replace(
                language.safety,
                examples=language.safety.examples[:60],
                near_misses=language.safety.near_misses[:40],
            ),
        )
    return replace(shipped, languages=frozen_map(languages))


def with_question(content: Content, topic: str, question: str, lang: str = "es") -> Content:
    """`content` with one more example question for `topic`."""
    language = content.languages[lang]
    entry = language.entries[topic]
    entries = {**language.entries, topic: replace(entry, questions=(*entry.questions, question))}
    languages = {**content.languages, lang: replace(language, entries=frozen_map(entries))}
    return replace(content, languages=frozen_map(languages))
