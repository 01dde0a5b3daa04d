"""Free text -> language, topic (or none), confidence; and whether the writer is in danger now."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot import limits
from bot.content.model import Content, Language
from bot.i18n import base_language
from bot.matching.analyzer import Analyzer, fold, tokenize
from bot.matching.index import Scored, TopicIndex

# Calibrated on tests/data/matcher_cases.yaml: below these, the answer is "none".
MIN_CONFIDENCE = 0.45  # share of the query's information the best entry must explain
MIN_EVIDENCE = 0.9  # total idf the best entry must match: one common word is not enough
CLOSE_CALL = 0.9  # a runner-up within 90% of the best score is offered too
CLEAR_MARGIN = 2.0  # best BM25 score at least this many times the runner-up's...
CLEAR_EVIDENCE = 4.5  # ...with this much idf matched...
CLEAR_MIN_COVERAGE = 0.35  # ...and at least this share explained


class Intent(StrEnum):
    TOPIC = "topic"
    NONE = "none"  # nothing matched with confidence
    GREETING = "greeting"
    THANKS = "thanks"
    EMPTY = "empty"  # no words at all: emoji only, punctuation, blank


@dataclass(frozen=True)
class Match:
    lang: str
    intent: Intent
    topic: str | None = None
    score: float = 0.0
    alternatives: tuple[str, ...] = ()
    close_call: bool = False
    danger: bool = False
    candidates: tuple[Scored, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class _LanguageModel:
    language: Language
    analyzer: Analyzer
    index: TopicIndex
    vocabulary: frozenset[str]
    greetings: frozenset[str]
    thanks: frozenset[str]
    triggers: dict[str, tuple[tuple[str, ...], ...]]  # danger phrases (stems) by their first stem
    # Example questions made only of function words ("who are you"): the index cannot see them,
    # so they are matched whole.
    function_only: dict[tuple[str, ...], str]


class Matcher:
    def __init__(self, content: Content) -> None:
        self.default = content.default_language
        self.models: dict[str, _LanguageModel] = {}
        for code, lang in content.languages.items():
            analyzer = Analyzer(lang.stemmer, lang.abbreviations, lang.stopwords, lang.phonetic)
            extra = (*lang.greetings, *lang.thanks, *lang.safety.triggers)
            index = TopicIndex(analyzer, lang.entries.values(), extra)
            vocabulary = (
                index.vocabulary
                | analyzer.stopwords
                | set(analyzer.abbreviations)
                | {w for text in extra for w in tokenize(text)}
            )
            self.models[code] = _LanguageModel(
                language=lang,
                analyzer=analyzer,
                index=index,
                vocabulary=frozenset(vocabulary),
                greetings=frozenset(w for g in lang.greetings for w in analyzer.words(g)),
                thanks=frozenset(w for g in lang.thanks for w in analyzer.words(g)),
                triggers=_by_first(
                    tuple(analyzer.stem(w) for w in analyzer.words(t)) for t in lang.safety.triggers
                ),
                function_only={
                    tuple(words): entry.id
                    for entry in lang.entries.values()
                    for question in entry.questions
                    if (words := analyzer.words(question)) and not analyzer.content_words(words)
                },
            )
        # A word that only one language uses says which language a message is in.
        self._exclusive: dict[str, frozenset[str]] = {}
        for code, model in self.models.items():
            others = set().union(*(m.vocabulary for c, m in self.models.items() if c != code))
            self._exclusive[code] = model.vocabulary - others

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.models)

    def detect_language(self, text: str, hint: str | None = None) -> str:
        """The language of `text` from the content's vocabularies; `hint` (a platform's language
        code) only breaks ties."""
        tokens = tokenize(text[: limits.MATCH_INPUT_MAX])
        votes = {code: sum(t in words for t in tokens) for code, words in self._exclusive.items()}
        best = max(votes.values(), default=0)
        leaders = [code for code, n in votes.items() if n == best]
        fallback = base_language(hint)
        if len(leaders) == 1 and best > 0:
            return leaders[0]
        if fallback in leaders:
            return fallback
        return self.default if self.default in leaders else leaders[0]

    def match(self, text: str, hint: str | None = None, lang: str | None = None) -> Match:
        """Match `text`. With `lang`, the language is forced; otherwise it is detected."""
        text = text[: limits.MATCH_INPUT_MAX]
        code = lang if lang in self.models else self.detect_language(text, hint)
        model = self.models[code]
        words = model.analyzer.words(text)
        fixed = [model.index.correct(w) or w for w in words]
        # Safety first: danger words of any language count ("help me" in a Spanish message).
        # The words that raised the alarm are then left out of topic matching: "they are
        # following me" is not a question about following up a complaint.
        keep = self._outside_danger(model, fixed)
        danger = not all(keep)
        words = [w for w, k in zip(words, keep, strict=True) if k]
        fixed = [w for w, k in zip(fixed, keep, strict=True) if k]
        for other_code, other in self.models.items():
            if other_code != code and not danger:
                danger = not all(self._outside_danger(other, other.analyzer.words(text)))
        if not words:
            return Match(code, Intent.EMPTY if not danger else Intent.NONE, danger=danger)
        content = model.analyzer.content_words(fixed)
        if not content:
            topic = _function_only_topic(model.function_only, words)
            if topic is not None:
                return Match(code, Intent.TOPIC, topic=topic, score=1.0, danger=danger)
        social = [
            w
            for w in fixed
            if w not in model.analyzer.stopwords or w in model.greetings or w in model.thanks
        ]
        if social and all(w in model.greetings for w in social):
            return Match(code, Intent.GREETING, danger=danger)
        if social and all(w in model.thanks or w in model.greetings for w in social):
            return Match(code, Intent.THANKS, danger=danger)
        terms = model.index.query_terms(words, _names(text))
        found = model.index.search(terms)
        if not found:
            return Match(code, Intent.NONE, danger=danger)
        best = found[0]
        evidence = best.coverage * sum(t.weight for t in terms)
        runner_up = found[1].score if len(found) > 1 else 0.0
        # A clear winner with specific evidence is confident even when much of a long message is
        # unknown to the content: one entry explains the words that matter.
        clear = (
            best.score >= CLEAR_MARGIN * runner_up
            and evidence >= CLEAR_EVIDENCE
            and best.coverage >= CLEAR_MIN_COVERAGE
        )
        if (best.coverage < MIN_CONFIDENCE and not clear) or evidence < MIN_EVIDENCE:
            return Match(
                code,
                Intent.NONE,
                score=round(best.coverage, 3),
                danger=danger,
                candidates=tuple(found),
            )
        runners = [
            s
            for s in found[1:]
            if s.score >= CLOSE_CALL * best.score and s.coverage >= MIN_CONFIDENCE
        ]
        return Match(
            lang=code,
            intent=Intent.TOPIC,
            topic=best.topic,
            score=round(best.coverage, 3),
            alternatives=tuple(s.topic for s in found[1:3]),
            close_call=bool(runners),
            danger=danger,
            candidates=tuple(found),
        )

    @staticmethod
    def _outside_danger(model: _LanguageModel, words: Sequence[str]) -> list[bool]:
        """For each word, whether it is outside every danger phrase."""
        stems = [model.analyzer.stem(w) for w in words]
        keep = [True] * len(words)
        for i, stem in enumerate(stems):
            for phrase in model.triggers.get(stem, ()):
                n = len(phrase)
                if tuple(stems[i : i + n]) == phrase:
                    keep[i : i + n] = [False] * n
        return keep


def _function_only_topic(examples: dict[tuple[str, ...], str], words: Sequence[str]) -> str | None:
    """The topic of the longest function-word example wholly inside `words` ("quien eres tu"
    contains "quien eres"), when the message adds at most two words to it."""
    present = set(words)
    best: tuple[int, str] | None = None
    for example, topic in examples.items():
        if (
            set(example) <= present
            and len(present) - len(set(example)) <= 2
            and (best is None or len(example) > best[0])
        ):
            best = (len(example), topic)
    return best[1] if best else None


def _by_first(phrases: Iterable[tuple[str, ...]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        if phrase:
            index.setdefault(phrase[0], []).append(phrase)
    return {first: tuple(group) for first, group in index.items()}


def _names(text: str) -> frozenset[str]:
    """Capitalised words that do not start a sentence: probably names of people or places."""
    names = set()
    for found in re.finditer(r"[^\W\d_]+", text):
        word = found.group()
        before = text[: found.start()].rstrip()
        # Not the first word, not after a full stop, and not SHOUTED.
        if word[0].isupper() and not word.isupper() and before and before[-1] not in ".!?¿¡":
            names.add(fold(word))
    return frozenset(names)
