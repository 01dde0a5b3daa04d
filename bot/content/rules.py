"""Rules that span files: languages cover the same topics, references resolve, payloads fit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot import limits
from bot.content.model import Content, Tree
from bot.content.problems import Report


def check_content(
    content: Content,
    directory: Path,
    report: Report,
    entry_lines: dict[str, dict[str, int]],
    tree_lines: dict[str, dict[str, int]],
    menu_lines: dict[str, int],
    today: date,
) -> None:
    """Rules that span files: every language covers the same topics, references resolve, the
    same guided path has the same shape in every language, dates and limits hold."""
    codes = list(content.languages)

    def faq(code: str) -> Path:
        return directory / f"faq_{code}.yaml"

    def trees(code: str) -> Path:
        return directory / f"trees_{code}.yaml"

    # Every language covers the catalog and the same topics as every other language.
    all_topics = set().union(*(lang.entries for lang in content.languages.values()))
    all_trees = set().union(*(lang.trees for lang in content.languages.values()))
    for code, lang in content.languages.items():
        for topic in sorted(t for t in content.catalog if not t.startswith("tree.")):
            if topic not in lang.entries:
                report.error(faq(code), 1, f"catalog topic '{topic}' has no entry in this language")
        for tree_id in sorted(t for t in content.catalog if t.startswith("tree.")):
            if tree_id not in lang.trees:
                report.error(
                    trees(code), 1, f"catalog guided path '{tree_id}' is missing in this language"
                )
        for topic in sorted(all_topics - set(lang.entries)):
            others = [c for c in codes if topic in content.languages[c].entries]
            for other in others:
                report.error(
                    faq(other),
                    entry_lines[other][topic],
                    f"topic '{topic}' is in faq_{other}.yaml but missing from faq_{code}.yaml",
                )
        for tree_id in sorted(all_trees - set(lang.trees)):
            for other in (c for c in codes if tree_id in content.languages[c].trees):
                report.error(
                    trees(other),
                    tree_lines[other][tree_id],
                    f"guided path '{tree_id}' is in trees_{other}.yaml but missing from trees_{code}.yaml",
                )

    for code, lang in content.languages.items():
        lines = entry_lines[code]
        for entry in lang.entries.values():
            line = lines[entry.id]
            for ref in entry.related:
                if ref not in lang.entries:
                    report.error(
                        faq(code), line, f"{entry.id}: related topic '{ref}' does not exist"
                    )
                if ref == entry.id:
                    report.error(
                        faq(code), line, f"{entry.id}: an entry cannot be related to itself"
                    )
            if entry.reviewed > today:
                report.error(
                    faq(code), line, f"{entry.id}: reviewed date {entry.reviewed} is in the future"
                )
            elif (
                entry.reviewed != date.min
                and (today - entry.reviewed).days > limits.REVIEW_MAX_AGE_DAYS
            ):
                report.warning(
                    faq(code),
                    line,
                    f"{entry.id}: last reviewed {entry.reviewed}, more than 12 months ago; check the facts",
                )
        for tree in lang.trees.values():
            _check_tree_refs(
                report, trees(code), tree_lines[code][tree.id], tree, set(lang.entries)
            )
        for item in lang.menu:
            if item.target not in lang.entries and item.target not in lang.trees:
                report.error(
                    trees(code),
                    menu_lines[code],
                    f"menu item '{item.target}' is neither a topic nor a guided path",
                )

    # The same guided path must have the same shape in every language, so switching language
    # mid-path lands on the same step.
    base = content.languages[content.default_language]
    for code, lang in content.languages.items():
        for tree_id, tree in lang.trees.items():
            reference = base.trees.get(tree_id)
            if reference is None or code == base.code:
                continue
            if _shape(tree) != _shape(reference):
                report.error(
                    trees(code),
                    tree_lines[code][tree_id],
                    f"guided path '{tree_id}' has different nodes or options than in trees_{base.code}.yaml",
                )
        if [m.target for m in lang.menu] != [m.target for m in base.menu] and code != base.code:
            report.error(
                trees(code), menu_lines[code], f"the menu differs from trees_{base.code}.yaml"
            )


def _check_tree_refs(report: Report, path: Path, line: int, tree: Tree, topics: set[str]) -> None:
    for node in tree.nodes.values():
        for option in node.options:
            for topic in option.topics:
                if topic not in topics:
                    report.error(
                        path,
                        line,
                        f"{tree.id}/{node.id}: option '{option.label}' names unknown topic '{topic}'",
                    )


def _shape(tree: Tree) -> object:
    return (
        tree.start,
        sorted(
            (node.id, [(o.next, o.topics, o.action) for o in node.options])
            for node in tree.nodes.values()
        ),
    )


def check_readability(
    content: Content, directory: Path, report: Report, entry_lines: dict[str, dict[str, int]]
) -> None:
    """A warning for every answer that reads harder than its language's floor."""
    from bot.content import readability

    if not readability.available():
        report.warning(
            directory, 1, "readability not checked: install the dev extras (make) for textstat"
        )
        return
    for code, lang in content.languages.items():
        floor = readability.FLOORS.get(code)
        for entry in lang.entries.values():
            where = directory / f"faq_{code}.yaml", entry_lines.get(code, {}).get(entry.id, 1)
            if floor is None:  # no formula for this language: the length of its sentences
                words = readability.sentence_words(entry.answer)
                if words > readability.SENTENCE_WORDS_MAX:
                    report.warning(
                        *where,
                        f"entry '{entry.id}': the answer's sentences are long ({words:.0f} words "
                        f"on average, at most {readability.SENTENCE_WORDS_MAX:.0f} wanted): "
                        "shorter sentences, one idea per line",
                    )
                continue
            value = readability.score(entry.answer, code)
            if value is None or value >= floor:
                continue
            report.warning(
                *where,
                f"entry '{entry.id}': the answer reads hard ({readability.MEASURES[code]} "
                f"{value:.0f}, at least {floor:.0f} wanted): shorter sentences, common words, "
                "one idea per line",
            )
