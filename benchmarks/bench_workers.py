"""Several workers sharing PostgreSQL: WhatsApp messages answered per second with 1, 2 and 4
`orienta run` processes, against SQLite with one worker, in one run. Everything on loopback: a
throwaway PostgreSQL cluster (tests/fakes/postgres.py), a fake Graph API and a load generator
that cost tens of microseconds a request (lean_http.py), so that on a 2-core machine the cores go
to the workers. The CPU of every party is printed.

Each worker is pinned to one core (`--no-pin`: the scheduler decides), as a deployment of one
worker per core would be (deploy/orienta@.service, CPUAffinity=): one worker then uses one core,
and the factor shows what adding a worker on a free core adds.

    python benchmarks/bench_workers.py [--messages 2000] [--workers 1 2 4] [--rounds 3] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import asyncpg  # noqa: E402
from bench_e2e import cpu_seconds, free_port, single_reply_texts, stop  # noqa: E402
from lean_http import LeanGraph, post_all, request  # noqa: E402

from tests.fakes.graph_api import signed_delivery  # noqa: E402
from tests.fakes.postgres import Cluster  # noqa: E402

ORIENTA = [sys.executable, "-m", "bot", "run"]
SECRET = "bench-secret"
CONCURRENCY = 32  # deliveries in flight, in all
PATH = "/whatsapp/webhook"


def deliveries(texts: list[str], first: int, last: int, ports: list[int]) -> list[list[bytes]]:
    """Signed deliveries `first`..`last`, as raw requests, round-robin over the workers' ports.
    One sender per message: no flood guard, one reply each."""
    out: list[list[bytes]] = [[] for _ in ports]
    for n in range(first, last):
        body, headers = signed_delivery(SECRET, texts[n], f"52155{n:08d}", f"wamid.workers{n}")
        port = ports[n % len(ports)]
        out[n % len(ports)].append(request("127.0.0.1", port, PATH, body, headers))
    return out


def postgres_cpu(cluster: Cluster | None) -> float:
    """CPU seconds of the cluster's server and its backends so far."""
    if cluster is None:
        return 0.0
    main = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(main)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == main:
                    total += cpu_seconds(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # a backend that just ended
    return total


async def run(
    workers: int, db: str, texts: list[str], pin: bool, cluster: Cluster | None
) -> dict[str, float]:
    cores = sorted(os.sched_getaffinity(0))
    async with LeanGraph() as graph:
        ports = [free_port() for _ in range(workers)]
        processes = []
        for number, port in enumerate(ports):
            core = cores[number % len(cores)]
            processes.append(
                await asyncio.create_subprocess_exec(
                    *ORIENTA,
                    cwd=ROOT,
                    env={
                        **os.environ,
                        "WHATSAPP_TOKEN": "bench-token",
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
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                    # Pinned before Python starts, so every thread it makes inherits the core.
                    preexec_fn=(lambda c=core: os.sched_setaffinity(0, {c})) if pin else None,
                )
            )
        try:
            for port in ports:  # up
                await _healthy(port)
            warm = len(texts) // 10  # the first answers load lazily: not measured
            warming: Counter[int] = Counter()
            for port, raws in zip(ports, deliveries(texts, 0, warm, ports), strict=True):
                warming.update((await post_all(port, raws, 1))[0])
            assert warming == Counter({200: warm}), warming
            await graph.wait_recipients(warm, 600)
            burst = deliveries(texts, warm, len(texts), ports)
            cpu0 = sum(cpu_seconds(p.pid) for p in processes)
            pg0 = postgres_cpu(cluster)
            own0, t0 = time.process_time(), time.perf_counter()
            each = max(1, CONCURRENCY // workers)
            statuses: Counter[int] = Counter()
            for result, _ in await asyncio.gather(
                *(post_all(port, raws, each) for port, raws in zip(ports, burst, strict=True))
            ):
                statuses.update(result)
            await graph.wait_recipients(len(texts), 600)
            elapsed = graph.last_at - t0
            assert statuses == Counter({200: len(texts) - warm}), statuses
            assert len(graph.by_recipient) == len(texts), (len(graph.by_recipient), len(texts))
            found = {
                "answered_per_s": (len(texts) - warm) / elapsed,
                "generator_cpu_share": (time.process_time() - own0) / elapsed,
                "workers_cpu_share": (sum(cpu_seconds(p.pid) for p in processes) - cpu0) / elapsed,
                "postgres_cpu_share": (postgres_cpu(cluster) - pg0) / elapsed,
            }
        finally:
            for process in processes:
                await stop(process)
    if cluster is not None:  # the workers are gone: their backends' statistics are flushed
        connection = await asyncpg.connect(db)
        try:
            commits = await connection.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        finally:
            await connection.close()
        found["transactions_per_message"] = commits / len(texts)
    return found


async def _healthy(port: int) -> None:
    for _ in range(1200):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the worker on port {port} did not come up")


async def fake_alone(messages: int) -> tuple[float, float]:
    """The fake Graph API and the generator alone: sends/s, and CPU microseconds per send for
    both together (one process, no workers)."""
    async with LeanGraph() as graph:
        body = (
            b'{"messaging_product":"whatsapp","to":"5215500000000","type":"text","text":{"body":"'
        )
        body += b"x" * 400 + b'"}}'
        raw = request("127.0.0.1", graph.port, "/v21.0/1/messages", body, {})
        cpu0 = time.process_time()
        statuses, elapsed = await post_all(graph.port, [raw] * messages, CONCURRENCY)
        assert statuses == Counter({200: messages})
        return messages / elapsed, (time.process_time() - cpu0) / messages * 1e6


async def main_async(messages: int, counts: list[int], pin: bool, rounds: int) -> int:
    texts = single_reply_texts(messages)
    cluster = Cluster()
    setups = [("PostgreSQL", workers) for workers in counts] + [("SQLite", 1)]
    results: dict[tuple[str, int], list[dict[str, float]]] = {setup: [] for setup in setups}
    databases = itertools.count()
    try:
        for _ in range(rounds):  # in turn, so that a slow spell of the machine hits them all
            for kind, workers in setups:
                if kind == "PostgreSQL":
                    name = f"w{next(databases)}"
                    connection = await asyncpg.connect(cluster.url())
                    await connection.execute(f"CREATE DATABASE {name}")
                    await connection.close()
                    found = await run(workers, cluster.url(name), texts, pin, cluster)
                else:
                    with tempfile.TemporaryDirectory() as tmp:
                        found = await run(1, str(Path(tmp) / "w.db"), texts, pin, None)
                results[(kind, workers)].append(found)
    finally:
        cluster.stop()
    alone, micros = await fake_alone(messages * 2)
    base = results[("PostgreSQL", 1)]
    where = "each worker pinned to one core" if pin else "workers not pinned"
    print(
        f"\n{messages} WhatsApp messages, signed, one sender each, answered via the fake Graph "
        f"API; {where}; {len(os.sched_getaffinity(0))} cores; median of {rounds} rounds\n"
    )
    print(
        "| database | workers | messages answered/s | vs 1 worker (each round) | workers' CPU "
        "| messages per worker core-second | PostgreSQL CPU | generator + fake Graph API CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (kind, workers), found in results.items():

        def median(metric: str, found: list[dict[str, float]] = found) -> float:
            return statistics.median(r[metric] for r in found)

        factor = ""
        if kind == "PostgreSQL":
            each = [
                r["answered_per_s"] / b["answered_per_s"] for r, b in zip(found, base, strict=True)
            ]
            factor = f"{statistics.median(each):.2f}x ({min(each):.2f}-{max(each):.2f})"
        # What a core of workers answers: flat as workers are added means the design scales
        # with cores, and only the machine's cores limit the total.
        per_core = statistics.median(
            r["answered_per_s"] / max(r["workers_cpu_share"], 1e-9) for r in found
        )
        postgres = f"{median('postgres_cpu_share'):.2f} cores" if kind == "PostgreSQL" else ""
        print(
            f"| {kind} | {workers} | {median('answered_per_s'):,.0f} | {factor} | "
            f"{median('workers_cpu_share'):.2f} cores | {per_core:,.0f} | {postgres} | "
            f"{median('generator_cpu_share'):.2f} cores |"
        )
    transactions = [
        statistics.median(r["transactions_per_message"] for r in found)
        for (kind, _), found in results.items()
        if kind == "PostgreSQL"
    ]
    print(
        "\nPostgreSQL transactions per message (whole run, start-up and heartbeats included): "
        + ", ".join(f"{t:.2f}" for t in transactions)
    )
    print(
        f"\nThe fake Graph API and the generator alone: {alone:,.0f} sends/s, "
        f"{micros:.0f} µs of CPU per send for both (one process, no workers)."
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args()
    return asyncio.run(main_async(args.messages, args.workers, args.pin, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
