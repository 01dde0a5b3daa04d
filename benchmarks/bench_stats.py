"""Usage counting: how many events/s the store absorbs, and what counting adds to a reply.

    python benchmarks/bench_stats.py [--events 1000000] [--replies 3000]

The reply path is measured with and without `UsageStore.record` in the same run, alternating
query by query so both see the same machine state. Target: counting adds < 5% to a reply.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from queries import realistic_queries  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.content.loader import load_content  # noqa: E402
from bot.engine.engine import Engine  # noqa: E402
from bot.engine.events import Text  # noqa: E402
from bot.engine.replies import Usage, UsageKind  # noqa: E402
from bot.i18n import Catalogs  # noqa: E402
from bot.runtime import Matching  # noqa: E402
from bot.stats.store import UsageStore  # noqa: E402


async def absorb(events: int) -> dict[str, float]:
    """Record `events` events (a realistic mix) while the store flushes every second."""
    rng = random.Random(3)
    topics = [f"topic.t{n}" for n in range(40)]
    kinds = [
        UsageKind.MESSAGE,
        UsageKind.ANSWERED,
        UsageKind.BUTTON,
        UsageKind.TREE_STEP,
        UsageKind.UNANSWERED,
    ]
    batch = [
        Usage(rng.choice(kinds), rng.choice(("es", "en")), rng.choice(topics)) for _ in range(1000)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = UsageStore(Path(tmp) / "usage.db", flush_every=1.0)
        await store.start()
        start = time.perf_counter()
        for n in range(events // len(batch)):
            store.record(("telegram", "whatsapp")[n % 2], batch)
            if n % 50 == 0:
                await asyncio.sleep(0)  # let the flush task run, as the bot's event loop would
        recorded = time.perf_counter() - start
        await store.close()
        total = time.perf_counter() - start
        rows = await UsageStore(Path(tmp) / "usage.db").rows()
        assert sum(r.count for r in rows) == events // len(batch) * len(batch), "events lost"
    return {"record_eps": events / recorded, "end_to_end_eps": events / total}


def reply_overhead(engine: Engine, queries: list[str]) -> dict[str, float]:
    store = UsageStore(Path(tempfile.gettempdir()) / "orienta-bench-unused.db")
    plain: list[float] = []
    counted: list[float] = []
    for query in queries[:100]:
        store.record("telegram", engine.handle(Text(query)).usage)  # warm up
    for index, query in enumerate(queries):
        # Alternate which variant goes first: the second call of a pair finds warmer caches.
        for counting in (False, True) if index % 2 else (True, False):
            t0 = time.perf_counter()
            response = engine.handle(Text(query))
            if counting:
                store.record("telegram", response.usage)
            (counted if counting else plain).append(time.perf_counter() - t0)
    return {
        "plain_ms": statistics.fmean(plain) * 1000,
        "counted_ms": statistics.fmean(counted) * 1000,
        "plain_p50_ms": statistics.median(plain) * 1000,
        "counted_p50_ms": statistics.median(counted) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--replies", type=int, default=3_000)
    args = parser.parse_args()
    content = load_content(ROOT / "content")
    matcher = Matching.from_settings(Settings.from_env()).matcher(content)
    engine = Engine(content, Catalogs(ROOT / "locale"), matcher)
    absorbed = asyncio.run(absorb(args.events))
    overhead = reply_overhead(engine, realistic_queries(content, args.replies))
    added = overhead["counted_ms"] / overhead["plain_ms"] - 1
    print(
        f"store: record() absorbs {absorbed['record_eps']:,.0f} events/s; "
        f"with every event written to SQLite: {absorbed['end_to_end_eps']:,.0f} events/s\n"
    )
    print("| reply path | mean ms | p50 ms |")
    print("|---|---:|---:|")
    print(
        f"| engine only (baseline) | {overhead['plain_ms']:.3f} | {overhead['plain_p50_ms']:.3f} |"
    )
    print(
        f"| engine + counting | {overhead['counted_ms']:.3f} | {overhead['counted_p50_ms']:.3f} |"
    )
    print(
        f"\ncounting adds {added:+.1%} to a reply (target < 5%): {'met' if added < 0.05 else 'MISSED'}"
    )
    return 0 if added < 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
