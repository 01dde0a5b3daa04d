"""Scoring a matcher on sets of questions with known answers (held-out sets, tuning cases).

Used by `orienta content eval`, `benchmarks/bench_quality.py` and the quality tests, so the
three always measure the same thing the same way.

Case files:
- `{lang: es, cases: [{text, topic, style}]}` (held-out sets; `topic: null` = out of scope);
- `{es: [[text, topic], ...], en: [...]}` (tuning cases, `tests/data/matcher_cases.yaml`);
- danger files: `{es: {danger: [...], near_miss: [...]}, en: {...}}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LONG_WORDS = 30  # a message of this many words or more is "long"
LANGUAGE_MIN_WORDS = 3  # language detection is scored on messages of 3 words or more


@dataclass(frozen=True)
class Case:
    lang: str
    text: str
    topic: str | None  # None: out of scope
    style: str = ""

    @property
    def words(self) -> int:
        return len(re.findall(r"\w+", self.text))

    @property
    def long(self) -> bool:
        return self.words >= LONG_WORDS


@dataclass(frozen=True)
class Answer:
    """What a matcher said about one message (the parts a score needs)."""

    lang: str
    topic: str | None  # None when it answered "nothing matched"
    danger: bool = False


@dataclass
class Quality:
    """Scores for one language."""

    lang: str
    in_scope: int = 0
    right: int = 0
    long: int = 0
    long_right: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    detectable: int = 0  # messages of 3+ words
    detected: int = 0
    misses: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return self.right / self.in_scope if self.in_scope else 0.0

    @property
    def long_top1(self) -> float:
        return self.long_right / self.long if self.long else 0.0

    @property
    def oos_rejected(self) -> float:
        return self.rejected / self.out_of_scope if self.out_of_scope else 0.0

    @property
    def language(self) -> float:
        return self.detected / self.detectable if self.detectable else 0.0


@dataclass
class DangerQuality:
    lang: str
    danger: int = 0
    caught: int = 0
    near_misses: int = 0
    alarms: int = 0
    missed: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.danger if self.danger else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.alarms / self.near_misses if self.near_misses else 0.0


def read_cases(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "cases" in data:
        lang = str(data["lang"])
        return [
            Case(lang, str(c["text"]), c.get("topic"), str(c.get("style", "")))
            for c in data["cases"]
        ]
    return [
        Case(str(lang), str(text), topic)
        for lang, items in (data or {}).items()
        if lang != "danger"  # danger cases live beside the topic cases (see `read_danger`)
        for text, topic in items
    ]


def read_danger(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data = data.get("danger", data)
    return {
        str(lang): (list(block.get("danger") or []), list(block.get("near_miss") or []))
        for lang, block in data.items()
    }


def evaluate(answer: Callable[[str], Answer], cases: Iterable[Case]) -> dict[str, Quality]:
    out: dict[str, Quality] = {}
    for case in cases:
        q = out.setdefault(case.lang, Quality(case.lang))
        got = answer(case.text)
        if case.words >= LANGUAGE_MIN_WORDS:
            q.detectable += 1
            q.detected += got.lang == case.lang
        if case.topic is None:
            q.out_of_scope += 1
            q.rejected += got.topic is None
            if got.topic is not None:
                q.misses.append((case.text, None, got.topic))
            continue
        q.in_scope += 1
        ok = got.topic == case.topic
        q.right += ok
        if case.long:
            q.long += 1
            q.long_right += ok
        if not ok:
            q.misses.append((case.text, case.topic, got.topic))
    return out


def evaluate_danger(
    answer: Callable[[str], Answer], sets: Mapping[str, tuple[Sequence[str], Sequence[str]]]
) -> dict[str, DangerQuality]:
    out: dict[str, DangerQuality] = {}
    for lang, (danger, near) in sets.items():
        q = out[lang] = DangerQuality(lang)
        for text in danger:
            q.danger += 1
            if answer(text).danger:
                q.caught += 1
            else:
                q.missed.append(text)
        for text in near:
            q.near_misses += 1
            if answer(text).danger:
                q.alarms += 1
                q.false_alarms.append(text)
    return out


# ---------------------------------------------------------------------- cross-validation report


@dataclass
class TopicScore:
    lang: str
    topic: str
    questions: int
    right: int

    @property
    def accuracy(self) -> float:
        return self.right / self.questions if self.questions else 0.0


@dataclass
class CrossValidation:
    """How the content's own examples fare when each is held out of training (k-fold)."""

    folds: int
    semantic: bool
    thresholds: Mapping[str, Any]
    topics: list[TopicScore]
    confused: list[tuple[str, str, int]]  # (topic, taken for, how many)
    misplaced: list[tuple[str, str, str, str]]  # (lang, topic, question, got or "-")
    oos_answered: list[tuple[str, str, str]]  # (lang, text, got)
    danger_missed: list[tuple[str, str]]  # (lang, text)
    near_miss_alarms: list[tuple[str, str]]
    by_language: dict[str, tuple[float, float]]  # lang -> (accuracy, out-of-scope rejected)
    # lang -> (danger examples caught, how many; near misses that alarmed, how many)
    danger_by_language: dict[str, tuple[float, int, float, int]]


def cross_validation(
    content: Any,
    normalizers: Mapping[str, Any],
    embed: Callable[[Sequence[str]], Any] | None,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> CrossValidation:
    """k-fold cross-validation over every language's examples, with the thresholds it chooses."""
    import numpy as np

    from bot.matching.learned import NONE, window
    from bot.matching.training import (
        Recipe,
        choose_thresholds,
        collect,
        cross_validate,
        decide,
        embed_text,
    )

    recipe = Recipe(folds=folds)
    examples = collect(content, normalizers)
    texts = [
        window(embed_text(e, recipe), recipe.embed_words, recipe.embed_chars) for e in examples
    ]
    vectors = embed(texts) if embed is not None else None
    oof = cross_validate(examples, vectors, recipe, progress)
    thresholds, report = choose_thresholds(oof, recipe)
    if oof.topic_semantic is not None and oof.danger_mixed is not None:
        long = np.array([len(e.text.split()) > recipe.embed_words for e in oof.topic_examples])
        weights = np.where(long, thresholds.mix_long, thresholds.mix)[:, None]
        probs = (weights * oof.topic_lexical + (1 - weights) * oof.topic_semantic).astype(
            np.float32
        )
        accepts = np.where(long, thresholds.accept_lexical, thresholds.accept)
        alarm, danger = thresholds.danger, oof.danger_mixed
    else:
        probs, alarm, danger = oof.topic_lexical, thresholds.danger_lexical, oof.danger_lexical
        accepts = np.full(len(probs), thresholds.accept_lexical)
    got = [
        decide(row[None, :], oof.classes, float(a))[0]
        for row, a in zip(probs, accepts, strict=True)
    ]
    scores: dict[tuple[str, str], TopicScore] = {}
    confused: dict[tuple[str, str], int] = {}
    misplaced, oos_answered = [], []
    per_lang: dict[str, list[int]] = {}
    for example, label in zip(oof.topic_examples, got, strict=True):
        tally = per_lang.setdefault(example.lang, [0, 0, 0, 0])
        if example.topic == NONE:
            tally[2] += 1
            tally[3] += label == NONE
            if label != NONE:
                oos_answered.append((example.lang, example.text, label))
            continue
        if example.kind != "question":
            continue
        score = scores.setdefault(
            (example.lang, example.topic), TopicScore(example.lang, example.topic, 0, 0)
        )
        score.questions += 1
        tally[0] += 1
        if label == example.topic:
            score.right += 1
            tally[1] += 1
        else:
            misplaced.append(
                (example.lang, example.topic, example.text, label if label != NONE else "-")
            )
            confused[(example.topic, label)] = confused.get((example.topic, label), 0) + 1
    alarms = np.asarray(danger) >= alarm
    danger_missed: list[tuple[str, str]] = []
    near: list[tuple[str, str]] = []
    danger_tally: dict[str, list[int]] = {}  # lang -> [danger, caught, near misses, alarmed]
    for e, a in zip(oof.examples, alarms, strict=True):
        if e.kind not in ("danger", "near_miss"):
            continue
        t = danger_tally.setdefault(e.lang, [0, 0, 0, 0])
        at = 0 if e.kind == "danger" else 2
        t[at] += 1
        t[at + 1] += bool(a)
        if e.kind == "danger" and not a:
            danger_missed.append((e.lang, e.text))
        elif e.kind == "near_miss" and a:
            near.append((e.lang, e.text))
    return CrossValidation(
        folds=folds,
        semantic=oof.topic_semantic is not None,
        thresholds={**report, "chosen": thresholds.__dict__},
        topics=sorted(scores.values(), key=lambda s: (s.accuracy, s.lang, s.topic)),
        confused=sorted(((a, b, n) for (a, b), n in confused.items()), key=lambda x: -x[2]),
        misplaced=misplaced,
        oos_answered=oos_answered,
        danger_missed=danger_missed,
        near_miss_alarms=near,
        danger_by_language={
            lang: (t[1] / t[0] if t[0] else 0.0, t[0], t[3] / t[2] if t[2] else 0.0, t[2])
            for lang, t in sorted(danger_tally.items())
        },
        by_language={
            lang: (t[1] / t[0] if t[0] else 0.0, t[3] / t[2] if t[2] else 0.0)
            for lang, t in per_lang.items()
        },
    )
