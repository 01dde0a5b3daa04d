"""Text -> sparse TF-IDF features, and the linear models that score them.

Training uses scikit-learn (`bot/matching/training.py`): `TfidfVectorizer` with the analyzers
below, then a linear classifier. What it learns is exported into the plain arrays of
`TfidfFeatures` and `LinearModel`, and a message is scored here with numpy alone.

Why not call scikit-learn at run time: importing it costs about 1 s and 100 MB, which alone would
blow the start-up (1.5 s) and memory budgets, while applying a fitted TF-IDF and a linear layer
is a dictionary look-up and one small matrix product. `tests/test_learned.py` checks that these
features equal scikit-learn's own `transform` to 1e-6.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Analyzer = Literal["char_wb", "word"]


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside word boundaries, each word padded with spaces (as scikit-learn's
    `analyzer="char_wb"`): typos and word endings share most of their n-grams."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(length - n + 1, 1)))
            if n >= length:  # a short word is counted once, whole (as scikit-learn does)
                break
    return grams


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """Word n-grams of the already-normalised text (words of two letters or more)."""
    words = [w for w in text.split() if len(w) > 1]
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def analyze(kind: Analyzer, ngram: tuple[int, int], text: str) -> list[str]:
    if kind == "char_wb":
        return char_wb_ngrams(text, *ngram)
    return word_ngrams(text, *ngram)


@dataclass(frozen=True)
class Channel:
    """One TF-IDF block: which n-grams, their column numbers and inverse document frequencies."""

    kind: Analyzer
    ngram: tuple[int, int]
    vocabulary: Mapping[str, int]  # n-gram -> column within this channel
    idf: Floats


class TfidfFeatures:
    """Several TF-IDF channels side by side (sublinear tf, each channel L2-normalised), the way
    a scikit-learn `FeatureUnion` of `TfidfVectorizer(sublinear_tf=True)` computes them."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self.channels = tuple(channels)
        offsets, total = [], 0
        for channel in self.channels:
            offsets.append(total)
            total += len(channel.vocabulary)
        self.offsets = tuple(offsets)
        self.size = total
        # Character n-grams never cross a word, so a message's counts are the sum of its words'.
        # People reuse the same few thousand words: each word's columns are worked out once
        # (measured: the lexical match went from 0.94 to 0.64 ms a message).
        self._word_columns = tuple(
            lru_cache(maxsize=WORD_CACHE)(partial(_word_columns, channel))
            if channel.kind == "char_wb"
            else None
            for channel in self.channels
        )

    def transform(self, text: str) -> tuple[Ints, Floats]:
        """Column numbers and values of the non-zero features of one (normalised) text."""
        columns: list[Ints] = []
        values: list[Floats] = []
        words = text.split()
        for channel, offset, per_word in zip(
            self.channels, self.offsets, self._word_columns, strict=True
        ):
            if per_word is not None:
                # Summed with numpy: a message's few hundred n-grams in a handful of calls.
                parts = [p for p in map(per_word, words) if p[0].size]
                if not parts:
                    continue
                if len(parts) == 1:
                    found, counts = parts[0]
                else:
                    found, where = np.unique(
                        np.concatenate([p[0] for p in parts]), return_inverse=True
                    )
                    counts = cast(  # with weights, bincount sums them as floats
                        npt.NDArray[np.float64],
                        np.bincount(
                            where, np.concatenate([p[1] for p in parts]), minlength=found.size
                        ),
                    )
            else:
                grams = Counter(analyze(channel.kind, channel.ngram, text))
                pairs = [
                    (column, count)
                    for gram, count in grams.items()
                    if (column := channel.vocabulary.get(gram)) is not None
                ]
                if not pairs:
                    continue
                found = np.fromiter((c for c, _ in pairs), np.int64, len(pairs))
                counts = np.fromiter((n for _, n in pairs), np.float64, len(pairs))
            weights = (1.0 + np.log(counts)) * channel.idf[found]
            norm = float(np.sqrt(np.dot(weights, weights))) or 1.0
            columns.append(found + offset)
            values.append((weights / norm).astype(np.float32))
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if len(columns) == 1:
            return columns[0], values[0]
        return np.concatenate(columns), np.concatenate(values)


# Words whose columns are remembered per channel: about 3.4 KB each (measured), so at most about
# 28 MB with both character channels full; everyday words stay in it, rare typos fall out.
WORD_CACHE = 8192


def _word_columns(channel: Channel, word: str) -> tuple[Ints, npt.NDArray[np.float64]]:
    """One word's character n-grams in `channel`: the columns of those in the vocabulary (in
    increasing order) and how often each occurs."""
    counts = Counter(char_wb_ngrams(word, *channel.ngram))
    pairs = sorted(
        (column, count)
        for gram, count in counts.items()
        if (column := channel.vocabulary.get(gram)) is not None
    )
    return (
        np.fromiter((c for c, _ in pairs), np.int64, len(pairs)),
        np.fromiter((n for _, n in pairs), np.float64, len(pairs)),
    )


class LinearModel:
    """A fitted linear classifier: `scores = x @ coef + intercept`, turned into probabilities.

    `link="softmax"` for a multinomial model; `link="ovr"` for one-vs-rest logistic models
    (sigmoids normalised to sum to 1, as scikit-learn's `predict_proba` does for them);
    `link="sigmoid"` for a binary model (one output: the log-odds of `classes[1]`).
    """

    def __init__(
        self,
        classes: Sequence[str],
        coef: Floats,
        intercept: Floats,
        link: Literal["softmax", "ovr", "sigmoid"],
    ) -> None:
        self.classes = tuple(classes)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)  # (features, outputs)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.link = link

    def _probabilities(self, scores: Floats) -> Floats:
        """One probability per class, in the order of `classes`."""
        if self.link == "softmax":
            shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
            return cast(Floats, shifted / shifted.sum(axis=-1, keepdims=True))
        sig = 1.0 / (1.0 + np.exp(-scores))
        if self.link == "sigmoid":  # one output: the probability of classes[1]
            return cast(Floats, np.concatenate([1.0 - sig, sig], axis=-1))
        total = sig.sum(axis=-1, keepdims=True)
        return cast(Floats, sig / np.maximum(total, 1e-12))

    def sparse_proba(self, columns: Ints, values: Floats) -> Floats:
        """Probabilities for one sparse feature vector."""
        scores = values @ self.coef[columns] + self.intercept if len(columns) else self.intercept
        return self._probabilities(np.asarray(scores, dtype=np.float32))

    def dense_proba(self, x: Floats) -> Floats:
        """Probabilities for one dense vector, or a matrix of them (one row each)."""
        return self._probabilities(np.asarray(x @ self.coef + self.intercept, dtype=np.float32))
