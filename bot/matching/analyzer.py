"""Turn chat text into comparable terms: fold, tokenise, expand chat slang, stem.

Migrants type fast on cheap phones: no accents, repeated letters ("ayudaaa"), abbreviations
("xq", "pa", "tmb"), emoji. Everything here is per language and driven by the content's
`language` block, so a new language needs no code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import snowballstemmer

_DIGIT_GROUP = re.compile(r"(?<=\d)[.,](?=\d{3})")  # 10,000 / 10.000 -> 10000
_TOKEN = re.compile(
    r"[^\W\d_]+|\d+"
)  # runs of letters, or runs of digits; emoji and punctuation drop
_REPEAT3 = re.compile(
    r"([^\W\d_])\1{2,}"
)  # "holaaa" -> "hola": no word in es/en repeats a letter 3 times
_REPEAT2 = re.compile(r"(.)\1")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, strip accents and compatibility forms; keep everything else."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Words and numbers of `text`, folded, with letter runs of three or more collapsed."""
    return list(_tokens(text))


# Every engine build (a start, a reload) tokenises every phrasing of every language again; the
# texts rarely change, so the tokens are kept (about 10 MB for 32,768 texts).
@lru_cache(maxsize=32768)
def _tokens(text: str) -> tuple[str, ...]:
    # A run of one letter lies inside one token, so collapsing runs over the whole text at once
    # gives the same tokens as token by token, with one regex call instead of one per token.
    folded = _REPEAT3.sub(r"\1", _DIGIT_GROUP.sub("", fold(text)))
    return tuple(_TOKEN.findall(folded))


def undouble(word: str) -> str:
    """'holaa' -> 'hola', 'ayuudaa' -> 'ayuda': a second guess for words not in the vocabulary."""
    return _REPEAT2.sub(r"\1", word)


class Analyzer:
    """One language's analysis chain. Cheap to call: stems are cached."""

    def __init__(
        self,
        stemmer: str,
        abbreviations: Mapping[str, str],
        stopwords: Iterable[str],
        phonetic: Iterable[tuple[str, str]] = (),
    ) -> None:
        # No stemmer ("" ): the words stay whole (Haitian Creole has no Snowball stemmer).
        self._stemmer = snowballstemmer.stemmer(stemmer) if stemmer else None
        self.phonetic_rules = tuple(phonetic)
        self.abbreviations = {fold(k): tuple(tokenize(v)) for k, v in abbreviations.items()}
        self.stopwords = frozenset(t for w in stopwords for t in tokenize(w))
        self._stopword_sounds = (
            frozenset(self.sound(w) for w in self.stopwords) if self.phonetic_rules else frozenset()
        )
        self.stem = lru_cache(maxsize=65536)(self._stem)

    def _stem(self, word: str) -> str:
        if self._stemmer is None or word.isdigit():
            return word
        return str(self._stemmer.stemWord(word))

    def sound(self, word: str) -> str:
        """The word folded by the language's sound-alike rules ("permizo" and "permiso" agree)."""
        for before, after in self.phonetic_rules:
            word = word.replace(before, after)
        return _REPEAT2.sub(r"\1", word)

    def is_function_word(self, word: str) -> bool:
        return word in self.stopwords or (
            bool(self._stopword_sounds) and self.sound(word) in self._stopword_sounds
        )

    def words(self, text: str) -> list[str]:
        """All tokens, abbreviations expanded, stopwords kept (for phrases such as 'help me')."""
        out: list[str] = []
        for token in tokenize(text):
            out.extend(self.abbreviations.get(token, (token,)))
        return out

    def content_words(self, words: Iterable[str]) -> list[str]:
        return [w for w in words if w not in self.stopwords and (len(w) > 1 or w.isdigit())]

    def terms(self, text: str) -> list[str]:
        """The stems an index is built from."""
        return [self.stem(w) for w in self.content_words(self.words(text))]
