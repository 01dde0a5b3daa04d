"""Realistic messages for the speed benchmarks: the tuning cases plus the content's own example
questions with a typo each, shuffled. (The frozen held-out sets are left to bench_quality.py.)"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.model import Content  # noqa: E402
from bot.matching.evaluation import read_cases  # noqa: E402


def realistic_queries(content: Content, count: int, seed: int = 7) -> list[str]:
    pool = [case.text for case in read_cases(ROOT / "tests" / "data" / "matcher_cases.yaml")]
    rng = random.Random(seed)
    for lang in content.languages.values():
        for entry in lang.entries.values():
            pool.extend(_typo(rng, q) for q in entry.questions)
    return [rng.choice(pool) for _ in range(count)]


def _typo(rng: random.Random, text: str) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    word = words[i]
    if len(word) > 4:
        j = rng.randrange(1, len(word) - 1)
        words[i] = word[:j] + word[j + 1 :]
    return " ".join(words)
