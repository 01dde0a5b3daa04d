"""Matcher speed: per-query latency (p50/p99), queries/s and load+index time.

Runs on the shipped content and on synthetic content of 10,000 entries, and compares the index
with a baseline measured in the same run: a linear scan that scores every entry for every query.

    python benchmarks/bench_matcher.py [--entries 10000] [--queries 2000]

Targets: p99 <= 1 ms per query on the shipped content, <= 5 ms with 10,000 entries; load+index of
the shipped content <= 300 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.loader import load_content  # noqa: E402
from bot.content.model import Content, Entry, frozen_map  # noqa: E402
from bot.matching.analyzer import Analyzer  # noqa: E402
from bot.matching.matcher import Matcher  # noqa: E402


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_queries(match: Callable[[str], object], queries: Sequence[str]) -> dict[str, float]:
    for query in queries[:50]:  # warm caches the way a running bot has them
        match(query)
    samples = []
    start = time.perf_counter()
    for query in queries:
        t0 = time.perf_counter()
        match(query)
        samples.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return {
        "p50_ms": percentile(samples, 0.50) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "qps": len(queries) / total,
    }


def realistic_queries(content: Content, count: int, seed: int = 7) -> list[str]:
    """Held-out questions plus the content's own examples with typos, shuffled."""
    cases = yaml.safe_load(
        (ROOT / "tests" / "data" / "matcher_cases.yaml").read_text(encoding="utf-8")
    )
    pool = [text for items in cases.values() for text, _ in items]
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


def synthetic_content(base: Content, entries: int, seed: int = 11) -> Content:
    """`entries` FAQ entries per language, built from the real vocabulary plus invented words,
    so the vocabulary grows the way real content would."""
    rng = random.Random(seed)
    languages = {}
    for code, lang in base.languages.items():
        real = sorted({w for e in lang.entries.values() for q in e.questions for w in q.split()})
        invented = [
            "".join(rng.choice("abcdefghijlmnoprstuvz") for _ in range(rng.randint(5, 10)))
            for _ in range(entries * 2)
        ]
        made = {}
        for n in range(entries):
            topic_words = [rng.choice(invented) for _ in range(3)]

            made[f"synthetic.t{n}"] = Entry(
                id=f"synthetic.t{n}",
                title=" ".join(topic_words),
                answer="-",
                questions=tuple(_sentence(rng, real, topic_words) for _ in range(8)),
                keywords=tuple(topic_words) + tuple(rng.choice(real) for _ in range(3)),
                related=(),
                source=("https://example.org",),
                reviewed=date(2026, 11, 28),
            )
        languages[code] = replace(lang, entries=frozen_map(made))
    return replace(base, languages=frozen_map(languages))


def _sentence(rng: random.Random, real: Sequence[str], topic_words: Sequence[str]) -> str:
    words = [rng.choice(real) for _ in range(rng.randint(3, 6))]
    words.insert(rng.randrange(len(words) + 1), rng.choice(topic_words))
    return " ".join(words)


class LinearScan:
    """The baseline: score every entry of the language for every query (term overlap)."""

    def __init__(self, content: Content) -> None:
        self.analyzers = {}
        self.entries: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for code, lang in content.languages.items():
            analyzer = Analyzer(lang.stemmer, lang.abbreviations, lang.stopwords, lang.phonetic)
            self.analyzers[code] = analyzer
            self.entries[code] = [
                (
                    e.id,
                    frozenset(
                        t
                        for text in (e.title, *e.questions, *e.keywords)
                        for t in analyzer.terms(text)
                    ),
                )
                for e in lang.entries.values()
            ]

    def match(self, text: str) -> str | None:
        code = "es"
        terms = set(self.analyzers[code].terms(text))
        best = max(self.entries[code], key=lambda item: len(terms & item[1]), default=None)
        return best[0] if best else None


def measure(
    label: str, content: Content, queries: Sequence[str]
) -> list[tuple[str, str, dict[str, float]]]:
    t0 = time.perf_counter()
    matcher = Matcher(content)
    index_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline = LinearScan(content)
    baseline_s = time.perf_counter() - t0
    rows = [
        (
            label,
            "index (Orienta)",
            {**time_queries(matcher.match, queries), "build_ms": index_s * 1000},
        ),
        (
            label,
            "linear scan (baseline)",
            {**time_queries(baseline.match, queries), "build_ms": baseline_s * 1000},
        ),
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()

    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        content = load_content(ROOT / "content")
        Matcher(content)
        loads.append(time.perf_counter() - t0)
    load_ms = statistics.median(loads) * 1000

    queries = realistic_queries(content, args.queries)
    rows = measure(
        f"shipped ({sum(len(lang.entries) for lang in content.languages.values())} entries)",
        content,
        queries,
    )
    synthetic = synthetic_content(content, args.entries)
    rows += measure(f"synthetic ({args.entries:,} entries/language)", synthetic, queries)

    print(
        f"load + index of the shipped content: {load_ms:.0f} ms (median of 5; target <= 300 ms)\n"
    )
    print("| content | matcher | p50 ms | p99 ms | queries/s | build ms |")
    print("|---|---|---:|---:|---:|---:|")
    for label, kind, r in rows:
        print(
            f"| {label} | {kind} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['qps']:,.0f} | {r['build_ms']:,.0f} |"
        )
    shipped_p99 = rows[0][2]["p99_ms"]
    synthetic_p99 = rows[2][2]["p99_ms"]
    ok = load_ms <= 300 and shipped_p99 <= 1.0 and synthetic_p99 <= 5.0
    print(
        f"\ntargets {'met' if ok else 'MISSED'}: p99 shipped {shipped_p99:.3f} ms (<= 1), "
        f"synthetic {synthetic_p99:.3f} ms (<= 5), load {load_ms:.0f} ms (<= 300)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
