"""Accuracy floors on held-out questions written the way migrants type (tests/data/matcher_cases.yaml).

The cases are NOT the content's example questions. Floors sit at the product targets: at least
90% top-1 in each language, and at least 85% of out-of-scope messages answered with "none".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.matching.matcher import Intent, Matcher

CASES = yaml.safe_load(
    (Path(__file__).parent / "data" / "matcher_cases.yaml").read_text(encoding="utf-8")
)


def test_the_case_set_is_big_enough() -> None:
    total = sum(len(cases) for cases in CASES.values())
    assert total >= 150
    for cases in CASES.values():
        assert sum(1 for _, topic in cases if topic is None) >= 15


@pytest.mark.parametrize("lang", sorted(CASES))
def test_top1_accuracy_floor(matcher: Matcher, lang: str) -> None:
    cases = [(text, topic) for text, topic in CASES[lang] if topic]
    misses = [
        (text, topic, matcher.match(text).topic)
        for text, topic in cases
        if matcher.match(text).topic != topic
    ]
    accuracy = 1 - len(misses) / len(cases)
    assert accuracy >= 0.90, f"{lang}: {accuracy:.1%} top-1; misses: {misses}"


@pytest.mark.parametrize("lang", sorted(CASES))
def test_language_detection(matcher: Matcher, lang: str) -> None:
    wrong = [text for text, topic in CASES[lang] if topic and matcher.match(text).lang != lang]
    assert len(wrong) <= 0.02 * len(CASES[lang]), wrong


@pytest.mark.parametrize("lang", sorted(CASES))
def test_out_of_scope_floor(matcher: Matcher, lang: str) -> None:
    cases = [text for text, topic in CASES[lang] if topic is None]
    answered = [
        (text, matcher.match(text).topic)
        for text in cases
        if matcher.match(text).intent is Intent.TOPIC
    ]
    share = 1 - len(answered) / len(cases)
    assert share >= 0.85, (
        f"{lang}: only {share:.0%} of out-of-scope got 'none'; answered: {answered}"
    )
