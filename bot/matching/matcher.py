"""Free text -> language, topic (or none), confidence; and whether the writer is in danger now.

The rules every message goes through live in `BaseMatcher`: the input is cut, its language
found, danger phrases checked first (any language), and empty messages, greetings, thanks and
questions made only of function words ("who are you") are recognised. What is left goes to a
scoring core:

- `Matcher` (the product): learned models (`learned.py`), lexical and, when an embedder is
  configured, semantic; the expensive embedding runs only when the lexical model is unsure.
- `Bm25Matcher`: the hand-tuned BM25F scorer Orienta used before, kept to compare against
  (`benchmarks/bench_quality.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot import limits
from bot.content.model import Content, Language
from bot.i18n import base_language
from bot.matching.analyzer import Analyzer, fold, tokenize
from bot.matching.embedder import Embedder
from bot.matching.features import Floats, Ints, LinearModel
from bot.matching.index import TopicIndex
from bot.matching.learned import NONE, Models, mix, threat, window
from bot.matching.normalize import HelpCalls, Normalizer, Triggers, once
from bot.matching.types import Intent as Intent  # re-exported: matcher users import it here
from bot.matching.types import Match as Match
from bot.matching.types import Scored as Scored

# The language model must be this sure; below it the platform's language code decides.
LANGUAGE_SURE = 0.75
SHORT_WORDS = 3  # below this many words, the words themselves decide (no n-gram model)
# A message in danger answers a topic too only when the topic model is at least this sure:
# "unos vatos me andan siguiendo" must not be read as a question about following up a complaint.
DANGER_TOPIC_MIN = 0.35


@dataclass(frozen=True)
class Ranking:
    """What a scoring core says about one message."""

    candidates: tuple[Scored, ...]  # best first
    accepted: bool  # the best candidate is confident enough to answer
    close_call: bool = False
    danger: bool = False  # the core's own danger judgement (the phrase floor is separate)
    semantic: bool = False


@dataclass(frozen=True)
class _LanguageRules:
    language: Language
    analyzer: Analyzer
    normalizer: Normalizer
    greetings: frozenset[str]
    thanks: frozenset[str]
    triggers: Triggers  # exact danger phrases
    help_calls: HelpCalls
    # Example questions made only of function words ("who are you"): no model sees them well,
    # so they are matched whole.
    function_only: dict[tuple[str, ...], str]


class BaseMatcher:
    """The rules every message goes through; subclasses supply `detect_language` and `_rank`."""

    def __init__(self, content: Content) -> None:
        self.default = content.default_language
        self.models: dict[str, _LanguageRules] = {}
        for code, lang in content.languages.items():
            normalizer = Normalizer(lang)
            analyzer = normalizer.analyzer
            self.models[code] = _LanguageRules(
                language=lang,
                analyzer=analyzer,
                normalizer=normalizer,
                greetings=frozenset(w for g in lang.greetings for w in analyzer.words(g)),
                thanks=frozenset(w for g in lang.thanks for w in analyzer.words(g)),
                triggers=Triggers(analyzer, lang.safety.triggers),
                help_calls=HelpCalls(analyzer, lang.safety.help_calls),
                function_only={
                    tuple(words): entry.id
                    for entry in lang.entries.values()
                    for question in entry.questions
                    if (words := analyzer.words(question)) and not analyzer.content_words(words)
                },
            )

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.models)

    @property
    def normalizers(self) -> dict[str, Normalizer]:
        """Each language's normaliser: what training and the embedding cache read text with."""
        return {code: rules.normalizer for code, rules in self.models.items()}

    def detect_language(self, text: str, hint: str | None = None) -> str:
        raise NotImplementedError

    def _rank(self, code: str, text: str, words: Sequence[str], danger: bool) -> Ranking:
        raise NotImplementedError

    def _fallback(self, leaders: Sequence[str], hint: str | None) -> str:
        """Among equally likely languages: the platform's, else the default, else the first."""
        preferred = base_language(hint)
        if preferred in leaders:
            return str(preferred)
        return self.default if self.default in leaders or not leaders else leaders[0]

    def match(self, text: str, hint: str | None = None, lang: str | None = None) -> Match:
        """Match `text`. With `lang`, the language is forced; otherwise it is detected."""
        text = text[: limits.MATCH_INPUT_MAX]
        code = lang if lang in self.models else self.detect_language(text, hint)
        model = self.models[code]
        words = model.analyzer.words(text)
        fixed = model.normalizer.speller.fix(words)
        # Safety first: danger words of any language count ("help me" in a Spanish message).
        # The words that raised the alarm are then left out of topic matching: "they are
        # following me" is not a question about following up a complaint.
        keep = model.triggers.outside(fixed)
        danger = not all(keep)
        words = [w for w, k in zip(words, keep, strict=True) if k]
        fixed = [w for w, k in zip(fixed, keep, strict=True) if k]
        for other_code, other in self.models.items():
            if other_code != code and not danger:
                danger = other.triggers.found(other.analyzer.words(text))
        if any(rules.help_calls.only_in(rules.normalizer, text) for rules in self.models.values()):
            # Nothing but a call for help ("help me!!", "ayudaaa"): the emergency numbers, and no
            # topic guessed from the word "help".
            return Match(code, Intent.NONE, danger=True)
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
        # A greeting next to words of danger is not small talk: the danger decides.
        if social and not danger and all(w in model.greetings for w in social):
            return Match(code, Intent.GREETING)
        if social and not danger and all(w in model.thanks or w in model.greetings for w in social):
            return Match(code, Intent.THANKS)
        ranking = self._rank(code, text, fixed, danger)
        danger = danger or ranking.danger
        found = ranking.candidates
        if not found or not ranking.accepted:
            return Match(
                code,
                Intent.NONE,
                score=round(found[0].coverage, 3) if found else 0.0,
                danger=danger,
                candidates=found,
                semantic=ranking.semantic,
            )
        best = found[0]
        return Match(
            lang=code,
            intent=Intent.TOPIC,
            topic=best.topic,
            score=round(best.coverage, 3),
            alternatives=tuple(s.topic for s in found[1:3]),
            close_call=ranking.close_call,
            danger=danger,
            candidates=found,
            semantic=ranking.semantic,
        )


ModelSource = Callable[[Content, Mapping[str, Normalizer], Embedder | None], Models]


class Matcher(BaseMatcher):
    """The learned matcher: `models` fitted before, or a source of them (the on-disk cache's
    `ModelCache.models`), or None to fit them here; an optional `embedder` for the semantic model.

    Without an embedder, or with models fitted without one, it runs lexical-only with the
    lexical thresholds: the same models serve both paths.
    """

    def __init__(
        self,
        content: Content,
        models: Models | ModelSource | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        super().__init__(content)
        normalizers = self.normalizers
        if models is None:
            from bot.matching.training import train

            embed = embedder.embed if embedder is not None else None
            models = train(content, normalizers, embed, embedder.model_id if embedder else None)
        elif not isinstance(models, Models):
            models = models(content, normalizers, embedder)
        self.learned = models
        semantic_ok = (
            embedder is not None and models.semantic and models.embedder_id == embedder.model_id
        )
        self.embedder = embedder if semantic_ok else None
        # Words as people type them: the content's words, and the chat forms a language expands
        # ("mordida" becomes "soborno" in Spanish, yet it is a Spanish word).
        vocabularies = {
            c: r.normalizer.speller.vocabulary
            | set(r.analyzer.abbreviations)
            | r.analyzer.stopwords
            for c, r in self.models.items()
        }
        self._exclusive = {
            code: words - frozenset().union(*(v for c, v in vocabularies.items() if c != code))
            for code, words in vocabularies.items()
        }
        # Words a language's own lists name (greetings, thanks, command words, its names): with
        # four languages, "bonjou" is in the French content too (Haitians write French), but only
        # Kreyol greets with it.
        self._own = {
            code: frozenset(
                w
                for phrase in (
                    *r.language.greetings,
                    *r.language.thanks,
                    *r.language.names,
                    *(w for words in r.language.commands.values() for w in words),
                )
                for w in tokenize(phrase)
            )
            for code, r in self.models.items()
        }
        self._known = vocabularies
        self._topics = models.topic_lexical.classes
        self._none = self._topics.index(NONE) if NONE in self._topics else -1
        danger_classes = models.danger_lexical.classes
        self._alarm_column = danger_classes.index("1") if "1" in danger_classes else 0

    @property
    def semantic(self) -> bool:
        """Whether sentence embeddings are in use."""
        return self.embedder is not None

    def detect_language(self, text: str, hint: str | None = None) -> str:
        """The language of `text`; `hint` (a platform's language code) decides when the text
        alone does not.

        Three words or more: a learned model of character n-grams. Fewer say little ("ok",
        "asilo?"): only words that one language's content alone uses count.
        """
        tokens = tokenize(text[: limits.MATCH_INPUT_MAX])
        if len(tokens) < SHORT_WORDS:
            # Words only one language uses decide; else a language's own greetings, thanks and
            # names; else the words each language knows at all. Each step narrows the field.
            leaders = list(self.models)
            for words_of in (self._exclusive, self._own, self._known):
                votes = {code: sum(t in words_of[code] for t in tokens) for code in leaders}
                best = max(votes.values(), default=0)
                if best > 0:
                    leaders = [code for code in leaders if votes[code] == best]
                if len(leaders) == 1:
                    return leaders[0]
            return self._fallback(leaders, hint)
        columns, values = self.learned.lang_features.transform(" ".join(tokens))
        probs = self.learned.lang.sparse_proba(columns, values)
        classes = self.learned.lang.classes
        order = np.argsort(-probs)
        best_code = classes[int(order[0])]
        if probs[order[0]] >= LANGUAGE_SURE and best_code in self.models:
            return best_code
        close = [
            classes[int(j)]
            for j in order
            if probs[j] >= probs[order[0]] - (1 - LANGUAGE_SURE) and classes[int(j)] in self.models
        ]
        return self._fallback(close, hint)

    def _rank(self, code: str, text: str, words: Sequence[str], danger: bool) -> Ranking:
        learned, t = self.learned, self.learned.thresholds
        columns, values = learned.topic_features.transform(" ".join(once(words)))
        topic = learned.topic_lexical.sparse_proba(columns, values)
        # The danger models read the whole message, trigger words included.
        whole_text = " ".join(self.models[code].normalizer.words(text))
        whole = learned.topic_features.transform(whole_text)
        alarms = [self._alarm(learned.danger_lexical, whole)]
        level = float(threat(*alarms))
        accept, alarm = t.accept_lexical, t.danger_lexical
        semantic = False
        if (
            self.embedder is not None
            and learned.topic_semantic is not None
            and learned.danger_semantic is not None
        ):
            sure = float(topic.max()) >= t.clear and (level < t.danger_clear or level >= alarm)
            if not sure:
                read = whole_text if t.embed_normalized else text
                vector = self.embedder.embed([window(read, t.embed_words, t.embed_chars)])[0]
                weight = t.mix_long if len(text.split()) > t.embed_words else t.mix
                topic = mix(topic, learned.topic_semantic.dense_proba(vector), weight)
                accept = t.accept if weight < 1 else t.accept_lexical
                alarms.append(
                    float(learned.danger_semantic.dense_proba(vector)[self._alarm_column])
                )
                level = float(threat(*alarms))
                alarm, semantic = t.danger, True
        in_danger = danger or level >= alarm
        order = [int(j) for j in np.argsort(-topic) if j != self._none]
        candidates = tuple(
            Scored(self._topics[j], float(topic[j]), float(topic[j])) for j in order[:3]
        )
        if not candidates:
            return Ranking((), False, danger=in_danger, semantic=semantic)
        best = candidates[0].score
        none = float(topic[self._none]) if self._none >= 0 else 0.0
        accepted = best >= accept and best > none
        if in_danger and best < max(accept, DANGER_TOPIC_MIN):
            accepted = False
        runner = candidates[1].score if len(candidates) > 1 else 0.0
        close = accepted and runner >= t.runner_up_min and runner >= t.runner_up * best
        return Ranking(candidates, accepted, close, in_danger, semantic)

    def _alarm(self, model: LinearModel, features: tuple[Ints, Floats]) -> float:
        return float(model.sparse_proba(*features)[self._alarm_column])


class Bm25Matcher(BaseMatcher):
    """The hand-tuned BM25F scorer Orienta used before the learned one (for comparison only)."""

    MIN_CONFIDENCE = 0.45  # share of the query's information the best entry must explain
    MIN_EVIDENCE = 0.9  # total idf the best entry must match: one common word is not enough
    CLOSE_CALL = 0.9  # a runner-up within 90% of the best score is offered too
    CLEAR_MARGIN = 2.0  # best BM25 score at least this many times the runner-up's...
    CLEAR_EVIDENCE = 4.5  # ...with this much idf matched...
    CLEAR_MIN_COVERAGE = 0.35  # ...and at least this share explained

    def __init__(self, content: Content) -> None:
        super().__init__(content)
        self.indexes: dict[str, TopicIndex] = {}
        vocabularies: dict[str, frozenset[str]] = {}
        for code, rules in self.models.items():
            lang = rules.language
            extra = (*lang.greetings, *lang.thanks, *lang.safety.triggers)
            index = TopicIndex(rules.analyzer, lang.entries.values(), extra)
            self.indexes[code] = index
            vocabularies[code] = frozenset(
                index.vocabulary
                | rules.analyzer.stopwords
                | set(rules.analyzer.abbreviations)
                | {w for text in extra for w in tokenize(text)}
            )
        # A word that only one language uses says which language a message is in.
        self._exclusive = {
            code: words - set().union(*(v for c, v in vocabularies.items() if c != code))
            for code, words in vocabularies.items()
        }

    def detect_language(self, text: str, hint: str | None = None) -> str:
        tokens = tokenize(text[: limits.MATCH_INPUT_MAX])
        votes = {code: sum(t in words for t in tokens) for code, words in self._exclusive.items()}
        best = max(votes.values(), default=0)
        leaders = [code for code, n in votes.items() if n == best]
        if len(leaders) == 1 and best > 0:
            return leaders[0]
        return self._fallback(leaders, hint)

    def _rank(self, code: str, text: str, words: Sequence[str], danger: bool) -> Ranking:
        index = self.indexes[code]
        terms = index.query_terms(words, _names(text))
        found = index.search(terms)
        if not found:
            return Ranking((), False)
        best = found[0]
        evidence = best.coverage * sum(t.weight for t in terms)
        runner_up = found[1].score if len(found) > 1 else 0.0
        clear = (
            best.score >= self.CLEAR_MARGIN * runner_up
            and evidence >= self.CLEAR_EVIDENCE
            and best.coverage >= self.CLEAR_MIN_COVERAGE
        )
        accepted = (best.coverage >= self.MIN_CONFIDENCE or clear) and evidence >= self.MIN_EVIDENCE
        close = any(
            s.score >= self.CLOSE_CALL * best.score and s.coverage >= self.MIN_CONFIDENCE
            for s in found[1:]
        )
        scored = tuple(Scored(s.topic, s.score, s.coverage) for s in found)
        return Ranking(scored, accepted, close)


def _function_only_topic(
    examples: Mapping[tuple[str, ...], str], words: Sequence[str]
) -> str | None:
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
