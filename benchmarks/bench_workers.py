"""Several workers sharing PostgreSQL: WhatsApp messages answered per second with 1, 2 and 4
`orienta run` processes behind one (round-robin) client, against SQLite with one worker, in one
run. Everything on loopback: a throwaway PostgreSQL cluster (tests/fakes/postgres.py), the fake
Graph API, and this process posting signed deliveries (its CPU share is printed: on a 2-core
machine it competes with the workers).

    python benchmarks/bench_workers.py [--messages 1000] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from bench_e2e import cpu_seconds, free_port, single_reply_texts, spawn, stop  # noqa: E402

from tests.fakes.graph_api import FakeGraphAPI, signed_delivery  # noqa: E402
from tests.fakes.postgres import Cluster  # noqa: E402

ORIENTA = [sys.executable, "-m", "bot", "run"]
SECRET = "bench-secret"


def signed(n: int, text: str) -> tuple[bytes, dict[str, str]]:
    # One sender per message: no flood guard, one reply each.
    return signed_delivery(SECRET, text, f"52155{n:08d}", f"wamid.workers{n}")


async def run(workers: int, db: str, texts: list[str], concurrency: int = 32) -> dict[str, float]:
    async with FakeGraphAPI() as graph:
        ports = [free_port() for _ in range(workers)]
        processes = [
            await spawn(
                ORIENTA,
                {
                    "WHATSAPP_TOKEN": graph.token,
                    "WHATSAPP_PHONE_NUMBER_ID": "1",
                    "WHATSAPP_APP_SECRET": SECRET,
                    "WHATSAPP_VERIFY_TOKEN": "v",
                    "WHATSAPP_API_BASE_URL": graph.base_url,
                    "ORIENTA_PORT": str(port),
                    "ORIENTA_DB": db,
                    "ORIENTA_CONTENT_POLL": "0",
                    # One thread of C per worker (the embedder uses OpenMP): workers, not
                    # threads, share the cores, as in a deployment of one worker per core.
                    "OMP_NUM_THREADS": "1",
                },
            )
            for port in ports
        ]
        try:
            clients = [
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    limits=httpx.Limits(max_connections=concurrency),
                )
                for port in ports
            ]
            for client in clients:  # up, and warm
                for _ in range(1200):
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.05)
            warm = len(texts) // 10  # the first answers load lazily: not measured
            for n in range(warm):
                raw, headers = signed(n, texts[n])
                await clients[n % workers].post("/whatsapp/webhook", content=raw, headers=headers)
            async with graph._changed:
                await asyncio.wait_for(
                    graph._changed.wait_for(lambda: len(graph.by_recipient) >= warm), 600
                )
            queue = iter(range(warm, len(texts)))

            async def post_all() -> None:
                for n in queue:
                    raw, headers = signed(n, texts[n])
                    response = await clients[n % workers].post(
                        "/whatsapp/webhook", content=raw, headers=headers
                    )
                    assert response.status_code == 200, response.status_code

            cpu0 = sum(cpu_seconds(p.pid) for p in processes)
            own0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(post_all() for _ in range(concurrency)))
            async with graph._changed:
                await asyncio.wait_for(
                    graph._changed.wait_for(lambda: len(graph.by_recipient) >= len(texts)), 600
                )
            elapsed = time.perf_counter() - t0
            for client in clients:
                await client.aclose()
            return {
                "answered_per_s": (len(texts) - warm) / elapsed,
                "generator_cpu_share": (time.process_time() - own0) / elapsed,
                "workers_cpu_share": (sum(cpu_seconds(p.pid) for p in processes) - cpu0) / elapsed,
            }
        finally:
            for process in processes:
                await stop(process)


async def fake_alone(messages: int, concurrency: int = 32) -> float:
    """The fake Graph API's own capacity: messages/s it takes when nothing else runs."""
    async with (
        FakeGraphAPI() as graph,
        httpx.AsyncClient(
            base_url=graph.base_url,
            headers={"Authorization": f"Bearer {graph.token}"},
            limits=httpx.Limits(max_connections=concurrency),
        ) as client,
    ):
        queue = iter(range(messages))

        async def send_all() -> None:
            for n in queue:
                body = {
                    "messaging_product": "whatsapp",
                    "to": f"52155{n:08d}",
                    "type": "text",
                    "text": {"body": "x" * 400},
                }
                assert (await client.post("/1/messages", json=body)).status_code == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(send_all() for _ in range(concurrency)))
        return messages / (time.perf_counter() - t0)


async def main_async(messages: int, counts: list[int]) -> int:
    texts = single_reply_texts(messages)
    cluster = Cluster()
    results: list[tuple[str, int, dict[str, float]]] = []
    try:
        for number, workers in enumerate(counts):
            name = f"w{number}"
            connection = await asyncpg.connect(cluster.url())
            await connection.execute(f"CREATE DATABASE {name}")
            await connection.close()
            results.append(("PostgreSQL", workers, await run(workers, cluster.url(name), texts)))
        with tempfile.TemporaryDirectory() as tmp:  # last: the first run of all is the slowest
            results.append(("SQLite", 1, await run(1, str(Path(tmp) / "w.db"), texts)))
    finally:
        cluster.stop()
    alone = await fake_alone(messages * 2)
    base = next(r for kind, w, r in results if kind == "PostgreSQL" and w == 1)["answered_per_s"]
    print(
        f"\n{messages} WhatsApp messages, signed, one sender each, answered via the fake Graph API\n"
    )
    print(
        "| database | workers | messages answered/s | vs 1 worker | workers' CPU "
        "| messages per worker core-second | benchmark process CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, workers, r in results:
        factor = f"{r['answered_per_s'] / base:.2f}x" if kind == "PostgreSQL" else ""
        # What a core of workers answers: flat as workers are added means the design scales
        # with cores, and only the machine's cores limit the total.
        per_core = r["answered_per_s"] / max(r["workers_cpu_share"], 1e-9)
        print(
            f"| {kind} | {workers} | {r['answered_per_s']:,.0f} | {factor} | "
            f"{r['workers_cpu_share']:.2f} cores | {per_core:,.0f} | "
            f"{r['generator_cpu_share']:.2f} cores |"
        )
    print(f"\nThe fake Graph API alone takes {alone:,.0f} messages/s (one process, no workers).")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    return asyncio.run(main_async(args.messages, args.workers))


if __name__ == "__main__":
    sys.exit(main())
