"""Is the lexical-only bot as fast as the first round's? Side by side, in one run.

    python benchmarks/bench_lexical.py [--updates 2000] [--rounds 3] [--against ddceb81]

Issue 9 asks that the lexical-only fallback (ORIENTA_EMBEDDINGS=none) keep the speed the bot had
before the learned matcher. Absolute times on a shared machine swing twofold between runs, so
this compares, in alternating rounds of the same run, on the same fake Bot API and the same
questions:

- the python-telegram-bot echo bot (the usual baseline),
- Orienta at the first round's last commit (`--against`, checked out into a temporary git
  worktree: the hand-written scorer over the content of that day),
- Orienta now, lexical only, and Orienta now with sentence embeddings.

It prints the median updates/s and bot CPU per update of each, and each one's ratio to the
first round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_e2e import ECHO, ORIENTA, ROOT, single_reply_texts, telegram

FIRST_ROUND = "ddceb81"  # the last commit before the learned matcher (README: 373 updates/s)


def worktree(ref: str, where: Path) -> Path:
    """`ref` checked out at `where`, with its catalogs compiled (they are not in git)."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach", str(where), ref],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "compile", "-d", str(where / "locale")],
        check=True,
        capture_output=True,
    )
    return where


async def main_async(updates: int, rounds: int, ref: str) -> int:
    texts = single_reply_texts(updates)
    with tempfile.TemporaryDirectory() as tmp:
        old = worktree(ref, Path(tmp) / "first-round")
        bots: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "echo bot (python-telegram-bot)": (ECHO, ROOT, {}),
            f"Orienta, first round ({ref})": (ORIENTA, old, {}),
            "Orienta now, lexical only": (ORIENTA, ROOT, {"ORIENTA_EMBEDDINGS": "none"}),
            "Orienta now": (ORIENTA, ROOT, {}),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in bots}
        try:
            for number in range(rounds):
                for name, (cmd, cwd, env) in bots.items():
                    work = Path(tmp) / f"{number}-{len(runs[name])}-{abs(hash(name))}"
                    work.mkdir()
                    runs[name].append(await telegram(cmd, texts, work, cwd, **env))
                    print(f"round {number + 1}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                capture_output=True,
            )

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    first = f"Orienta, first round ({ref})"
    print(f"\n{updates:,} Telegram updates from 200 chats, {rounds} alternating rounds, medians\n")
    print("| bot | updates/s | bot CPU per update | CPU vs first round | each round's CPU (ms) |")
    print("|---|---:|---:|---:|---|")
    for name in bots:
        cpu = median(name, "bot_cpu_ms_per_update")
        each = ", ".join(f"{r['bot_cpu_ms_per_update']:.2f}" for r in runs[name])
        print(
            f"| {name} | {median(name, 'updates_per_s'):,.0f} | {cpu:.2f} ms | "
            f"{cpu / median(first, 'bot_cpu_ms_per_update'):.2f}x | {each} |"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", default=FIRST_ROUND, help="the first round's commit")
    args = parser.parse_args()
    return asyncio.run(main_async(args.updates, args.rounds, args.against))


if __name__ == "__main__":
    raise SystemExit(main())
