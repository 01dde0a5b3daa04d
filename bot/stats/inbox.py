"""Turning inbox questions into content, for staff: shared by the admin page and `orienta inbox`.

A question becomes a phrasing of a topic (the YAML line to paste under that entry's `questions:`
in `faq_<lang>.yaml`, and where), or an out-of-scope example (appended to
`out_of_scope_<lang>.yaml`, which a running bot reloads by itself). Both files are what staff
already edit; `orienta content check` then says whether the phrasing lands on its topic.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from bot.stats.store import InboxItem

QUESTION_INDENT = " " * 6  # the `questions:` items of an entry in faq_<lang>.yaml
EXAMPLE_INDENT = " " * 2  # the `examples:` items of out_of_scope_<lang>.yaml


def yaml_item(text: str, indent: str) -> str:
    """A YAML list item holding `text` exactly (a JSON string is a YAML double-quoted scalar)."""
    return f"{indent}- {json.dumps(' '.join(text.split()), ensure_ascii=False)}"


@dataclass(frozen=True)
class Paste:
    """Where a phrasing goes: the file, the line after which to paste, and the line itself."""

    path: Path
    after_line: int  # the entry's `questions:` line (0 when the topic was not found)
    line: str
    topic: str


def phrasing(content_dir: Path, lang: str, topic: str, text: str) -> Paste:
    """The YAML line that adds `text` as a phrasing of `topic`, and where to paste it."""
    path = Path(content_dir) / f"faq_{lang}.yaml"
    after = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    indent = QUESTION_INDENT
    entry = re.compile(rf"^\s*-\s+id:\s*{re.escape(topic)}\s*$")
    for number, line in enumerate(lines, 1):
        if entry.match(line):
            for later, following in enumerate(lines[number:], number + 1):
                if following.strip() == "questions:":
                    after = later
                    indent = _item_indent(lines[later : later + 1], following)
                    break
                if re.match(r"^\s*-\s+id:", following):
                    break
            break
    return Paste(path, after, yaml_item(text, indent), topic)


def _item_indent(items: list[str], parent: str) -> str:
    """The indentation of a list's items: as the first one has it, else the parent's + 2."""
    for line in items:
        found = re.match(r"^(\s*)- ", line)
        if found:
            return found.group(1)
    return " " * (len(parent) - len(parent.lstrip()) + 2)


def add_out_of_scope(content_dir: Path, lang: str, text: str) -> tuple[Path, int]:
    """Append `text` to `out_of_scope_<lang>.yaml`'s examples; the file and the new line's
    number. Raises OSError when the file cannot be written (the page then shows the line)."""
    path = Path(content_dir) / f"out_of_scope_{lang}.yaml"
    current = path.read_text(encoding="utf-8")
    items = [line for line in current.splitlines() if re.match(r"^\s*- ", line)]
    indent = _item_indent(items[-1:], "examples:") if items else EXAMPLE_INDENT
    if not current.endswith("\n"):
        current += "\n"
    current += yaml_item(text, indent) + "\n"
    path.write_text(current, encoding="utf-8")
    return path, current.count("\n")


def export_yaml(items: Iterable[InboxItem]) -> str:
    """Ready-to-paste YAML blocks: per language and guessed topic, the file and the lines."""
    out = [
        "# Questions people sent to the team, scrubbed (placeholders in brackets stand for what",
        "# was taken out). Paste each block under `questions:` of the topic in the file named, or",
        "# into out_of_scope_<lang>.yaml if no topic fits; then run `orienta content check`.",
    ]
    ordered = sorted(items, key=lambda i: (i.language, i.guesses[:1], i.text))
    for (lang, guess), group in groupby(ordered, key=lambda i: (i.language, i.guesses[:1])):
        out.append("")
        if guess:
            out.append(f"# content/faq_{lang}.yaml, topic {guess[0]}, under `questions:`")
        else:
            out.append(
                f"# no topic guessed: under the right topic's `questions:` in content/faq_{lang}.yaml,"
                f" or in content/out_of_scope_{lang}.yaml"
            )
        out.extend(yaml_item(item.text, QUESTION_INDENT) for item in group)
    return "\n".join(out) + "\n"


def export_csv(items: Iterable[InboxItem]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "day", "channel", "language", "guesses", "text"])
    for item in items:
        writer.writerow(
            [item.id, item.day, item.channel, item.language, " ".join(item.guesses), item.text]
        )
    return buffer.getvalue()
