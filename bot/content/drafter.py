"""The complaint drafter's content (`drafter_<lang>.yaml`): read with lines, checked across
languages.

The file is optional: a deployment without it simply offers no drafter. Once one language has
it, every language must (the same steps, options and channels, by id and in the same order), so
a button pressed in one language means the same in another and the authorities' Spanish copy
can be built from the Spanish file.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot import limits
from bot.content.loader import _closest, _items, _parse_date, _read, _read_review, _Reader
from bot.content.model import Content, DraftChannel, Drafter, DraftOption, DraftStep
from bot.content.problems import Report
from bot.content.yamlsource import LineDict

KINDS = ("choose", "choose_many", "write", "date")
DATE_OPTIONS = ("today", "yesterday")
ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
TEXT_MAX = 3000  # a typed answer ("what happened"): the whole complaint must fit one message
KEYS = (
    "source",
    "reviewed",
    "button",
    "topics",
    "typed_start",
    "intro",
    "months",
    "date",
    "conjunction",
    "letter",
    "channels_intro",
    "channels",
    "done",
    "steps",
)
LETTER_KEYS = ("title", "opening", "signature", "authorities_copy", "typed_note")


def read_drafter(report: Report, path: Path, review_required: bool = False) -> Drafter | None:
    """The drafter of one language, or None when the file is unusable. `review_required`: the
    language's texts need a native speaker's check (`review:` as in FAQ entries)."""
    root = _read(report, path)
    if root is None:
        return None
    r = _Reader(report, path, root, "drafter")
    r.check_keys(KEYS, ("review",))
    review = _read_review(r, review_required)
    start = root.get("typed_start")
    verbs: tuple[str, ...] = ()
    nouns: tuple[str, ...] = ()
    if isinstance(start, LineDict):
        s = _Reader(report, path, start, "typed_start")
        s.check_keys(("verbs", "nouns"))
        verbs, nouns = s.texts("verbs", min_items=1), s.texts("nouns", min_items=1)
    elif start is not None:
        r.error("typed_start", "'typed_start' must have 'verbs' and 'nouns' lists")
    letter = root.get("letter")
    words = dict.fromkeys(LETTER_KEYS, "")
    if isinstance(letter, LineDict):
        lr = _Reader(report, path, letter, "letter")
        lr.check_keys(LETTER_KEYS)
        words = {key: lr.text(key, max_len=400) for key in LETTER_KEYS}
    elif letter is not None:
        r.error("letter", f"'letter' must be a block with: {', '.join(LETTER_KEYS)}")
    months = r.texts("months")
    if months and len(months) != 12:
        r.error("months", f"'months' lists {len(months)} names; a year has 12")
    date_format = r.text("date")
    if date_format and not all(f"{{{k}}}" in date_format for k in ("day", "month", "year")):
        r.error("date", "'date' must contain {day}, {month} and {year}")
    steps = tuple(_read_step(sr) for sr, _ in _items(report, path, root, "steps", "step"))
    readers = [cr for cr, _ in _items(report, path, root, "channels", "channel")]
    channels = tuple(_read_channel(cr) for cr in readers)
    _check_ids(r, "steps", [s.id for s in steps])
    _check_ids(r, "channels", [c.id for c in channels])
    answers = {f"{s.id}.{o.id}" for s in steps for o in s.options}
    answers |= {f"{s.id}.{extra}" for s in steps for extra in ("skipped", "typed")}
    for cr, channel in zip(readers, channels, strict=True):
        for ref in channel.when:
            if ref not in answers:
                hint = _closest(ref, tuple(sorted(answers)))
                cr.error("when", f"{cr.what}: '{ref}' is no step's answer{hint}")
    reviewed = _parse_date(r, "reviewed")
    return Drafter(
        button=r.text("button", max_len=limits.TITLE_MAX),
        topics=r.texts("topics", min_items=1),
        verbs=tuple(v.lower() for v in verbs),
        nouns=tuple(n.lower() for n in nouns),
        intro=r.text("intro", max_len=limits.PROMPT_MAX),
        months=months,
        date_format=date_format,
        conjunction=r.text("conjunction"),
        title=words["title"],
        opening=words["opening"],
        signature=words["signature"],
        typed_note=words["typed_note"],
        authorities_copy=words["authorities_copy"],
        channels_intro=r.text("channels_intro"),
        channels=channels,
        done=r.text("done", max_len=limits.PROMPT_MAX),
        steps=steps,
        source=r.texts("source", min_items=1),
        reviewed=reviewed,
        draft=review is not None and review.draft,
    )


def _read_step(r: _Reader) -> DraftStep:
    r.check_keys(("id", "kind", "prompt", "sentence"), ("options", "max_chars", "time_prompt"))
    kind = r.text("kind")
    if kind and kind not in KINDS:
        r.error(
            "kind",
            f"{r.what}: unknown kind '{kind}'{_closest(kind, KINDS)}; one of: {', '.join(KINDS)}",
        )
    sentence = r.text("sentence")
    if sentence and "{answer}" not in sentence:
        r.error("sentence", f"{r.what}: 'sentence' must contain {{answer}}, where the answer goes")
    options = []
    for index, raw in enumerate(r.data.get("options") or []):
        if not isinstance(raw, LineDict):
            r.error("options", f"{r.what}: option #{index + 1} must have id, label and text")
            continue
        o = _Reader(r.report, r.path, raw, f"{r.what}, option '{raw.get('id', index + 1)}'")
        o.check_keys(("id", "label", "text"))
        options.append(
            DraftOption(
                o.text("id"), o.text("label", max_len=limits.TITLE_MAX), o.text("text", max_len=200)
            )
        )
    if kind in ("choose", "choose_many") and not options:
        r.error("options", f"{r.what}: a '{kind}' step needs options")
    if len(options) > limits.MAX_OPTIONS:
        r.error("options", f"{r.what}: {len(options)} options; at most {limits.MAX_OPTIONS}")
    if kind == "date" and tuple(o.id for o in options) != DATE_OPTIONS:
        r.error("options", f"{r.what}: a 'date' step has the options {', '.join(DATE_OPTIONS)}")
    _check_ids(r, "options", [o.id for o in options])
    max_chars = int(r.number("max_chars", 20, TEXT_MAX)) if "max_chars" in r.data else 300
    time_prompt = r.text("time_prompt", max_len=limits.PROMPT_MAX, required=False)
    if time_prompt and kind != "date":
        r.error("time_prompt", f"{r.what}: only a 'date' step asks for the time")
    return DraftStep(
        id=r.text("id"),
        kind=kind,
        prompt=r.text("prompt", max_len=limits.PROMPT_MAX),
        sentence=sentence,
        options=tuple(options),
        max_chars=max_chars,
        time_prompt=time_prompt,
    )


def _read_channel(r: _Reader) -> DraftChannel:
    r.check_keys(("id", "when", "text", "source"))
    return DraftChannel(
        id=r.text("id"),
        when=r.texts("when", min_items=1),
        text=r.text("text", max_len=600),
        source=r.texts("source", min_items=1),
    )


def _check_ids(r: _Reader, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for found in ids:
        if found and not ID.match(found):
            r.error(key, f"{r.what}: id '{found}' must be short lowercase letters, digits or _")
        if found in seen:
            r.error(key, f"{r.what}: id '{found}' appears twice")
        seen.add(found)


def shape(drafter: Drafter) -> tuple[object, ...]:
    """What must be the same in every language: steps, their kinds and options, channels and
    when they apply, and the answers that offer the drafter."""
    return (
        tuple(
            (s.id, s.kind, tuple(o.id for o in s.options), bool(s.time_prompt))
            for s in drafter.steps
        ),
        tuple((c.id, c.when) for c in drafter.channels),
        drafter.topics,
    )


def check_drafters(content: Content, directory: Path, report: Report) -> None:
    """Every language has the drafter once one has it, with the same shape; its topics exist."""
    having = {code: lang.drafter for code, lang in content.languages.items() if lang.drafter}
    for code, lang in content.languages.items():
        path = directory / f"drafter_{code}.yaml"
        uses = any(
            option.action == "write_complaint"
            for tree in lang.trees.values()
            for node in tree.nodes.values()
            for option in node.options
        )
        if lang.drafter is None:
            if having or uses:
                report.error(
                    path,
                    1,
                    f"{path.name} is missing: "
                    + (
                        f"drafter_{next(iter(having))}.yaml exists, and every language needs one"
                        if having
                        else f"trees_{code}.yaml has a 'write_complaint' option"
                    ),
                )
            continue
        for topic in lang.drafter.topics:
            if topic not in lang.entries:
                report.error(path, 1, f"drafter: topic '{topic}' has no entry in faq_{code}.yaml")
    if not having:
        return
    first, reference = next(iter(having.items()))
    for code, drafter in having.items():
        if code != first and shape(drafter) != shape(reference):
            report.error(
                directory / f"drafter_{code}.yaml",
                1,
                f"the drafter's steps, options, channels or topics differ from drafter_{first}.yaml "
                "(ids, kinds and order must be the same in every language)",
            )
