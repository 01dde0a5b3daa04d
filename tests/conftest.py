"""Shared fixtures: the shipped content, an engine over it, and a scratch copy staff can break."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.content.loader import load_content
from bot.content.model import Content
from bot.engine.engine import Engine
from bot.i18n import Catalogs
from bot.matching.matcher import Matcher

CONTENT_DIR = ROOT / "content"
LOCALE_DIR = ROOT / "locale"


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR)


@pytest.fixture(scope="session")
def matcher(content: Content) -> Matcher:
    return Matcher(content)


@pytest.fixture(scope="session")
def engine(content: Content, matcher: Matcher) -> Engine:
    return Engine(content, Catalogs(LOCALE_DIR), matcher)


@pytest.fixture()
def content_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the shipped content, for tests that break it on purpose."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    yield target
