"""Read the content directory into immutable objects, collecting every problem with its line.

Layout of a content directory (a language is its files, listed in languages.yaml):

    languages.yaml            the languages served and the default one
    topics.yaml               the topic catalog every language must cover
    faq_<lang>.yaml           language block, safety block, FAQ entries
    trees_<lang>.yaml         main menu and guided paths
    out_of_scope_<lang>.yaml  messages that are none of the topics (the matcher learns "none")
    danger_<lang>.yaml        messages of people in danger now, and near misses
    drafter_<lang>.yaml       the complaint drafter's steps, wording and channels (optional)
    places.yaml               places that help, by kind: Grupos Beta, COMAR, shelters, reception
                              centres, consulates (language-neutral; grupos_beta.yaml before)
    operator.yaml             who runs this deployment (shown under /about)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import snowballstemmer
from rapidfuzz import process

from bot import limits
from bot.content.model import (
    Content,
    Entry,
    Language,
    MenuItem,
    Node,
    Operator,
    Option,
    Place,
    Review,
    Roles,
    Safety,
    Tree,
    frozen_map,
)
from bot.content.problems import ContentError, Report
from bot.content.yamlsource import LineDict, LineList, YamlError, read_yaml

TOPIC_ID = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
NODE_ID = re.compile(r"^[a-z0-9_]{1,20}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
ACTIONS = ("share_location", "choose_state", "write_complaint")
CONFIDENCE = ("high", "medium", "undated")

ENTRY_KEYS = ("id", "title", "answer", "questions", "keywords", "related", "source", "reviewed")
ENTRY_OPTIONAL = ("review",)  # required in the languages languages.yaml lists under native_review
LANGUAGE_KEYS = ("code", "name", "stemmer", "abbreviations", "stopwords", "greetings", "thanks")
LANGUAGE_OPTIONAL = ("phonetic", "commands", "names")
TYPED_COMMANDS = ("start", "menu", "help", "language", "about", "privacy")
PLACE_KEYS = ("id", "name", "state", "city", "lat", "lon", "confidence", "evidence_date", "source")
PLACE_OPTIONAL = ("coords_are", "source_note", "kind", "address", "operator", "country")
PLACE_KINDS = ("grupo_beta", "comar", "shelter", "reception", "consulate", "inm")
EVIDENCE_MAX_AGE_DAYS = (
    2 * 365
)  # older evidence is warned about: the place may have moved or closed


class _Reader:
    """Typed access to one YAML mapping that reports problems instead of raising."""

    def __init__(self, report: Report, path: Path, data: LineDict, what: str) -> None:
        self.report, self.path, self.data, self.what = report, path, data, what

    def line(self, key: str | None = None) -> int:
        return self.data.line_of(key) if key else self.data.line

    def error(self, key: str | None, message: str) -> None:
        self.report.error(self.path, self.line(key), message)

    def check_keys(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        for key in self.data:
            if key not in required and key not in optional:
                hint = _closest(key, required + optional)
                self.error(key, f"{self.what}: unknown field '{key}'{hint}")
        for key in required:
            if key not in self.data:
                self.error(None, f"{self.what}: missing field '{key}'")

    def text(self, key: str, max_len: int | None = None, required: bool = True) -> str:
        value = self.data.get(key)
        if value is None:
            return ""  # reported by check_keys when required
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(key, f"{self.what}: '{key}' must be non-empty text")
            return ""
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            self.error(
                key, f"{self.what}: '{key}' is {len(value)} characters, the limit is {max_len}"
            )
        return value

    def texts(self, key: str, min_items: int = 0) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, LineList) or not all(isinstance(v, str) for v in value):
            self.error(key, f"{self.what}: '{key}' must be a list of texts")
            return ()
        items = tuple(v.strip() for v in value if v.strip())
        if len(items) < min_items:
            self.error(
                key, f"{self.what}: '{key}' has {len(items)} items, at least {min_items} needed"
            )
        return items

    def number(self, key: str, low: float, high: float) -> float:
        raw = self.data.get(key)
        if raw is None:
            return 0.0
        try:
            value = float(str(raw))
        except ValueError:
            self.error(key, f"{self.what}: '{key}' = '{raw}' must be a number, like 32.53")
            return 0.0
        if not low <= value <= high:
            self.error(key, f"{self.what}: '{key}' = {value} is outside {low}..{high}")
        return float(value)


def _closest(word: str, choices: tuple[str, ...]) -> str:
    found = process.extractOne(word, choices, score_cutoff=70)
    return f" (did you mean '{found[0]}'?)" if found else ""


def _mapping(report: Report, path: Path, data: Any, what: str) -> LineDict | None:
    if isinstance(data, LineDict):
        return data
    line = getattr(data, "line", 1) or 1
    report.error(path, line, f"{what} must be a mapping of 'key: value' lines")
    return None


def _read(report: Report, path: Path) -> LineDict | None:
    try:
        data, duplicates = read_yaml(path)
    except YamlError as exc:
        report.error(exc.path, exc.line, exc.message)
        return None
    except OSError as exc:
        report.error(path, 1, f"cannot read file: {exc.strerror}")
        return None
    for line, key in duplicates:
        report.error(path, line, f"key '{key}' appears twice in the same block")
    if data is None:
        report.error(path, 1, "the file is empty")
        return None
    return _mapping(report, path, data, "the file")


def _items(
    report: Report, path: Path, root: LineDict, key: str, what: str
) -> list[tuple[_Reader, int]]:
    """The mappings of a top-level list, each wrapped in a reader."""
    value = root.get(key)
    if not isinstance(value, LineList):
        report.error(path, root.line_of(key), f"'{key}' must be a list")
        return []
    out = []
    for index, item in enumerate(value):
        mapping = _mapping(report, path, item, f"{what} #{index + 1}")
        if mapping is not None:
            label = f"{what} '{mapping.get('id', index + 1)}'"
            out.append((_Reader(report, path, mapping, label), index))
    return out


def _parse_date(reader: _Reader, key: str) -> date:
    raw = reader.data.get(key)
    if raw is None:
        return date.min
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        reader.error(key, f"{reader.what}: '{key}' = '{raw}' is not a valid date (use YYYY-MM-DD)")
        return date.min


def _read_language(report: Report, path: Path, root: LineDict, code: str) -> dict[str, Any]:
    block = (
        _mapping(report, path, root.get("language"), "'language'") if "language" in root else None
    )
    if block is None:
        report.error(path, 1, "missing the 'language' block (code, name, stemmer, ...)")
        return {"code": code, "name": code, "stemmer": "english", "phonetic": ()}
    r = _Reader(report, path, block, "language")
    r.check_keys(LANGUAGE_KEYS, LANGUAGE_OPTIONAL)
    if block.get("code") != code:
        r.error(
            "code", f"language code '{block.get('code')}' does not match the file name ({code})"
        )
    stemmer = r.text("stemmer")
    if stemmer == "none":  # a language Snowball does not cover (Haitian Creole): words stay whole
        stemmer = ""
    elif stemmer and stemmer not in snowballstemmer.algorithms():
        r.error(
            "stemmer",
            f"unknown stemmer '{stemmer}'; 'none' or one of: {', '.join(snowballstemmer.algorithms())}",
        )
        stemmer = "english"
    abbreviations = block.get("abbreviations") or {}
    if not isinstance(abbreviations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in abbreviations.items()
    ):
        r.error("abbreviations", "'abbreviations' must map short forms to words, e.g. 'xq: porque'")
        abbreviations = {}
    phonetic = block.get("phonetic") or []
    if not isinstance(phonetic, list) or not all(
        isinstance(rule, list) and len(rule) == 2 and all(isinstance(x, str) for x in rule)
        for rule in phonetic
    ):
        r.error("phonetic", "'phonetic' must be a list of [from, to] pairs, e.g. [[z, s], [v, b]]")
        phonetic = []
    commands: dict[str, tuple[str, ...]] = {}
    raw_commands = block.get("commands") or {}
    if not isinstance(raw_commands, dict):
        r.error(
            "commands",
            "'commands' must map a command to the words that call it, e.g. 'menu: [menu, inicio]'",
        )
        raw_commands = {}
    for name, words in raw_commands.items():
        if name not in TYPED_COMMANDS:
            r.error(
                "commands",
                f"unknown command '{name}'{_closest(str(name), TYPED_COMMANDS)}; one of: {', '.join(TYPED_COMMANDS)}",
            )
        elif not isinstance(words, list) or not all(
            isinstance(w, str) and w.strip() for w in words
        ):
            r.error("commands", f"command '{name}': give a list of words, e.g. [menu, inicio]")
        else:
            commands[name] = tuple(w.strip().lower() for w in words)
    return {
        "commands": commands,
        "names": tuple(n.lower() for n in r.texts("names")),
        "code": code,
        "phonetic": tuple((a.lower(), b.lower()) for a, b in phonetic),
        "name": r.text("name", max_len=20),
        "stemmer": stemmer if "stemmer" in block else "english",
        "abbreviations": {k.lower(): v.lower() for k, v in abbreviations.items()},
        "stopwords": frozenset(w.lower() for w in r.texts("stopwords")),
        "greetings": r.texts("greetings"),
        "thanks": r.texts("thanks"),
    }


def _read_safety(report: Report, path: Path, root: LineDict) -> Safety:
    block = _mapping(report, path, root.get("safety"), "'safety'") if "safety" in root else None
    if block is None:
        report.error(path, 1, "missing the 'safety' block (triggers, message)")
        return Safety((), "")
    r = _Reader(report, path, block, "safety")
    r.check_keys(("triggers", "message"), ("help_calls",))
    return Safety(
        r.texts("triggers", min_items=1),
        r.text("message", max_len=1024),
        help_calls=r.texts("help_calls"),
    )


Locations = dict[tuple[str, str, str], tuple[Path, int]]
# A check a layer above content runs on the loaded content: (content, directory, report).
Check = Callable[[Content, Path, Report], None]


def _read_review(r: _Reader, required: bool) -> Review | None:
    """`review: draft`, or `review: {reviewed_by: <name>, date: YYYY-MM-DD}` once a native
    speaker has checked the entry."""
    raw = r.data.get("review")
    if raw is None:
        if required:
            r.error(
                None,
                f"{r.what}: missing field 'review' (this language's entries need a native "
                "speaker's check: 'review: draft' until then)",
            )
            return Review()
        return None
    if isinstance(raw, str) and raw.strip().lower() == "draft":
        return Review()
    if isinstance(raw, LineDict):
        review = _Reader(r.report, r.path, raw, f"{r.what}, review")
        review.check_keys(("reviewed_by", "date"))
        by = review.text("reviewed_by")
        on = _parse_date(review, "date")
        return Review(by, on if on != date.min else None) if by else Review()
    r.error(
        "review",
        f"{r.what}: 'review' must be 'draft' or a native speaker's check, like "
        "'review: {reviewed_by: Marie Joseph, date: 2026-12-01}'",
    )
    return Review()


def _read_entries(
    report: Report,
    path: Path,
    root: LineDict,
    code: str = "",
    locations: Locations | None = None,
    review_required: bool = False,
) -> dict[str, tuple[Entry, int]]:
    entries: dict[str, tuple[Entry, int]] = {}
    for r, _ in _items(report, path, root, "entries", "entry"):
        r.check_keys(ENTRY_KEYS, ENTRY_OPTIONAL)
        topic = r.text("id")
        if topic and not TOPIC_ID.match(topic):
            r.error("id", f"'{topic}' is not a topic id (like 'complaint.bribe')")
        if topic.startswith("tree."):
            r.error(
                "id",
                f"'{topic}' is a guided path; define it in the trees file, not as an FAQ entry",
            )
        if topic in entries:
            r.error("id", f"topic '{topic}' is defined twice (first at line {entries[topic][1]})")
            continue
        sources = r.texts("source", min_items=1)
        for source in sources:
            # A source is a web address, or (for entries about Orienta itself) a plain name.
            if "://" in source and not source.startswith(("https://", "http://")):
                r.error("source", f"{r.what}: source '{source}' is not a valid web address")
        entry = Entry(
            id=topic,
            title=r.text("title", max_len=limits.TITLE_MAX),
            answer=r.text("answer", max_len=limits.ANSWER_MAX),
            questions=r.texts("questions", min_items=limits.MIN_QUESTIONS),
            keywords=r.texts("keywords", min_items=1),
            related=r.texts("related"),
            source=sources,
            reviewed=_parse_date(r, "reviewed"),
            review=_read_review(r, review_required),
        )
        if topic:
            entries[topic] = (entry, r.line())
            questions = r.data.get("questions")
            if locations is not None and isinstance(questions, LineList):
                for index, question in enumerate(questions):
                    if isinstance(question, str):
                        locations[(code, topic, question.strip())] = (
                            path,
                            questions.line_of(index),
                        )
    return entries


def _read_option(r: _Reader) -> Option:
    r.check_keys(("label",), ("next", "topics", "action"))
    targets = [k for k in ("next", "topics", "action") if k in r.data]
    if len(targets) != 1:
        r.error(None, f"{r.what}: give exactly one of 'next', 'topics' or 'action'")
    action = r.data.get("action")
    if action is not None and action not in ACTIONS:
        r.error("action", f"{r.what}: unknown action '{action}'; one of: {', '.join(ACTIONS)}")
    return Option(
        label=r.text("label", max_len=limits.TITLE_MAX),
        next=r.text("next") if "next" in r.data else None,
        topics=r.texts("topics", min_items=1) if "topics" in r.data else (),
        action=action if action in ACTIONS else None,
    )


def _read_tree(report: Report, path: Path, r: _Reader) -> Tree:
    r.check_keys(("id", "title", "start", "nodes"))
    tree_id = r.text("id")
    if tree_id and not tree_id.startswith("tree."):
        r.error("id", f"guided path id '{tree_id}' must start with 'tree.'")
    nodes: dict[str, Node] = {}
    node_lines: dict[str, int] = {}
    for nr, _ in _items(report, path, r.data, "nodes", f"{tree_id} node"):
        nr.check_keys(("id", "prompt", "options"))
        node_id = nr.text("id")
        if node_id and not NODE_ID.match(node_id):
            nr.error("id", f"node id '{node_id}' must be 1-20 characters of a-z, 0-9 and _")
        if node_id in nodes:
            nr.error("id", f"node '{node_id}' is defined twice in {tree_id}")
            continue
        raw_options = nr.data.get("options")
        options: list[Option] = []
        if isinstance(raw_options, LineList):
            if not 1 <= len(raw_options) <= limits.MAX_OPTIONS:
                nr.error(
                    "options",
                    f"node '{node_id}' has {len(raw_options)} options; 1 to {limits.MAX_OPTIONS} allowed",
                )
            for index, raw in enumerate(raw_options):
                mapping = _mapping(report, path, raw, f"option #{index + 1}")
                if mapping is not None:
                    options.append(
                        _read_option(
                            _Reader(
                                report, path, mapping, f"{tree_id}/{node_id} option #{index + 1}"
                            )
                        )
                    )
        else:
            nr.error("options", f"node '{node_id}': 'options' must be a list")
        nodes[node_id] = Node(node_id, nr.text("prompt", max_len=limits.PROMPT_MAX), tuple(options))
        node_lines[node_id] = nr.line()
    start = r.text("start")
    if start and start not in nodes:
        r.error("start", f"{tree_id}: start node '{start}' does not exist")
    for node in nodes.values():
        for option in node.options:
            if option.next is not None and option.next not in nodes:
                report.error(
                    path,
                    node_lines[node.id],
                    f"{tree_id}/{node.id}: option '{option.label}' leads to unknown node '{option.next}'",
                )
    parents = _check_graph(report, path, tree_id, start, nodes, node_lines)
    return Tree(
        tree_id,
        r.text("title", max_len=limits.TITLE_MAX),
        start,
        frozen_map(nodes),
        frozen_map(parents),
    )


def _check_graph(
    report: Report,
    path: Path,
    tree_id: str,
    start: str,
    nodes: dict[str, Node],
    lines: dict[str, int],
) -> dict[str, str]:
    """Report cycles and unreachable nodes; return each node's first parent (breadth-first)."""
    if start not in nodes:
        return {}
    parents: dict[str, str] = {}
    order = [start]
    for node_id in order:
        for option in nodes[node_id].options:
            child = option.next
            if child in nodes and child != start and child not in parents:
                parents[child] = node_id
                order.append(child)
    for node_id in nodes:
        if node_id not in order:
            report.error(
                path,
                lines[node_id],
                f"{tree_id}: node '{node_id}' cannot be reached from '{start}'",
            )
    # A cycle would trap users going round in circles; look for a back edge.
    state: dict[str, int] = {}

    def visit(node_id: str, trail: list[str]) -> None:
        state[node_id] = 1
        for option in nodes[node_id].options:
            child = option.next
            if child not in nodes:
                continue
            if state.get(child) == 1:
                loop = (
                    " -> ".join([*trail[trail.index(child) :], node_id, child])
                    if child in trail
                    else child
                )
                report.error(
                    path, lines[node_id], f"{tree_id}: the path goes round in a circle: {loop}"
                )
            elif child not in state:
                visit(child, [*trail, node_id])
        state[node_id] = 2

    visit(start, [])
    return parents


def _read_trees(
    report: Report, path: Path
) -> tuple[dict[str, tuple[Tree, int]], tuple[MenuItem, ...], int]:
    root = _read(report, path)
    if root is None:
        return {}, (), 1
    trees: dict[str, tuple[Tree, int]] = {}
    for r, _ in _items(report, path, root, "trees", "guided path"):
        tree = _read_tree(report, path, r)
        if not tree.id:
            continue
        if tree.id in trees:
            r.error("id", f"guided path '{tree.id}' is defined twice")
            continue
        trees[tree.id] = (tree, r.line())
    menu = root.get("menu")
    items: list[MenuItem] = []
    if isinstance(menu, LineList) and all(isinstance(m, str) for m in menu):
        items = [MenuItem(m.strip()) for m in menu]
        if not 1 <= len(items) <= limits.MAX_OPTIONS:
            report.error(
                path,
                root.line_of("menu"),
                f"the menu has {len(items)} items; 1 to {limits.MAX_OPTIONS} allowed",
            )
    else:
        report.error(
            path, root.line_of("menu"), "'menu' must be a list of guided-path or topic ids"
        )
    return trees, tuple(items), root.line_of("menu")


def _read_near_me(report: Report, path: Path, root: LineDict) -> tuple[dict[str, str], int]:
    """`near_me:` in places.yaml: the answers that offer "<kind> near me" (topic: kind)."""
    if "near_me" not in root:
        return {}, 1
    raw = root.get("near_me")
    line = root.line_of("near_me")
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        report.error(path, line, "'near_me' must map topics to kinds, e.g. 'rights.asylum: comar'")
        return {}, line
    for topic, kind in raw.items():
        if kind not in PLACE_KINDS:
            report.error(path, line, f"near_me: '{topic}' names an unknown kind '{kind}'")
    return {k: v for k, v in raw.items() if v in PLACE_KINDS}, line


def _read_places(
    report: Report, path: Path, today: date | None = None
) -> tuple[tuple[Place, ...], tuple[str, ...], dict[str, str], int]:
    """`places.yaml` (`places:`, each with a `kind`), or the older `grupos_beta.yaml`
    (`groups:`, all Grupos Beta): the places, the unverified states, and `near_me` with its
    line."""
    root = _read(report, path)
    if root is None:
        return (), (), {}, 1
    places: list[Place] = []
    seen: set[str] = set()
    legacy = "groups" in root and "places" not in root
    for r, _ in _items(report, path, root, "groups" if legacy else "places", "place"):
        r.check_keys(PLACE_KEYS, PLACE_OPTIONAL)
        place_id = r.text("id")
        if place_id in seen:
            r.error("id", f"place '{place_id}' is listed twice")
            continue
        seen.add(place_id)
        kind = "grupo_beta" if legacy else r.text("kind")
        if kind and kind not in PLACE_KINDS:
            r.error(
                "kind",
                f"{r.what}: unknown kind '{kind}'{_closest(kind, PLACE_KINDS)}; one of: {', '.join(PLACE_KINDS)}",
            )
        country = r.text("country", required=False)
        if kind == "consulate" and not country:
            r.error(None, f"{r.what}: a consulate needs its 'country'")
        if "phone" in r.data:
            r.error("phone", f"{r.what}: no phone numbers in places.yaml until one is verified")
        evidence = str(r.data.get("evidence_date", "")).strip()
        _check_evidence(r, evidence, today or date.today())
        confidence = r.text("confidence")
        if confidence and confidence not in CONFIDENCE:
            r.error("confidence", f"confidence must be one of {', '.join(CONFIDENCE)}")
        source = r.text("source")
        if source and not source.startswith(("https://", "http://")):
            r.error("source", "source must be a web address (http...)")
        places.append(
            Place(
                id=place_id,
                name=r.text("name"),
                state=r.text("state"),
                city=r.text("city"),
                # Mexico spans roughly 14..33 N and 86..118 W; anything else is a typo.
                lat=r.number("lat", 14.0, 33.0),
                lon=r.number("lon", -118.5, -86.0),
                confidence=confidence,
                evidence_date=evidence,
                source=source,
                kind=kind or "grupo_beta",
                address=r.text("address", required=False),
                operator=r.text("operator", required=False),
                country=country,
            )
        )
    unverified = root.get("unverified_states", [])
    if not isinstance(unverified, list) or not all(isinstance(s, str) for s in unverified):
        report.error(
            path,
            root.line_of("unverified_states"),
            "'unverified_states' must be a list of state names",
        )
        unverified = []
    near_me, near_line = _read_near_me(report, path, root)
    return tuple(places), tuple(unverified), near_me, near_line


_EVIDENCE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:-(\d\d))?(?:-(\d\d))?")


def _check_evidence(r: _Reader, evidence: str, today: date) -> None:
    """An evidence date must name a year ("2024-08", "c. 2022", "2020 or later ..."); evidence
    older than two years, or undated, is warned about (the place may have moved or closed)."""
    found = _EVIDENCE.search(evidence)
    if not evidence:
        r.error(None, f"{r.what}: missing field 'evidence_date'")
        return
    if found is None:
        if "undated" not in evidence.lower():
            r.error("evidence_date", f"{r.what}: evidence_date '{evidence}' names no year")
            return
        r.report.warning(r.path, r.line("evidence_date"), f"{r.what}: undated evidence: re-verify")
        return
    year, month, day = int(found.group(1)), int(found.group(2) or 12), int(found.group(3) or 28)
    try:
        when = date(year, month, day)
    except ValueError:
        r.error("evidence_date", f"{r.what}: evidence_date '{evidence}' is not a valid date")
        return
    if when > today:
        r.error("evidence_date", f"{r.what}: evidence_date '{evidence}' is in the future")
    elif (today - when).days > EVIDENCE_MAX_AGE_DAYS:
        r.report.warning(
            r.path,
            r.line("evidence_date"),
            f"{r.what}: evidence from {evidence} is more than two years old: re-verify",
        )


def _read_lists(report: Report, path: Path, keys: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A file of example lists (`out_of_scope_<lang>.yaml`, `danger_<lang>.yaml`). Missing is
    allowed, with a warning: the matcher then learns less."""
    if not path.exists():
        report.warning(
            path,
            1,
            f"{path.name} not found: the matcher learns without these examples ({', '.join(keys)})",
        )
        return {}
    root = _read(report, path)
    if root is None:
        return {}
    for key in root:
        if key not in keys:
            report.error(
                path,
                root.line_of(key),
                f"unknown list '{key}'{_closest(key, keys)}; expected: {', '.join(keys)}",
            )
    out: dict[str, tuple[str, ...]] = {}
    for key in keys:
        value = root.get(key)
        if value is None:
            report.error(path, 1, f"missing the list '{key}'")
            continue
        if not isinstance(value, LineList):
            report.error(path, root.line_of(key), f"'{key}' must be a list of texts")
            continue
        seen: dict[str, int] = {}
        items = []
        for index, item in enumerate(value):
            line = value.line_of(index)
            if not isinstance(item, str) or not item.strip():
                report.error(path, line, f"'{key}' item #{index + 1} must be non-empty text")
                continue
            folded = " ".join(item.lower().split())
            if folded in seen:
                report.warning(path, line, f"'{key}': the same text as line {seen[folded]}")
                continue
            seen[folded] = line
            items.append(item.strip())
        out[key] = tuple(items)
    return out


def _read_operator(report: Report, path: Path) -> Operator:
    """Who runs this deployment. Unset is allowed (with a warning): /about then says so."""
    unset = (
        "who runs this service is not set: fill in 'name' and 'contact' in operator.yaml "
        "(users read them under /about)"
    )
    if not path.exists():
        report.warning(path, 1, unset)
        return Operator()
    root = _read(report, path)
    if root is None:
        return Operator()
    r = _Reader(report, path, root, "operator")
    r.check_keys((), ("name", "contact"))
    operator = Operator(
        r.text("name", max_len=120, required=False), r.text("contact", max_len=200, required=False)
    )
    if not operator.name or not operator.contact:
        report.warning(path, 1, unset)
    return operator


def _read_roles(report: Report, path: Path) -> tuple[Roles, dict[str, int]]:
    """The ids the bot points to by itself; a role left out keeps its default id."""
    if not path.exists():
        return Roles(), {}
    root = _read(report, path)
    if root is None:
        return Roles(), {}
    names = tuple(f.name for f in dataclasses.fields(Roles))
    r = _Reader(report, path, root, "roles")
    r.check_keys((), names)
    given = {name: r.text(name, required=False) for name in names if name in root}
    lines = {name: root.line_of(name) for name in given}
    return Roles(**{k: v for k, v in given.items() if v}), lines


def _check_roles(report: Report, path: Path, content: Content, lines: dict[str, int]) -> None:
    for field in dataclasses.fields(Roles):
        target = getattr(content.roles, field.name)
        if not target:  # an optional role left out (route_selfcare): no button
            continue
        for code, language in content.languages.items():
            known = language.trees if field.name == "find_beta" else language.entries
            if target not in known:
                kind = "guided path" if field.name == "find_beta" else "topic"
                report.error(
                    path,
                    lines.get(field.name, 1),
                    f"role '{field.name}' points to the {kind} '{target}', which "
                    f"faq_{code}.yaml/trees_{code}.yaml do not have",
                )
                break


def _read_catalog(report: Report, path: Path) -> frozenset[str]:
    root = _read(report, path)
    if root is None:
        return frozenset()
    ids: set[str] = set()
    for group, topics in root.items():
        if not isinstance(topics, dict):
            report.error(
                path,
                root.line_of(group),
                f"catalog group '{group}' must map topic ids to descriptions",
            )
            continue
        ids.update(topics)
    return frozenset(ids)


def _read_languages(report: Report, directory: Path) -> tuple[list[str], str, frozenset[str]]:
    """The languages this deployment serves (`languages.yaml`), checked against the files.

    A language is never lost by accident: a listed language whose files are gone, a FAQ file
    nobody listed, or a guided-paths file without its FAQ file are errors, not silent changes.
    Also returns the languages whose entries need a native speaker's review (`native_review`).
    """
    path = directory / "languages.yaml"
    found = set(language_codes(directory))
    trees = {p.stem.removeprefix("trees_") for p in directory.glob("trees_*.yaml")}
    if not path.exists():
        report.error(
            path,
            1,
            "languages.yaml is missing: list the languages to serve and the default, e.g. "
            "'default: es' and 'languages: [es, en]'",
        )
        # Read what is there anyway, so every other problem is reported in the same run.
        return sorted(found), "es" if "es" in found else min(found, default=""), frozenset()
    root = _read(report, path)
    if root is None:
        return [], "", frozenset()
    r = _Reader(report, path, root, "languages")
    r.check_keys(("default", "languages"), ("native_review",))
    listed = [c.strip().lower() for c in r.texts("languages", min_items=1)]
    native_review = frozenset(c.strip().lower() for c in r.texts("native_review"))
    for code in sorted(native_review - set(listed)):
        r.error("native_review", f"'{code}' is under native_review but not in 'languages'")
    default = r.text("default").lower()
    for code in listed:
        if not LANG_CODE.match(code):
            r.error("languages", f"'{code}' is not a language code (2 or 3 letters, like 'es')")
        elif code not in found:
            r.error("languages", f"language '{code}' is listed but faq_{code}.yaml is missing")
        elif code not in trees:
            r.error("languages", f"language '{code}' is listed but trees_{code}.yaml is missing")
    for code in sorted(found - set(listed)):
        report.error(
            directory / f"faq_{code}.yaml",
            1,
            f"faq_{code}.yaml is not listed in languages.yaml: add '{code}' there to serve it",
        )
    for code in sorted(trees - found):
        report.error(
            directory / f"trees_{code}.yaml",
            1,
            f"trees_{code}.yaml has no faq_{code}.yaml beside it",
        )
    if default and default not in listed:
        r.error("default", f"the default language '{default}' is not in the list")
    usable = [c for c in listed if c in found]
    return usable, default, native_review


def served_languages(directory: Path) -> list[str]:
    """The languages `languages.yaml` lists (cheap: reads that file alone); [] if unreadable."""
    languages, _default, _review = _read_languages(Report(), directory)
    return languages


def language_codes(directory: Path) -> list[str]:
    """Languages are discovered from file names: `faq_<code>.yaml`."""
    return sorted(
        p.stem.removeprefix("faq_")
        for p in directory.glob("faq_*.yaml")
        if LANG_CODE.match(p.stem[4:])
    )


def read_content(
    directory: Path,
    report: Report,
    today: Callable[[], date] = date.today,
    locations: Locations | None = None,
    plain_language: bool = False,
    checks: Sequence[Check] = (),
) -> Content | None:
    """Read and validate everything under `directory`. Returns None when nothing usable was found.

    `locations`, when given, is filled with the file and line of every example question.
    `plain_language` also scores every answer's readability (slower; `orienta content check`).
    `checks` are run on the content once it reads; layers above this one hand in what they need
    checked (the engine: that every button's payload fits), so content never imports them.
    """
    from bot.content.drafter import check_drafters, read_drafter
    from bot.content.rules import check_content, check_readability

    directory = Path(directory)
    if not directory.is_dir():
        report.error(directory, 1, "content directory not found")
        return None
    codes, default, native_review = _read_languages(report, directory)
    if not codes:
        return None
    catalog = _read_catalog(report, directory / "topics.yaml")
    languages: dict[str, Language] = {}
    entry_lines: dict[str, dict[str, int]] = {}
    tree_lines: dict[str, dict[str, int]] = {}
    menu_lines: dict[str, int] = {}
    for code in codes:
        faq_path = directory / f"faq_{code}.yaml"
        root = _read(report, faq_path)
        if root is None:
            continue
        info = _read_language(report, faq_path, root, code)
        entries = _read_entries(
            report, faq_path, root, code, locations, review_required=code in native_review
        )
        trees, menu, menu_line = _read_trees(report, directory / f"trees_{code}.yaml")
        entry_lines[code] = {k: line for k, (_, line) in entries.items()}
        tree_lines[code] = {k: line for k, (_, line) in trees.items()}
        menu_lines[code] = menu_line
        safety = _read_safety(report, faq_path, root)
        danger_path = directory / f"danger_{code}.yaml"
        danger = _read_lists(report, danger_path, ("danger", "near_miss"))
        out_of_scope = _read_lists(
            report, directory / f"out_of_scope_{code}.yaml", ("examples",)
        ).get("examples", ())
        drafter_path = directory / f"drafter_{code}.yaml"
        languages[code] = Language(
            **info,
            drafter=(
                read_drafter(report, drafter_path, code in native_review)
                if drafter_path.exists()
                else None
            ),
            safety=replace(
                safety, examples=danger.get("danger", ()), near_misses=danger.get("near_miss", ())
            ),
            entries=frozen_map({k: e for k, (e, _) in entries.items()}),
            trees=frozen_map({k: t for k, (t, _) in trees.items()}),
            menu=menu,
            out_of_scope=out_of_scope,
        )
    places_path = directory / "places.yaml"
    if not places_path.exists() and (directory / "grupos_beta.yaml").exists():
        places_path = directory / "grupos_beta.yaml"  # the older file: Grupos Beta only
    places, unverified, near_me, near_line = _read_places(report, places_path, today())
    operator = _read_operator(report, directory / "operator.yaml")
    roles, role_lines = _read_roles(report, directory / "roles.yaml")
    if not languages:
        return None
    if default not in languages:
        return None
    content = Content(
        frozen_map(languages),
        places,
        unverified,
        catalog,
        default,
        operator,
        roles,
        near_me=frozen_map(near_me),
    )
    for topic, kind in near_me.items():
        if topic not in content.languages[default].entries:
            report.error(places_path, near_line, f"near_me: no topic '{topic}'")
        elif kind not in content.by_kind:
            report.error(
                places_path, near_line, f"near_me: '{topic}' wants '{kind}', and there is none"
            )
    check_content(content, directory, report, entry_lines, tree_lines, menu_lines, today())
    _check_roles(report, directory / "roles.yaml", content, role_lines)
    check_drafters(content, directory, report)
    for check in checks:
        check(content, directory, report)
    if plain_language:
        check_readability(content, directory, report, entry_lines)
    return content


def load_content(directory: Path, checks: Sequence[Check] = ()) -> Content:
    """Content ready to serve, or ContentError listing every error. Warnings do not stop loading."""
    report = Report()
    content = read_content(directory, report, checks=checks)
    if content is None or report.errors:
        raise ContentError(report.problems)
    return content
