"""Load test (not part of the default suite): `make load`.

Starts `orienta run` as its own process with Telegram and WhatsApp configured, against a fake Bot
API and a fake Graph API on loopback, then drives many simulated users at once:

- Telegram: each user holds a short conversation (/start, a question, a button, another question,
  /menu), waiting for each answer before the next step, like a person would.
- WhatsApp: each user sends several questions as signed webhook posts, waiting for each answer.

Reports messages/s, p50/p99 latency (from sending to the bot's first reply), the bot's RSS memory
and errors. Everything stays on 127.0.0.1; every loop is bounded in count and time.

    python benchmarks/load.py [--telegram-users 300] [--whatsapp-users 200] [--steps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from bench_e2e import free_port, rss_mb, single_reply_texts  # noqa: E402

from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.graph_api import FakeGraphAPI  # noqa: E402
from tests.fakes.process import start_orienta, stop_orienta  # noqa: E402

SECRET = "load-secret"


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0

    def report(self, name: str, elapsed: float) -> str:
        if not self.latencies:
            return f"| {name} | 0 | – | – | {self.errors} |"
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return (
            f"| {name} | {len(ordered) / elapsed:,.0f} | {statistics.median(ordered) * 1000:.0f} ms | "
            f"{p99 * 1000:.0f} ms | {self.errors} |"
        )


async def telegram_user(
    api: FakeBotAPI, chat: int, steps: int, texts: list[str], tally: Tally, rng: random.Random
) -> None:
    plan = [
        "/start",
        rng.choice(texts),
        "press",
        rng.choice(texts),
        "/menu",
        rng.choice(texts),
        "press",
    ][:steps]
    received = 0
    for step in plan:
        if step == "press":
            markup = (api.last_reply.get(chat) or {}).get("reply_markup") or {}
            buttons = [
                b
                for row in markup.get("inline_keyboard", [])
                for b in row
                if b["callback_data"].startswith("v|") and "|t|" in b["callback_data"]
            ]
            if not buttons:
                continue
            update = api.press_update(rng.choice(buttons)["callback_data"], chat_id=chat)
        else:
            update = api.text_update(step, chat_id=chat)
        sent = time.monotonic()
        api.queue(update)
        try:
            when = await api.wait_chat(chat, received + 1, timeout=30)
        except TimeoutError:
            tally.errors += 1
            return
        received = len(api.replies_by_chat.get(chat, []))
        tally.latencies.append(when - sent)


async def whatsapp_user(
    client: httpx.AsyncClient,
    graph: FakeGraphAPI,
    user: str,
    steps: int,
    texts: list[str],
    tally: Tally,
    rng: random.Random,
    ids: list[int],
) -> None:
    for _ in range(steps):
        ids[0] += 1
        message = {
            "from": user,
            "id": f"wamid.load{ids[0]}",
            "timestamp": "1",
            "type": "text",
            "text": {"body": rng.choice(texts)},
        }
        raw = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "x",
                        "changes": [{"field": "messages", "value": {"messages": [message]}}],
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        before = len(graph.by_recipient.get(user, []))
        sent = time.monotonic()
        try:
            response = await client.post(
                "/whatsapp/webhook",
                content=raw,
                headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
            )
            if response.status_code != 200:
                tally.errors += 1
                continue
            when = await graph.wait_recipient(user, before + 1, timeout=30)
        except (httpx.HTTPError, TimeoutError):
            tally.errors += 1
            continue
        tally.latencies.append(when - sent)
        # let the rest of a multi-message answer arrive before the next question
        await asyncio.sleep(0)


async def main_async(args: argparse.Namespace) -> int:
    texts = single_reply_texts(3000)
    async with FakeBotAPI() as api, FakeGraphAPI() as graph:
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            process = await start_orienta(
                Path(tmp) / "load.db",
                api,
                WHATSAPP_TOKEN=graph.token,
                WHATSAPP_PHONE_NUMBER_ID="1",
                WHATSAPP_APP_SECRET=SECRET,
                WHATSAPP_VERIFY_TOKEN="v",
                WHATSAPP_API_BASE_URL=graph.base_url,
                ORIENTA_PORT=str(port),
            )
            peak = 0.0
            try:
                await api.wait_for("getUpdates", timeout=60)
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    limits=httpx.Limits(max_connections=64),
                    timeout=30,
                ) as client:
                    while True:
                        try:
                            if (await client.get("/healthz")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            await asyncio.sleep(0.05)
                    tg, wa, ids = Tally(), Tally(), [0]
                    done = asyncio.Event()

                    async def sample() -> None:
                        nonlocal peak
                        while not done.is_set():
                            peak = max(peak, rss_mb(process.pid))
                            await asyncio.sleep(0.2)

                    sampler = asyncio.create_task(sample())
                    t0 = time.monotonic()
                    await asyncio.gather(
                        *(
                            telegram_user(api, 50_000 + n, args.steps, texts, tg, random.Random(n))
                            for n in range(args.telegram_users)
                        ),
                        *(
                            whatsapp_user(
                                client,
                                graph,
                                f"52155{n:08d}",
                                args.steps,
                                texts,
                                wa,
                                random.Random(n),
                                ids,
                            )
                            for n in range(args.whatsapp_users)
                        ),
                    )
                    elapsed = time.monotonic() - t0
                    done.set()
                    await sampler
            finally:
                code = await stop_orienta(process, timeout=20)
            stderr = (await process.stderr.read()).decode() if process.stderr else ""
    errors = [line for line in stderr.splitlines() if " ERROR " in line]
    bot_errors = len(errors)
    for line in errors[:5]:
        print("bot error:", line[:200])
    print(
        f"{args.telegram_users} Telegram users and {args.whatsapp_users} WhatsApp users, {args.steps} steps each, "
        f"at once, in {elapsed:.1f} s\n"
    )
    print("| channel | messages/s | p50 latency | p99 latency | errors |")
    print("|---|---:|---:|---:|---:|")
    print(tg.report("Telegram", elapsed))
    print(wa.report("WhatsApp", elapsed))
    print(
        f"\nbot RSS peak: {peak:.0f} MB; errors logged by the bot: {bot_errors}; exit code after SIGTERM: {code}"
    )
    return 0 if tg.errors == wa.errors == bot_errors == 0 and code == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--telegram-users", type=int, default=300)
    parser.add_argument("--whatsapp-users", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
