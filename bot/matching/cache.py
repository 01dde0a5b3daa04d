"""Fitted models and phrasing embeddings, kept on disk so that start-up stays fast.

- `models-<key>.npz`: everything `training.train` fitted, keyed by a hash of the training
  examples (as normalised), the recipe, the stored format and the embedder's model id. Any content
  edit that changes what the models learn changes the key; an edit to an answer does not.
- `vectors-<model>.npz`: one embedding per phrasing, keyed by a hash of its text, so a reload
  after an edit embeds only the new or changed phrasings.

The content directory ships its phrasings' embeddings too (`embeddings/vectors-<model>.npz`,
float16, written by `orienta content embeddings`): embedding ten thousand phrasings takes two
minutes on two cores, so without them a fresh clone, a new server or a CI run would wait that
long before its first answer. A phrasing edited since is embedded at start and kept here.

Files are written whole to a temporary name and renamed, so a crash never leaves half a file. A
file that cannot be read (corrupt, truncated, another format) is ignored and rebuilt. When the
directory cannot be written (read-only disk, no permission), everything is kept in memory for
this process and a warning says so once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bot.content.model import Content
from bot.matching.embedder import Embedder
from bot.matching.features import Floats
from bot.matching.learned import FORMAT, Models
from bot.matching.normalize import Normalizer
from bot.matching.training import Progress, Recipe, collect, embedded, fingerprint, train

log = logging.getLogger(__name__)

KEEP_MODELS = 3  # older model files are deleted: one per recent content version is enough
EMBED_BATCH = 64
SHIPPED = "embeddings"  # the folder, inside the content directory, of the shipped embeddings


class ModelCache:
    """Fitted models and embeddings for one directory (None: memory only)."""

    def __init__(
        self, directory: Path | None, recipe: Recipe | None = None, shipped: Path | None = None
    ) -> None:
        self.directory = directory
        self.recipe = recipe or Recipe()
        self.shipped = shipped  # the content's `embeddings/` folder (read only here)
        self._memory: dict[str, bytes] = {}
        self._vectors: dict[str, dict[str, Floats]] = {}
        self._shipped: dict[str, dict[str, Floats]] = {}
        self._lock = threading.Lock()
        self._warned = False
        self.last_hit: bool | None = None  # whether the last `models()` call found stored models

    # ------------------------------------------------------------------ models

    def models(
        self,
        content: Content,
        normalizers: Mapping[str, Normalizer],
        embedder: Embedder | None,
        progress: Progress | None = None,
    ) -> Models:
        """The models for `content`: from disk when fitted before, otherwise fitted and stored."""
        model_id = embedder.model_id if embedder is not None else None
        key = self.key(fingerprint(content), model_id)
        name = f"models-{key}.npz"
        # Several processes starting on one cache (workers of one machine, parallel test
        # workers) fit once: the others wait for the lock, then read what the first stored.
        with self._fitting(key):
            return self._models(name, content, normalizers, embedder, model_id, progress)

    def _models(
        self,
        name: str,
        content: Content,
        normalizers: Mapping[str, Normalizer],
        embedder: Embedder | None,
        model_id: str | None,
        progress: Progress | None,
    ) -> Models:
        stored = self._read(name)
        if stored is not None:
            try:
                models = Models.from_bytes(stored)
                if models.embedder_id == model_id:
                    self.last_hit = True
                    self._touch(name)
                    return models
            except (ValueError, KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
                log.warning(
                    "stored matcher models %s are unreadable (%s); fitting them again", name, exc
                )
        self.last_hit = False
        if progress:
            progress("fitting the matcher's models for this content (once per content version)")
        embed = None
        if embedder is not None:

            def embed(texts: Sequence[str]) -> Floats:
                return self.vectors(embedder, texts, progress)

        models = train(content, normalizers, embed, model_id, self.recipe, progress)
        self._write(name, models.to_bytes())
        self._prune("models-*.npz", keep=name)
        return models

    def key(self, parts: Sequence[Any], model_id: str | None) -> str:
        """The training data as written, the recipe, the stored format and the embedder."""
        digest = hashlib.sha256()
        digest.update(json.dumps([FORMAT, asdict(self.recipe), model_id]).encode())
        for part in parts:
            digest.update(json.dumps(part, ensure_ascii=False).encode())
        return digest.hexdigest()[:20]

    # ------------------------------------------------------------------ embeddings

    def vectors(
        self, embedder: Embedder, texts: Sequence[str], progress: Progress | None = None
    ) -> Floats:
        """One embedding per text, computing only those not stored yet."""
        name = vectors_file(embedder)
        with self._lock:
            known = self._vectors.get(name)
            if known is None:
                known = self._vectors[name] = self._read_vectors(name)
        shipped = self.shipped_vectors(embedder)
        keys = [text_key(t) for t in texts]
        missing = sorted(
            {
                k: t
                for k, t in zip(keys, texts, strict=True)
                if k not in known and k not in shipped
            }.items()
        )
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            if progress and (start // EMBED_BATCH) % 8 == 0:
                progress(f"embedding phrasings: {start} of {len(missing)} new")
            vectors = embedder.embed([t for _, t in batch])
            for (k, _), v in zip(batch, vectors, strict=True):
                known[k] = v
        if missing:
            self._write_vectors(name, known)
        if not texts:
            return np.zeros((0, 0), np.float32)
        return np.stack([known[k] if k in known else shipped[k] for k in keys]).astype(np.float32)

    def ship(
        self,
        content: Content,
        normalizers: Mapping[str, Normalizer],
        embedder: Embedder,
        progress: Progress | None = None,
    ) -> tuple[Path, int]:
        """Write the embedding of every phrasing `content` has into the shipped folder (phrasings
        no longer in the content are dropped); returns the file and how many it holds."""
        if self.shipped is None:
            raise ValueError("this cache has no shipped-embeddings folder")
        texts = sorted(self.phrasings(content, normalizers))
        vectors = self.vectors(embedder, texts, progress)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            allow_pickle=False,
            # sha1 digests as rows of bytes: a numpy bytes string would drop trailing zeros
            keys=np.array([list(bytes.fromhex(text_key(t))) for t in texts], dtype=np.uint8),
            vectors=vectors.astype(np.float16),  # 4-bit weights: float16 loses nothing that counts
        )
        name = vectors_file(embedder)
        _replace(self.shipped, name, buffer.getvalue())
        (self.shipped / name).chmod(0o644)  # content, read by whichever user serves it
        with self._lock:
            self._shipped.pop(name, None)
        return self.shipped / name, len(texts)

    def unshipped(
        self, content: Content, normalizers: Mapping[str, Normalizer], embedder: Embedder
    ) -> int:
        """How many of `content`'s phrasings the shipped folder has no embedding for."""
        shipped = self.shipped_vectors(embedder)
        return sum(text_key(t) not in shipped for t in self.phrasings(content, normalizers))

    def phrasings(self, content: Content, normalizers: Mapping[str, Normalizer]) -> set[str]:
        """Every text `train` embeds for `content`, as the embedder sees it."""
        return set(embedded(collect(content, normalizers), self.recipe))

    def shipped_vectors(self, embedder: Embedder) -> Mapping[str, Floats]:
        """The shipped embeddings for `embedder`'s model, by `text_key` (read once)."""
        name = vectors_file(embedder)
        with self._lock:
            shipped = self._shipped.get(name)
            if shipped is None:
                shipped = self._shipped[name] = self._read_shipped(name)
        return shipped

    def _read_shipped(self, name: str) -> dict[str, Floats]:
        if self.shipped is None:
            return {}
        try:
            with np.load(self.shipped / name, allow_pickle=False) as archive:
                keys, vectors = archive["keys"], archive["vectors"].astype(np.float32)
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
            log.warning("the shipped embeddings %s are unreadable (%s); ignoring them", name, exc)
            return {}
        if keys.ndim != 2 or keys.shape[1] != 20 or len(keys) != len(vectors):
            log.warning(
                "the shipped embeddings %s are not in the expected shape; ignoring them", name
            )
            return {}
        return {bytes(k).hex(): v for k, v in zip(keys, vectors, strict=True)}

    def _read_vectors(self, name: str) -> dict[str, Floats]:
        data = self._read(name)
        if data is None:
            return {}
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                keys, vectors = archive["keys"], archive["vectors"]
                if len(keys) != len(vectors):
                    raise ValueError("keys and vectors differ in length")
                return {str(k): v for k, v in zip(keys, vectors.astype(np.float32), strict=True)}
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
            log.warning("stored embeddings %s are unreadable (%s); computing them again", name, exc)
            return {}

    def _write_vectors(self, name: str, known: Mapping[str, Floats]) -> None:
        buffer = io.BytesIO()
        keys = sorted(known)
        np.savez(
            buffer,
            allow_pickle=False,
            keys=np.array(keys, dtype=str),
            vectors=np.stack([known[k] for k in keys]).astype(np.float32),
        )
        self._write(name, buffer.getvalue())

    # ------------------------------------------------------------------ files

    def _read(self, name: str) -> bytes | None:
        if name in self._memory:
            return self._memory[name]
        if self.directory is None:
            return None
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read %s (%s)", self.directory / name, exc.strerror)
            return None

    def _write(self, name: str, data: bytes) -> None:
        if self.directory is not None:
            try:
                _replace(self.directory, name, data)
                self._memory.pop(name, None)
                return
            except OSError as exc:
                if not self._warned:
                    log.warning(
                        "cannot write the matcher cache in %s (%s): keeping it in memory; "
                        "the next start will fit the models again",
                        self.directory,
                        exc.strerror,
                    )
                    self._warned = True
        self._memory[name] = data

    @contextlib.contextmanager
    def _fitting(self, key: str) -> Iterator[None]:
        """An exclusive lock on one content version's models, across processes (flock; where
        that is unavailable, no lock: at worst two processes fit the same models)."""
        if self.directory is None:
            yield
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / f".fit-{key}.lock", "a+b")  # noqa: SIM115
        except OSError:
            yield
            return
        with handle:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _touch(self, name: str) -> None:
        """Mark a model file as used now: pruning keeps the most recently *used* versions, so the
        content being served survives a few fits of edited copies (a staff member's trials)."""
        if self.directory is None:
            return
        with contextlib.suppress(OSError):  # housekeeping, as pruning
            os.utime(self.directory / name)

    def _prune(self, pattern: str, keep: str) -> None:
        if self.directory is None:
            return
        try:
            files = sorted(
                self.directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True
            )
            for old in [f for f in files if f.name != keep][KEEP_MODELS - 1 :]:
                old.unlink()
                key = old.stem.removeprefix("models-")
                (self.directory / f".fit-{key}.lock").unlink(missing_ok=True)
        except OSError:
            pass  # pruning is housekeeping: never a reason to fail


def _replace(directory: Path, name: str, data: bytes) -> None:
    """Write `name` whole: to a temporary name, then renamed over the old file."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{name}.", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, directory / name)


def vectors_file(embedder: Embedder) -> str:
    """The file name of a model's embeddings, in the cache and in the shipped folder."""
    return f"vectors-{_safe(embedder.model_id)}.npz"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _safe(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id)[:80]
