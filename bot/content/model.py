"""The content model: immutable values that the engine reads and never changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from types import MappingProxyType
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def frozen_map(items: Mapping[K, V] | None = None) -> Mapping[K, V]:
    """A read-only view of a fresh dict: content objects must not change after loading."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Review:
    """A native speaker's check of a translated entry (its `review:` field). Without `by`, the
    entry is a draft: its answer says so to every reader until someone has checked it."""

    by: str = ""
    on: date | None = None

    @property
    def draft(self) -> bool:
        return not self.by


@dataclass(frozen=True)
class Entry:
    """One FAQ answer in one language. `id` is a stable public topic id such as `complaint.bribe`."""

    id: str
    title: str
    answer: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    source: tuple[str, ...]
    reviewed: date  # when the facts were last checked against the sources
    # The language check by a native speaker; None where the language asks for none (the team
    # wrote it in that language).
    review: Review | None = None

    @property
    def draft(self) -> bool:
        """A translation no native speaker has checked yet."""
        return self.review is not None and self.review.draft


@dataclass(frozen=True)
class Option:
    """A button of a tree node. Exactly one of `next`, `topics` or `action` is set."""

    label: str
    next: str | None = None
    topics: tuple[str, ...] = ()
    action: str | None = None  # "share_location", "choose_state" or "write_complaint"


@dataclass(frozen=True)
class Node:
    """One step of a guided path: a prompt and its options (each leads to a step, topics or an action)."""

    id: str
    prompt: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Tree:
    """A guided path. `parents` maps each node to the node that leads to it first (for "Back")."""

    id: str
    title: str
    start: str
    nodes: Mapping[str, Node]
    parents: Mapping[str, str]


@dataclass(frozen=True)
class MenuItem:
    """A main-menu button: a guided path or a single topic."""

    target: str  # a tree id or a topic id


@dataclass(frozen=True)
class Safety:
    """Words of immediate danger and the emergency message that then always comes first."""

    triggers: tuple[str, ...]  # exact phrases: a floor under the learned danger model
    message: str
    # A message made only of these words ("help me!!", "ayudaaa", "sos") is a call for help.
    help_calls: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()  # messages of people in danger now (`danger_<lang>.yaml`)
    near_misses: tuple[str, ...] = ()  # alike, but not an emergency now


@dataclass(frozen=True)
class DraftOption:
    """A button of a drafter step: its label, and how the choice reads in the complaint."""

    id: str
    label: str
    text: str


@dataclass(frozen=True)
class DraftStep:
    """One question of the complaint drafter (`drafter_<lang>.yaml`).

    `kind`: "choose" (one button), "choose_many" (several, then Done), "write" (typed text, the
    options are examples to press instead), "date" (typed, or the options "today"/"yesterday").
    `sentence` is the complaint's line for the answer, with `{answer}` where it goes.
    """

    id: str
    kind: str
    prompt: str
    sentence: str
    options: tuple[DraftOption, ...] = ()
    max_chars: int = 300
    time_prompt: str = ""  # a "date" step: asked after "today"/"yesterday" ("about what time?")


@dataclass(frozen=True)
class DraftChannel:
    """Where a complaint can go, shown when any answer in `when` was given
    (`<step>.<option>`, `<step>.typed` for a typed answer, `<step>.skipped`)."""

    id: str
    when: tuple[str, ...]
    text: str
    source: tuple[str, ...]


@dataclass(frozen=True)
class Drafter:
    """The guided complaint drafter in one language: its steps, the complaint's wording and
    where to send it. Step, option and channel ids are the same in every language."""

    button: str  # "Help me write it", under the answers in `topics`
    topics: tuple[str, ...]
    verbs: tuple[str, ...]  # typed "<verb> ... <noun>" opens the drafter ("write my complaint")
    nouns: tuple[str, ...]
    intro: str
    months: tuple[str, ...]
    date_format: str  # "{day} de {month} de {year}" (the `date:` line of the file)
    conjunction: str  # "y", "and": the last item of a list
    title: str
    opening: str
    signature: str
    typed_note: str  # the authorities' copy: typed parts are in the person's own language
    authorities_copy: str  # the heading of that copy, in this language
    channels_intro: str
    channels: tuple[DraftChannel, ...]
    done: str
    steps: tuple[DraftStep, ...]
    source: tuple[str, ...]
    reviewed: date
    draft: bool = False  # a translation no native speaker has checked yet (`review: draft`)


@dataclass(frozen=True)
class Language:
    """Everything one language contributes: its words for the matcher and its content."""

    code: str
    name: str
    stemmer: str
    abbreviations: Mapping[str, str]
    phonetic: tuple[tuple[str, str], ...]  # sound-alike spellings, for words not in the vocabulary
    stopwords: frozenset[str]
    greetings: tuple[str, ...]
    thanks: tuple[str, ...]
    safety: Safety
    entries: Mapping[str, Entry]
    trees: Mapping[str, Tree]
    menu: tuple[MenuItem, ...]
    out_of_scope: tuple[str, ...] = ()  # messages that are no topic (`out_of_scope_<lang>.yaml`)
    # Words that, typed alone, act as a command ("menu", "inicio" -> menu; "ayuda" -> help)...
    commands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # ...and the names that, typed alone, switch to this language ("english", "inglés").
    names: tuple[str, ...] = ()
    drafter: Drafter | None = None  # the complaint drafter (`drafter_<lang>.yaml`), if any


@dataclass(frozen=True)
class Place:
    """A place that helps migrants (`places.yaml`): a Grupo Beta, COMAR office, shelter,
    reception centre or consulate. Coordinates are city centres: good only to rank what is
    nearest. `address` and `operator` only where the reference gives them; never a phone."""

    id: str
    name: str
    state: str
    city: str
    lat: float
    lon: float
    confidence: str
    evidence_date: str
    source: str
    kind: str = "grupo_beta"
    address: str = ""
    operator: str = ""
    country: str = ""  # a consulate's country


@dataclass(frozen=True)
class Operator:
    """Who runs this deployment and how to reach them (`operator.yaml`); empty until set."""

    name: str = ""
    contact: str = ""


@dataclass(frozen=True)
class Roles:
    """The topics and guided paths the bot points to by itself, by role (`roles.yaml`): the
    /about and /privacy answers, "talk to a person" after a "No", the emergency answer, the
    find-a-Grupo-Beta path and what Grupos Beta offer. Renaming one of them is a content edit."""

    about: str = "meta.about"
    privacy: str = "meta.privacy"
    human_help: str = "meta.human_help"
    emergency: str = "safety.emergency"
    find_beta: str = "tree.find_beta"  # a guided path; the others are topics
    beta_services: str = "beta.services"
    # Offered with the emergency numbers and the Grupos Beta; optional ("" leaves it out).
    route_selfcare: str = ""


@dataclass(frozen=True)
class Content:
    """Everything staff write, validated and immutable: languages (FAQ, guided paths, matcher
    material), Grupos Beta, the topic catalog, the default language, the operator and the roles."""

    languages: Mapping[str, Language]
    places: tuple[Place, ...]
    unverified_states: tuple[str, ...] = ()
    catalog: frozenset[str] = field(default_factory=frozenset)
    default_language: str = "es"
    operator: Operator = field(default_factory=Operator)
    roles: Roles = field(default_factory=Roles)
    # Answers that offer "near me" for a kind of place (`near_me` in places.yaml): topic -> kind.
    near_me: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def beta(self) -> tuple[Place, ...]:
        """The Grupos Beta among the places."""
        return tuple(p for p in self.places if p.kind == "grupo_beta")

    @cached_property
    def by_kind(self) -> Mapping[str, tuple[Place, ...]]:
        """The places of each kind (only the kinds there are)."""
        found: dict[str, list[Place]] = {}
        for place in self.places:
            found.setdefault(place.kind, []).append(place)
        return MappingProxyType({kind: tuple(places) for kind, places in found.items()})

    @cached_property
    def countries(self) -> tuple[str, ...]:
        """The countries with a consulate among the places, in alphabetical order."""
        return tuple(sorted({p.country for p in self.by_kind.get("consulate", ()) if p.country}))

    @cached_property  # content is immutable: sort once, not at every button press
    def states(self) -> tuple[str, ...]:
        """States with a Grupo Beta, verified or not, in alphabetical order."""
        return tuple(sorted({p.state for p in self.beta} | set(self.unverified_states)))

    @cached_property
    def drafts(self) -> Mapping[str, tuple[str, ...]]:
        """Per language, the topics whose entry no native speaker has checked yet (only the
        languages that have any)."""
        found = {
            code: tuple(topic for topic, entry in lang.entries.items() if entry.draft)
            for code, lang in self.languages.items()
        }
        return MappingProxyType({code: ids for code, ids in found.items() if ids})

    def language(self, code: str | None) -> Language:
        if code and code in self.languages:
            return self.languages[code]
        return self.languages[self.default_language]
