"""The learned models behind the matcher, as plain arrays: what `training.py` fits and
`cache.py` stores, and what `matcher.py` applies to each message.

Four models, all linear, learned from the content (every language's example questions, titles
and keywords, the out-of-scope examples and the danger examples):

- `lang`: which language a message is in (character n-grams; a language needs no stemmer);
- `topic_lexical`: which topic, or `NONE` (out of scope), from TF-IDF of character and word n-grams;
- `topic_semantic`: the same from a sentence embedding, when an embedder is configured;
- `danger_lexical` / `danger_semantic`: whether the writer is in danger now. Near misses ("last
  year they robbed us on the train") weigh more in training: they are the hard part. With both
  models, the threat is the geometric mean of their probabilities.

Topic ids are shared by all languages, so Spanish phrasings also teach the English model and the
reverse (Spanglish benefits most). The thresholds were chosen by cross-validation at training
time; `report` keeps the figures that chose them (`orienta content eval` prints them).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import numpy as np

from bot.matching.features import Channel, Floats, LinearModel, TfidfFeatures

NONE = "-"  # the out-of-scope class: never a topic id (ids have a dot)
FORMAT = 18  # bump when the stored layout or the training recipe changes


@dataclass(frozen=True)
class Thresholds:
    """Decision points, chosen by cross-validation (see `training.choose_thresholds`)."""

    mix: float = 0.5  # weight of the lexical probabilities when the semantic model is used...
    # ...but a message longer than the embedding's window was only partly read by the semantic
    # model: there the lexical model decides the topic alone (on the tuning cases, mixing lost
    # 3 of 104 long English messages and gained none); the embedding still weighs on danger.
    mix_long: float = 1.0
    accept: float = 0.3  # the best topic must reach this probability (with embeddings)...
    accept_lexical: float = 0.3  # ...or this one, lexical model alone
    # A runner-up with this share of the best's probability (and at least `runner_up_min`) is
    # offered as a button beside the answer: a message may have two needs, and a button is
    # cheap. On the tuning cases it shows on about 1 answer in 6, and when the answer is wrong
    # the button is the right topic 6 times in 10.
    runner_up: float = 0.15
    runner_up_min: float = 0.1  # ...and at least this probable
    danger: float = 0.5  # danger probability that shows the emergency numbers (with embeddings)
    danger_lexical: float = 0.5  # the same, lexical model alone
    clear: float = 0.9  # lexical confidence above which the embedding is skipped (cascade)
    danger_clear: float = 0.05  # ...when the lexical danger probability is also below this
    embed_words: int = 30  # a longer message is embedded by its first and last 15 words...
    embed_chars: int = 200  # ...and at most this many characters
    embed_normalized: bool = True  # the embedder reads the normalised words, typos corrected


@dataclass(frozen=True)
class Models:
    """Everything the matcher learned. Immutable; safe to share between threads."""

    lang_features: TfidfFeatures
    lang: LinearModel
    topic_features: TfidfFeatures
    topic_lexical: LinearModel
    danger_lexical: LinearModel
    topic_semantic: LinearModel | None = None
    danger_semantic: LinearModel | None = None
    embedder_id: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    report: Mapping[str, Any] = field(default_factory=dict)

    @property
    def semantic(self) -> bool:
        return self.topic_semantic is not None

    # ------------------------------------------------------------------ storage

    def to_bytes(self) -> bytes:
        """An .npz archive: arrays and one JSON header; no pickle, so loading runs no code."""
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        header: dict[str, Any] = {
            "format": FORMAT,
            "embedder_id": self.embedder_id,
            "thresholds": asdict(self.thresholds),
            "report": self.report,
            "features": {},
            "models": {},
        }
        for name, features in (("lang", self.lang_features), ("topic", self.topic_features)):
            channels = []
            for i, channel in enumerate(features.channels):
                key = f"{name}_{i}"
                vocabulary = sorted(channel.vocabulary, key=channel.vocabulary.__getitem__)
                arrays[f"{key}_vocabulary"] = np.array(vocabulary, dtype=str)
                arrays[f"{key}_idf"] = channel.idf
                channels.append({"kind": channel.kind, "ngram": list(channel.ngram)})
            header["features"][name] = channels
        for name, model in self._linear_models().items():
            arrays[f"{name}_coef"] = model.coef
            arrays[f"{name}_intercept"] = model.intercept
            header["models"][name] = {"classes": list(model.classes), "link": model.link}
        arrays["header"] = np.array(json.dumps(header))
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Models:
        """Raises ValueError (or KeyError) when `data` is not a complete archive of this format."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT:
                raise ValueError(f"stored models have format {header.get('format')}, not {FORMAT}")
            features: dict[str, TfidfFeatures] = {}
            for name, channels in header["features"].items():
                features[name] = TfidfFeatures(
                    [
                        Channel(
                            kind=spec["kind"],
                            ngram=(int(spec["ngram"][0]), int(spec["ngram"][1])),
                            vocabulary={
                                gram: j
                                for j, gram in enumerate(archive[f"{name}_{i}_vocabulary"].tolist())
                            },
                            idf=archive[f"{name}_{i}_idf"].astype(np.float32),
                        )
                        for i, spec in enumerate(channels)
                    ]
                )
            models = {
                name: LinearModel(
                    spec["classes"],
                    archive[f"{name}_coef"],
                    archive[f"{name}_intercept"],
                    cast(Literal["softmax", "ovr", "sigmoid"], spec["link"]),
                )
                for name, spec in header["models"].items()
            }
        for name, model in models.items():
            expected = features["lang" if name == "lang" else "topic"].size
            if name.endswith("_semantic"):
                continue
            if model.coef.shape[0] != expected:
                raise ValueError(f"{name}: {model.coef.shape[0]} weights for {expected} features")
        return cls(
            lang_features=features["lang"],
            lang=models["lang"],
            topic_features=features["topic"],
            topic_lexical=models["topic_lexical"],
            danger_lexical=models["danger_lexical"],
            topic_semantic=models.get("topic_semantic"),
            danger_semantic=models.get("danger_semantic"),
            embedder_id=header["embedder_id"],
            thresholds=Thresholds(**header["thresholds"]),
            report=header["report"],
        )

    def _linear_models(self) -> dict[str, LinearModel]:
        found = {
            "lang": self.lang,
            "topic_lexical": self.topic_lexical,
            "danger_lexical": self.danger_lexical,
            "topic_semantic": self.topic_semantic,
            "danger_semantic": self.danger_semantic,
        }
        return {name: model for name, model in found.items() if model is not None}


def mix(lexical: Floats, semantic: Floats | None, weight: float) -> Floats:
    """The two models' probabilities averaged, `weight` on the lexical one."""
    if semantic is None:
        return lexical
    return cast(Floats, weight * lexical + (1.0 - weight) * semantic)


def threat(*probabilities: Floats | float) -> Floats:
    """The danger score: the geometric mean of the danger models' probabilities (lexical, and
    semantic when used): high only when both see danger now."""
    product = np.ones_like(np.asarray(probabilities[0]), dtype=np.float64)
    for p in probabilities:
        product = product * np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1.0)
    return cast(Floats, np.power(product, 1.0 / len(probabilities)).astype(np.float32))


def window(text: str, words: int, chars: int) -> str:
    """What the embedder reads of a long message: its first and last `words // 2` words, at most
    `chars` characters.

    The embedding's cost grows with the length (about 0.6 ms a token on 2 cores, a token being
    about 4 characters); people put the context first and the question last, and the lexical
    model has read everything. 30 words and 200 characters keep one embedding under 40 ms.
    """
    parts = text.split()
    parts = [p for i, p in enumerate(parts) if i == 0 or p.lower() != parts[i - 1].lower()]
    text = " ".join(parts)
    if len(parts) > words:
        half = words // 2
        text = " ".join(parts[:half] + parts[-(words - half) :])
    if len(text) > chars:  # long words, or words without spaces (a pasted link, mashing)
        text = f"{text[: chars // 2]} {text[-(chars // 2) :]}"
    return text
