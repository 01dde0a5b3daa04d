"""End-to-end benchmarks, each against a baseline measured in the same run.

    python benchmarks/bench_e2e.py [--updates 2000]

- Telegram updates/s: `orienta run` vs a bare python-telegram-bot echo bot (benchmarks/echo_bot.py),
  both as processes against the same fake Bot API on loopback, rate limiter off.
  Target: Orienta >= 80% of the echo bot.
- WhatsApp webhook requests/s (signed posts, answered through a fake Graph API) vs GET /healthz on
  the same server.
- Start-up to first answer (target <= 1.5 s) and RSS after start (target <= 100 MB), for Orienta
  and the echo bot.
- Content reload time (target <= 200 ms) vs loading the content alone.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.content.loader import load_content  # noqa: E402
from bot.runtime import Matching, Runtime, build_engine  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.graph_api import FakeGraphAPI  # noqa: E402

ORIENTA = [sys.executable, "-m", "bot", "run"]
ECHO = [sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")]


def single_reply_texts(count: int) -> list[str]:
    """Realistic questions that each get exactly one message back (no danger double-reply)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from queries import realistic_queries

    content = load_content(ROOT / "content")
    matcher = Matching.from_settings(Settings.from_env()).matcher(content)
    pool = [
        q for q in realistic_queries(content, 4000) if q.strip() and not matcher.match(q).danger
    ]
    return [pool[n % len(pool)] for n in range(count)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def spawn(
    cmd: list[str], env: dict[str, str], cwd: Path = ROOT
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *cmd,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()


async def telegram(
    cmd: list[str], texts: list[str], tmp: Path, cwd: Path = ROOT, **extra: str
) -> dict[str, float]:
    """Updates/s, CPU per update, start-up and RSS of a bot process (`cmd`, run in `cwd`, with
    `extra` environment) against the fake Bot API."""
    async with FakeBotAPI() as api:
        env = {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_RATE_LIMIT": "0",
            "ORIENTA_DB": str(tmp / "bench.db"),
            "ORIENTA_CONTENT_POLL": "0",
            **extra,
        }
        api.queue(api.text_update("hola", chat_id=1))  # waiting before the bot even starts
        started = time.perf_counter()
        process = await spawn(cmd, env, cwd)
        try:
            await api.wait_chat(1, 1, timeout=60)
            first_answer = time.perf_counter() - started
            rss = rss_mb(process.pid)
            chats = 200
            warm = [api.text_update(t, chat_id=100 + n % chats) for n, t in enumerate(texts[:100])]
            api.queue(*warm)
            await api.wait_for("sendMessage", 1 + len(warm), timeout=120)
            before = len(api.calls_to("sendMessage"))
            updates = [api.text_update(t, chat_id=100 + n % chats) for n, t in enumerate(texts)]
            cpu0, own0, t0 = cpu_seconds(process.pid), time.process_time(), time.perf_counter()
            api.queue(*updates)
            await api.wait_for("sendMessage", before + len(texts), timeout=300)
            elapsed = time.perf_counter() - t0
            return {
                "updates_per_s": len(texts) / elapsed,
                "first_answer_s": first_answer,
                "rss_mb": rss,
                "rss_after_load_mb": rss_mb(process.pid),
                "bot_cpu_ms_per_update": (cpu_seconds(process.pid) - cpu0) * 1000 / len(texts),
                "fake_cpu_share": (time.process_time() - own0) / elapsed,
            }
        finally:
            await stop(process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def whatsapp(texts: list[str], tmp: Path, concurrency: int = 32) -> dict[str, float]:
    async with FakeGraphAPI() as graph:
        port, secret = free_port(), "bench-secret"
        env = {
            "WHATSAPP_TOKEN": graph.token,
            "WHATSAPP_PHONE_NUMBER_ID": "1",
            "WHATSAPP_APP_SECRET": secret,
            "WHATSAPP_VERIFY_TOKEN": "v",
            "WHATSAPP_API_BASE_URL": graph.base_url,
            "ORIENTA_PORT": str(port),
            "ORIENTA_DB": str(tmp / "wa.db"),
            "ORIENTA_CONTENT_POLL": "0",
        }
        process = await spawn(ORIENTA, env)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                limits=httpx.Limits(max_connections=concurrency),
            ) as client:
                for _ in range(600):
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.05)
                health = await _rate(lambda n: client.get("/healthz"), len(texts), concurrency)

                def post(n: int):  # type: ignore[no-untyped-def]
                    message = {
                        "from": f"5215500{n % 500:06d}",
                        "id": f"wamid.bench{n}",
                        "timestamp": "1",
                        "type": "text",
                        "text": {"body": texts[n]},
                    }
                    raw = json.dumps(
                        {
                            "object": "whatsapp_business_account",
                            "entry": [
                                {
                                    "id": "x",
                                    "changes": [
                                        {"field": "messages", "value": {"messages": [message]}}
                                    ],
                                }
                            ],
                        }
                    ).encode()
                    signature = (
                        "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
                    )
                    return client.post(
                        "/whatsapp/webhook",
                        content=raw,
                        headers={
                            "X-Hub-Signature-256": signature,
                            "Content-Type": "application/json",
                        },
                    )

                t0 = time.perf_counter()
                webhook = await _rate(post, len(texts), concurrency)
                await graph.wait_for(len(texts), timeout=300)
                answered = len(texts) / (time.perf_counter() - t0)
            return {"webhook_rps": webhook, "healthz_rps": health, "answered_per_s": answered}
        finally:
            await stop(process)


async def _rate(request, count: int, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            response = await request(n)
            assert response.status_code == 200, response.status_code

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - t0)


async def reload_times(rounds: int = 7) -> dict[str, float]:
    matching = Matching.from_settings(Settings.from_env())
    engine, _ = build_engine(ROOT / "content", ROOT / "locale", matching)
    runtime = Runtime(engine, None, ROOT / "content", ROOT / "locale", matching)  # type: ignore[arg-type]
    reloads, loads = [], []
    for _ in range(rounds):
        await runtime.reload("benchmark")
        reloads.append(runtime.last_reload_ms)
        t0 = time.perf_counter()
        load_content(ROOT / "content")
        loads.append((time.perf_counter() - t0) * 1000)
    return {"reload_ms": statistics.median(reloads), "load_only_ms": statistics.median(loads)}


async def main_async(updates: int) -> int:
    import tempfile

    texts = single_reply_texts(updates)
    with tempfile.TemporaryDirectory() as tmp:
        echo = await telegram(ECHO, texts, Path(tmp))
        orienta = await telegram(ORIENTA, texts, Path(tmp))
        wa = await whatsapp(texts[: min(len(texts), 2000)], Path(tmp))
    reload = await reload_times()
    ratio = orienta["updates_per_s"] / echo["updates_per_s"]
    print("| measure | Orienta | baseline | target |")
    print("|---|---:|---:|---|")
    print(
        f"| Telegram updates/s (rate limiter off) | {orienta['updates_per_s']:,.0f} | {echo['updates_per_s']:,.0f} (echo bot) | ≥ 80% of echo: {ratio:.0%} |"
    )
    print(
        f"| bot CPU per update | {orienta['bot_cpu_ms_per_update']:.2f} ms | {echo['bot_cpu_ms_per_update']:.2f} ms (echo bot) | |"
    )
    print(
        f"| fake Bot API busy (share of one core) | {orienta['fake_cpu_share']:.0%} | {echo['fake_cpu_share']:.0%} | |"
    )
    print(
        f"| start-up to first answer | {orienta['first_answer_s']:.2f} s | {echo['first_answer_s']:.2f} s (echo bot) | ≤ 1.5 s |"
    )
    print(
        f"| RSS after start | {orienta['rss_mb']:.0f} MB | {echo['rss_mb']:.0f} MB (echo bot) | ≤ 100 MB |"
    )
    print(
        f"| RSS after {updates:,} updates | {orienta['rss_after_load_mb']:.0f} MB | {echo['rss_after_load_mb']:.0f} MB (echo bot) | |"
    )
    print(
        f"| WhatsApp webhook requests/s | {wa['webhook_rps']:,.0f} | {wa['healthz_rps']:,.0f} (GET /healthz) | |"
    )
    print(f"| WhatsApp messages answered/s | {wa['answered_per_s']:,.0f} | | |")
    print(
        f"| content reload | {reload['reload_ms']:.0f} ms | {reload['load_only_ms']:.0f} ms (load only) | ≤ 200 ms |"
    )
    ok = (
        ratio >= 0.8
        and orienta["first_answer_s"] <= 1.5
        and orienta["rss_mb"] <= 100
        and reload["reload_ms"] <= 200
    )
    print(f"\ntargets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    args = parser.parse_args()
    return asyncio.run(main_async(args.updates))


if __name__ == "__main__":
    raise SystemExit(main())
