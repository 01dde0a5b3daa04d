"""One language's text -> the words every model sees: folded, chat abbreviations expanded,
typos and sound-alike spellings corrected towards the words that language's content uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from bot.content.model import Language
from bot.matching.analyzer import Analyzer, tokenize
from bot.matching.speller import Speller


def once(words: Sequence[str]) -> list[str]:
    """A word repeated in a row kept once: "ayuda ayuda ayuda" says "ayuda"; 2,000 "y" say
    nothing, and must not outweigh the rest of the message."""
    return [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]


def language_texts(language: Language) -> Iterator[str]:
    """Every text a language contributes to learning (and so to its vocabulary)."""
    for entry in language.entries.values():
        yield entry.title
        yield from entry.questions
        yield from entry.keywords
    yield from language.greetings
    yield from language.thanks
    yield from language.out_of_scope
    yield from language.safety.triggers
    yield from language.safety.help_calls
    yield from language.safety.examples
    yield from language.safety.near_misses


class Normalizer:
    def __init__(self, language: Language) -> None:
        self.analyzer = Analyzer(
            language.stemmer, language.abbreviations, language.stopwords, language.phonetic
        )
        self.speller = Speller(
            self.analyzer,
            (w for text in language_texts(language) for w in self.analyzer.words(text)),
        )

    def words(self, text: str) -> list[str]:
        """The corrected words, a word repeated in a row kept once ("ayuda ayuda ayuda")."""
        return once(self.speller.fix(self.analyzer.words(text)))

    def __call__(self, text: str) -> str:
        return " ".join(self.words(text))


def lang_text(text: str) -> str:
    """What the language model sees: folded words, before any language-specific step."""
    return " ".join(tokenize(text))


class Triggers:
    """A language's exact danger phrases, matched stem by stem ("me estan siguiendo" also finds
    "me están siguiendo", "me estan sigiendo"): the floor under the learned danger model."""

    def __init__(self, analyzer: Analyzer, phrases: Iterable[str]) -> None:
        self.analyzer = analyzer
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for text in phrases:
            stems = tuple(analyzer.stem(w) for w in analyzer.words(text))
            if stems:
                by_first.setdefault(stems[0], []).append(stems)
        self._by_first = {first: tuple(group) for first, group in by_first.items()}

    def outside(self, words: Sequence[str]) -> list[bool]:
        """For each word, whether it is outside every danger phrase."""
        stems = [self.analyzer.stem(w) for w in words]
        keep = [True] * len(words)
        for i, stem in enumerate(stems):
            for phrase in self._by_first.get(stem, ()):
                n = len(phrase)
                if tuple(stems[i : i + n]) == phrase:
                    keep[i : i + n] = [False] * n
        return keep

    def found(self, words: Sequence[str]) -> bool:
        return not all(self.outside(words))


class HelpCalls:
    """Messages that are only a call for help ("help me!!", "ayudaaa", "sos please"): the
    phrases' words, and the words that can start one (so "please" alone is not a call)."""

    def __init__(self, analyzer: Analyzer, phrases: Iterable[str]) -> None:
        parsed = [analyzer.words(p) for p in phrases]
        self.words = frozenset(w for words in parsed for w in words)
        self.starts = frozenset(words[0] for words in parsed if words)

    def only(self, words: Sequence[str]) -> bool:
        return bool(words) and set(words) <= self.words and bool(self.starts & set(words))

    def only_in(self, normalizer: Normalizer, text: str) -> bool:
        """`only(normalizer.words(text))`, correcting word by word and stopping at the first
        that is not part of a call for help: for most messages the first word, so the other
        languages' spellers are spared the rest of the message."""
        found: set[str] = set()
        for word in normalizer.analyzer.words(text):
            fixed = normalizer.speller.correct(word) or word
            if fixed not in self.words:
                return False
            found.add(fixed)
        return bool(self.starts & found)
