"""The learned matcher's machinery: features equal scikit-learn's, stored models round-trip, the
on-disk cache (hit, miss, corrupt file, unwritable directory), both paths (with and without
sentence embeddings), and the cascade that skips the embedding when the lexical model is sure."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.content.model import Content
from bot.engine.engine import Engine
from bot.engine.events import Command, CommandName, Press, Text
from bot.engine.payload import Action, MenuView, TopicView, encode
from bot.i18n import Catalogs
from bot.matching import training
from bot.matching.cache import ModelCache
from bot.matching.features import Channel, LinearModel, TfidfFeatures, analyze
from bot.matching.learned import Models
from bot.matching.matcher import BaseMatcher, Intent, Matcher
from tests.conftest import LOCALE_DIR

TEXTS = [
    "me pidieron mordida en la garita de tijuana",
    "how do i ask for asylum in mexico",
    "cuanto puedo traer sin pagar impuestos",
    "they asked me for a bribe at the bridge",
    "q documentos ocupo pa entrar",
    "a",
    "mordida mordida mordida",
]


class CountingEmbedder:
    """A deterministic stand-in for a sentence embedder: hashed character trigrams, normalised.
    Counts how many texts it was asked to embed."""

    model_id = "test-trigrams-v1"

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()}  "
            for i in range(len(padded) - 2):
                out[row, hash(padded[i : i + 3]) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def test_features_equal_scikit_learns_tfidf() -> None:
    specs = (("char_wb", (2, 5)), ("word", (1, 2)))
    vectorizers = [
        TfidfVectorizer(analyzer=lambda t, k=kind, n=ngram: analyze(k, n, t), sublinear_tf=True)
        for kind, ngram in specs
    ]
    expected = hstack([v.fit_transform(TEXTS) for v in vectorizers]).toarray()
    features = TfidfFeatures(
        [
            Channel(kind, ngram, dict(v.vocabulary_), v.idf_.astype(np.float32))
            for (kind, ngram), v in zip(specs, vectorizers, strict=True)
        ]
    )
    for row, text in enumerate(TEXTS):
        columns, values = features.transform(text)
        dense = np.zeros(features.size)
        dense[columns] = values
        assert np.allclose(dense, expected[row], atol=1e-6), text


def test_char_ngrams_count_a_short_word_once_as_scikit_learn_does() -> None:
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for text in TEXTS:
        assert sorted(analyze("char_wb", (2, 5), text)) == sorted(reference(text))


@pytest.mark.parametrize(
    "labels", [["a", "b", "c", "a", "b", "c", "a"], ["x", "y", "x", "y", "x", "y", "y"]]
)
def test_linear_model_probabilities_equal_scikit_learns(labels: list[str]) -> None:
    x = TfidfVectorizer().fit_transform(TEXTS)
    clf = LogisticRegression(C=5).fit(x, labels)
    model = LinearModel(
        [str(c) for c in clf.classes_],
        np.asarray(clf.coef_, np.float32).T,
        clf.intercept_,
        "softmax" if len(clf.classes_) > 2 else "sigmoid",
    )
    dense = x.toarray().astype(np.float32)
    assert np.allclose(model.dense_proba(dense), clf.predict_proba(x), atol=1e-5)
    row = x[0]
    assert np.allclose(
        model.sparse_proba(row.indices.astype(np.int64), row.data.astype(np.float32)),
        clf.predict_proba(row)[0],
        atol=1e-5,
    )


def test_stored_models_answer_exactly_as_the_fitted_ones(
    matcher: Matcher, content: Content
) -> None:
    restored = Matcher(content, Models.from_bytes(matcher.learned.to_bytes()), matcher.embedder)
    for text in (*TEXTS, "quien gano el partido", "me quieren matar"):
        assert restored.match(text) == matcher.match(text)


# ---------------------------------------------------------------------- the cache


@pytest.fixture()
def small(tmp_path: Path) -> Content:
    """A small content, so each fit takes a fraction of a second."""
    from tests.fixtures import small_content

    return small_content(tmp_path)


def _fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = training.train

    def counting(*args: object, **kwargs: object) -> Models:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.matching.cache.train", counting)
    return calls


def test_cache_hit_miss_and_a_changed_phrasing(
    small: Content, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = _fits(monkeypatch)
    cache = ModelCache(tmp_path / "cache")
    first = Matcher(small, cache.models)
    assert (cache.last_hit, len(fits)) == (False, 1)
    second = Matcher(small, ModelCache(tmp_path / "cache").models)  # a new process
    assert len(fits) == 1
    assert second.match("me pidieron mordida").topic == first.match("me pidieron mordida").topic
    from tests.fixtures import with_question

    Matcher(with_question(small, "complaint.bribe", "el agente quiso lana"), cache.models)
    assert len(fits) == 2  # the training data changed: fitted again


def test_a_corrupt_cache_file_is_rebuilt(
    small: Content, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "cache"
    Matcher(small, ModelCache(directory).models)
    (stored,) = directory.glob("models-*.npz")
    stored.write_bytes(b"not a zip file at all")
    with caplog.at_level(logging.WARNING):
        cache = ModelCache(directory)
        matcher = Matcher(small, cache.models)
    assert cache.last_hit is False and "unreadable" in caplog.text
    assert matcher.match("me pidieron mordida").topic == "complaint.bribe"
    assert stored.read_bytes()[:2] == b"PK"  # written again, whole


def test_an_unwritable_cache_directory_keeps_models_in_memory(
    small: Content, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING):
        cache = ModelCache(blocker / "cache")  # cannot be created, even by root
        matcher = Matcher(small, cache.models)
        again = Matcher(small, cache.models)
    assert "keeping it in memory" in caplog.text
    assert caplog.text.count("keeping it in memory") == 1  # said once
    assert cache.last_hit is True  # the second matcher came from memory
    assert again.match("me pidieron mordida").topic == matcher.match("me pidieron mordida").topic


def test_embeddings_are_cached_per_phrasing(small: Content, tmp_path: Path) -> None:
    from tests.fixtures import with_question

    embedder = CountingEmbedder()
    cache = ModelCache(tmp_path / "cache")
    Matcher(small, cache.models, embedder)
    first = embedder.texts
    assert first > 0
    changed = with_question(small, "complaint.bribe", "el agente quiso lana")
    Matcher(changed, ModelCache(tmp_path / "cache").models, embedder)
    assert embedder.texts == first + 1  # only the new phrasing


def test_shipped_embeddings_spare_a_new_server_the_embedding(
    small: Content, tmp_path: Path
) -> None:
    """`orienta content embeddings` stores the content's phrasings in its embeddings/ folder: a
    server with an empty cache embeds none of them, and after an edit only the new phrasing."""
    from tests.fixtures import with_question

    shipped = tmp_path / "content" / "embeddings"
    embedder = CountingEmbedder()
    normalizers = BaseMatcher(small).normalizers
    path, count = ModelCache(tmp_path / "build", shipped=shipped).ship(small, normalizers, embedder)
    assert count == embedder.texts > 0 and path.parent == shipped

    fresh = CountingEmbedder()
    matcher = Matcher(small, ModelCache(tmp_path / "server", shipped=shipped).models, fresh)
    assert fresh.texts == 0 and matcher.semantic
    found = matcher.match("me pidieron mordida en la garita")
    assert (found.intent, found.topic) == (Intent.TOPIC, "complaint.bribe")
    assert ModelCache(None, shipped=shipped).unshipped(small, normalizers, fresh) == 0
    before = fresh.texts
    changed = with_question(small, "complaint.bribe", "el agente quiso lana")
    # What `orienta content check` tells staff after an edit:
    assert ModelCache(None, shipped=shipped).unshipped(changed, normalizers, fresh) == 1
    Matcher(changed, ModelCache(tmp_path / "server2", shipped=shipped).models, fresh)
    assert fresh.texts == before + 1  # only the new phrasing


def test_unreadable_shipped_embeddings_are_ignored_with_a_warning(
    small: Content, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = tmp_path / "embeddings"
    shipped.mkdir()
    (shipped / f"vectors-{CountingEmbedder.model_id}.npz").write_bytes(b"truncated")
    embedder = CountingEmbedder()
    with caplog.at_level(logging.WARNING):
        matcher = Matcher(small, ModelCache(tmp_path / "cache", shipped=shipped).models, embedder)
    assert "shipped embeddings" in caplog.text and "unreadable" in caplog.text
    assert matcher.semantic and embedder.texts > 0  # embedded here instead


# ---------------------------------------------------------------------- both paths


def test_the_same_models_serve_with_and_without_embeddings(small: Content) -> None:
    embedder = CountingEmbedder()
    models = Matcher(small, None, embedder).learned
    assert models.semantic and models.embedder_id == embedder.model_id
    with_embeddings = Matcher(small, models, embedder)
    lexical_only = Matcher(small, models, None)
    assert with_embeddings.semantic and not lexical_only.semantic
    for matcher in (with_embeddings, lexical_only):
        found = matcher.match("me pidieron mordida en la garita")
        assert (found.intent, found.topic) == (Intent.TOPIC, "complaint.bribe")


def test_models_fitted_for_another_embedder_run_lexical_only(small: Content) -> None:
    embedder = CountingEmbedder()
    models = Matcher(small, None, embedder).learned
    other = CountingEmbedder()
    other.model_id = "another-model"  # type: ignore[misc]
    matcher = Matcher(small, models, other)
    assert not matcher.semantic
    matcher.match("algo que no se entiende bien")
    assert other.calls == 0


def test_a_clear_message_skips_the_embedding_and_an_unclear_one_uses_it(small: Content) -> None:
    embedder = CountingEmbedder()
    models = Matcher(small, None, embedder).learned
    clear, unclear = "me pidieron mordida en la garita", "mordida asilo permiso franquicia"
    lexical = Matcher(small, models, None)
    assert lexical.match(clear).score > 0.6 > lexical.match(unclear).candidates[0].score
    # Sure above 0.6; the danger model never forces the embedding here.
    thresholds = replace(models.thresholds, clear=0.6, danger_clear=1.0)
    matcher = Matcher(small, replace(models, thresholds=thresholds), embedder)
    embedder.calls = 0
    found = matcher.match(clear)
    assert (found.topic, found.semantic, embedder.calls) == ("complaint.bribe", False, 0)
    assert matcher.match(unclear).semantic and embedder.calls == 1


def test_buttons_and_commands_never_call_a_model(small: Content) -> None:
    embedder = CountingEmbedder()
    models = Matcher(small, None, embedder).learned
    always = replace(models, thresholds=replace(models.thresholds, clear=1.01))  # no cascade
    engine = Engine(small, Catalogs(LOCALE_DIR), Matcher(small, always, embedder))
    embedder.calls = 0
    engine.handle(Press(encode(Action.SHOW, "es", MenuView())))
    engine.handle(Press(encode(Action.SHOW, "es", TopicView("complaint.bribe"))))
    engine.handle(Command(CommandName.HELP, "es"))
    assert embedder.calls == 0
    engine.handle(Text("mordida asilo permiso franquicia"))
    assert embedder.calls == 1


def test_the_cache_keeps_the_models_used_most_recently(tmp_path: Path) -> None:
    """Fitting a few edited copies (a staff member's trials, the test suite) must not push out
    the models of the content being served: a read counts as a use."""
    directory = tmp_path / "cache"
    directory.mkdir()
    cache = ModelCache(directory)
    for age, name in enumerate(("served", "trial1", "trial2")):
        path = directory / f"models-{name}.npz"
        path.write_bytes(b"PK")
        os.utime(path, (1000 + age, 1000 + age))  # "served" is the oldest file
    cache._touch("models-served.npz")  # ...but was just read
    (directory / "models-trial3.npz").write_bytes(b"PK")
    cache._prune("models-*.npz", keep="models-trial3.npz")
    assert sorted(p.name for p in directory.glob("models-*.npz")) == [
        "models-served.npz",
        "models-trial2.npz",
        "models-trial3.npz",
    ]


def test_processes_starting_on_one_cache_fit_once(
    small: Content, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N workers starting together on one cache directory: the first fits, the others wait for
    its lock and read what it stored. (flock locks each open file, so two threads with their
    own ModelCache stand in for two processes.)"""
    import threading

    fits = _fits(monkeypatch)
    directory = tmp_path / "cache"
    found: list[str | None] = []
    go = threading.Barrier(2)

    def start() -> None:
        go.wait()
        matcher = Matcher(small, ModelCache(directory).models)
        found.append(matcher.match("me pidieron mordida").topic)

    workers = [threading.Thread(target=start) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(fits) == 1
    assert found == ["complaint.bribe", "complaint.bribe"]
