"""Places near a point: how long a lookup takes for 1,000 places (the issue's bound: 1 ms).

    python benchmarks/bench_places.py [--places 1000] [--lookups 2000]

The shipped places (73) are padded with synthetic ones spread over Mexico to `--places`, and
each lookup ranks the places of one kind from a random point, as a press on "Shelters" does.
Side by side in the same run: Orienta's `geo.nearest` (haversine over the kind's places, plain
Python) and scikit-learn's BallTree with the haversine metric (built once per kind), the
well-kept alternative. Times are medians and 99th percentiles of single lookups.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.neighbors import BallTree  # noqa: E402

from bot.content.loader import load_content  # noqa: E402
from bot.content.model import Place  # noqa: E402
from bot.engine import geo  # noqa: E402

KINDS = ("grupo_beta", "comar", "shelter", "reception", "consulate")


def padded(count: int) -> list[Place]:
    shipped = list(load_content(ROOT / "content").places)
    rng = random.Random(17)
    places = shipped[:]
    while len(places) < count:
        base = rng.choice(shipped)
        places.append(
            replace(
                base,
                id=f"synthetic-{len(places)}",
                kind=rng.choice(KINDS),
                lat=rng.uniform(14.6, 32.6),
                lon=rng.uniform(-117.0, -86.8),
            )
        )
    return places


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    places = padded(args.places)
    by_kind = {k: [p for p in places if p.kind == k] for k in KINDS}
    trees = {
        k: BallTree(np.radians([[p.lat, p.lon] for p in ps]), metric="haversine")
        for k, ps in by_kind.items()
    }
    rng = random.Random(5)
    points = [
        (rng.uniform(14.6, 32.6), rng.uniform(-117.0, -86.8), rng.choice(KINDS))
        for _ in range(args.lookups)
    ]
    ours, balltree, everything = [], [], []
    for lat, lon, kind in points:  # alternating, so both see the same machine state
        start = time.perf_counter()
        geo.nearest(by_kind[kind], lat, lon, 3)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        trees[kind].query(np.radians([[lat, lon]]), k=3)
        balltree.append(time.perf_counter() - start)
        start = time.perf_counter()
        geo.nearest(places, lat, lon, 3)  # the worst case: all 1,000 places of one kind
        everything.append(time.perf_counter() - start)
    print(f"{len(places)} places; {args.lookups} lookups of one kind's 3 nearest\n")
    print("| method | median | p99 |")
    print("|---|---:|---:|")
    for name, times in (
        ("Orienta geo.nearest, one kind (~200 places)", ours),
        ("scikit-learn BallTree (haversine), one kind", balltree),
        ("Orienta geo.nearest over all 1,000 places", everything),
    ):
        print(
            f"| {name} | {statistics.median(times) * 1000:.3f} ms | "
            f"{percentile(times, 0.99) * 1000:.3f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
