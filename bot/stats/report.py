"""Summaries of the usage counts, shared by `orienta stats`, Telegram's /stats and the admin page."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.stats.store import Row

GROUPINGS = ("topic", "day", "language", "channel", "event")


@dataclass(frozen=True)
class Summary:
    """Usage over a period: totals, shares, and counts by topic, language, channel, day and event."""

    since: date
    until: date
    messages: int
    answered: int
    unanswered: int
    helpful_yes: int
    helpful_no: int
    top_topics: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    channels: tuple[tuple[str, int], ...]
    daily_messages: tuple[tuple[str, int], ...] = field(default=())
    events: tuple[tuple[str, int], ...] = field(default=())

    @property
    def unanswered_share(self) -> float | None:
        return self.unanswered / self.messages if self.messages else None

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful_yes + self.helpful_no
        return self.helpful_yes / votes if votes else None


def summarize(rows: Iterable[Row], since: date, until: date, top: int = 10) -> Summary:
    """The summary of `rows` between `since` and `until` (inclusive); `top` topics at most."""
    events: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    daily: Counter[str] = Counter()
    for row in rows:
        if not since.isoformat() <= row.day <= until.isoformat():
            continue
        events[row.event] += row.count
        if row.event == "answered" and row.topic:
            topics[row.topic] += row.count
        if row.event == "message":
            languages[row.language] += row.count
            channels[row.channel] += row.count
            daily[row.day] += row.count
    days = [(since + timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]
    return Summary(
        since=since,
        until=until,
        messages=events["message"],
        answered=events["answered"],
        unanswered=events["unanswered"],
        helpful_yes=events["feedback_yes"],
        helpful_no=events["feedback_no"],
        top_topics=tuple(topics.most_common(top)),
        languages=tuple(languages.most_common()),
        channels=tuple(channels.most_common()),
        daily_messages=tuple((day, daily[day]) for day in days),
        events=tuple(sorted(events.items())),
    )


def group(rows: Iterable[Row], by: str) -> list[tuple[str, int]]:
    """Total counts per value of one key. By topic it counts answers given (the `answered`
    event); by any other key it counts every event."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(GROUPINGS)}")
    totals: Counter[str] = Counter()
    for row in rows:
        if by == "topic" and (row.event != "answered" or not row.topic):
            continue
        totals[getattr(row, by)] += row.count
    if by == "day":
        return sorted(totals.items())
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def last_days(today: date, days: int) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today


def text_summary(
    summaries: Sequence[tuple[str, Summary]], translate: Callable[[str], str] = str
) -> str:
    """Plain text for Telegram's /stats: one block per period."""
    _ = translate
    blocks = []
    for label, s in summaries:
        lines = [
            f"📊 {label} ({s.since.isoformat()} – {s.until.isoformat()})",
            _("Messages: {n}").format(n=s.messages),
            _("Unanswered: {n} ({share})").format(
                n=s.unanswered, share=percent(s.unanswered_share)
            ),
            _("Helpful: {yes} yes / {no} no ({share})").format(
                yes=s.helpful_yes, no=s.helpful_no, share=percent(s.helpful_share)
            ),
            _("Languages:") + " " + (", ".join(f"{k} {v}" for k, v in s.languages) or "–"),
            _("Channels:") + " " + (", ".join(f"{k} {v}" for k, v in s.channels) or "–"),
            _("Top topics:"),
            *(
                [f"  {n}. {topic}: {count}" for n, (topic, count) in enumerate(s.top_topics[:5], 1)]
                or ["  –"]
            ),
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def rows_csv(rows: list[Row]) -> str:
    """The rows as CSV (`day,channel,language,event,topic,count`), one line per stored row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "channel", "language", "event", "topic", "count"])
    for row in rows:
        writer.writerow([row.day, row.channel, row.language, row.event, row.topic, row.count])
    return out.getvalue()
