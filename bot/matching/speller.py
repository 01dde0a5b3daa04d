"""Typo and sound-alike correction against the words the content itself uses.

People type fast on small keyboards ("documentso", "aduanna") and write Spanish as they hear it
("nesesito", "permizo", "ke ago"). A word the content never uses is mapped to the content word it
most likely meant, so both the learned model's word features and the rules see the right word.

Hand-written on purpose: the rules are few and specific to chat text (the first letter is kept,
short words are left alone, function words never become content words), and rapidfuzz does the
distance search.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.matching.analyzer import Analyzer, undouble

MIN_TYPO_LENGTH = 6  # "gano" is not a typo of "gato": shorter words are too often other words
RARE = 10  # a known spelling seen this few times...
DOMINANT = 2  # ...gives way to a sound-alike seen at least twice as often...
COMMON = 5  # ...and at least this often ("grave" is not a misspelling of a rare "grabe")


class Speller:
    """Corrects words towards a vocabulary of surface forms (with how often each occurs)."""

    def __init__(self, analyzer: Analyzer, words: Iterable[str]) -> None:
        self.analyzer = analyzer
        surface: Counter[str] = Counter(words)
        self._counts = surface
        self.vocabulary = frozenset(surface)
        # Frequent words win ties.
        ordered = sorted(surface, key=lambda w: (-surface[w], w))
        self._by_length: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in ordered:
            if not word.isdigit():
                self._by_length[(word[0], len(word))].append(word)
        # Sound-alike spellings ("nesesito" for "necesito"): folded form -> most frequent word.
        # Keyed by the folded stem too, so "agara" finds "agarro" (both "agar").
        self._sounds: dict[str, str] = {}
        self._word_sounds: dict[str, str] = {}  # whole words only: "cruz" is not "cruzar"
        if analyzer.phonetic_rules:
            for word in ordered:
                self._sounds.setdefault(analyzer.sound(analyzer.stem(word)), word)
                self._sounds.setdefault(analyzer.sound(word), word)
                self._word_sounds.setdefault(analyzer.sound(word), word)
        self.correct = lru_cache(maxsize=65536)(self._correct)

    def _correct(self, word: str) -> str | None:
        """The vocabulary word a typo most likely meant, or None."""
        if word in self.vocabulary:
            # The content itself spells some words by sound on purpose ("franquisia"): a rare
            # spelling that sounds like a far more frequent word becomes that word, so every
            # model sees one form.
            if (
                self._word_sounds
                and self._counts[word] <= RARE
                and len(word) >= 4
                and word.isalpha()
                and not self.analyzer.is_function_word(word)
            ):
                alike = self._word_sounds.get(self.analyzer.sound(word))
                if (
                    alike is not None
                    and alike != word
                    and self._counts[alike] >= max(COMMON, DOMINANT * self._counts[word])
                    and OSA.distance(word, alike, score_cutoff=2) <= 2
                ):
                    return alike
            return word
        single = undouble(word)
        if single in self.vocabulary:
            return single
        if self.analyzer.is_function_word(word):
            return None  # "eres", "ago" (hago): nothing to correct towards
        if self._sounds and len(word) >= 3 and not word.isdigit():
            sound = self.analyzer.sound
            alike = self._sounds.get(sound(word)) or self._sounds.get(
                sound(self.analyzer.stem(word))
            )
            # Sounding alike is not enough on its own: "recommend" is not "recomendacion".
            if alike is not None and OSA.distance(word, alike, score_cutoff=2) <= 2:
                return alike
        if len(word) < MIN_TYPO_LENGTH or word.isdigit():
            return None
        max_edits = 1 if len(word) <= 8 else 2
        best: tuple[int, str] | None = None
        # People rarely mistype the first letter; requiring it keeps "iphone" from becoming "phone".
        for length in range(len(word) - max_edits, len(word) + max_edits + 1):
            found = process.extractOne(
                word,
                self._by_length.get((word[0], length), ()),
                scorer=OSA.distance,
                score_cutoff=max_edits,
            )
            if found is not None and (best is None or found[1] < best[0]):
                best = (int(found[1]), found[0])
                if best[0] == 1:
                    break
        return best[1] if best else None

    def fix(self, words: Iterable[str]) -> list[str]:
        """Every word corrected where the vocabulary knows better, kept as typed otherwise."""
        return [self.correct(w) or w for w in words]
