"""Every view a button can lead to, and the check that each one's payload fits.

The engine owns this list (it decides what buttons exist); the content loader knows nothing of
payloads and runs this check only because `build_engine` and `orienta content check` hand it in.
"""

from __future__ import annotations

from pathlib import Path

from bot import limits
from bot.content.model import Content
from bot.content.problems import Report
from bot.engine.payload import (
    Action,
    DraftLanguagesView,
    DraftOp,
    DraftView,
    NodeLanguagesView,
    NodeView,
    OutcomeView,
    PayloadError,
    StateView,
    TopicLanguagesView,
    TopicView,
    View,
    encode,
)


def views(content: Content, code: str) -> list[View]:
    """The views of language `code` that buttons can carry (topics, steps, outcomes, states)."""
    lang = content.languages[code]
    found: list[View] = [TopicView(t) for t in lang.entries]
    found += [TopicLanguagesView(t) for t in lang.entries]
    for tree in lang.trees.values():
        for node in tree.nodes.values():
            found.append(NodeView(tree.id, node.id))
            found.append(NodeLanguagesView(tree.id, node.id))
            found.extend(OutcomeView(tree.id, node.id, i) for i in range(len(node.options)))
            found.extend(
                OutcomeView(tree.id, node.id, i).listed(k)
                for i, option in enumerate(node.options)
                for k in range(len(option.topics))
            )
    found.extend(StateView(s) for s in content.states)
    if lang.drafter is not None:
        found.append(DraftLanguagesView())
        for index, step in enumerate(lang.drafter.steps):
            found.extend(DraftView(op, index) for op in DraftOp)
            found.extend(DraftView(DraftOp.PICK, index, k) for k in range(len(step.options)))
    return found


def check_payloads(content: Content, directory: Path, report: Report) -> None:
    """Every button the content can produce must fit in 64 bytes, with every action."""
    longest = max((len(c) for c in content.languages), default=2)
    for code in content.languages:
        path = directory / f"faq_{code}.yaml"
        for view in views(content, code):
            for action in Action:
                try:
                    encode(action, "x" * longest, view)
                except PayloadError:
                    report.error(
                        path,
                        1,
                        f"button data for '{view.pack_lenient()}' is over "
                        f"{limits.BUTTON_PAYLOAD} bytes or holds ':' or '|'; use shorter ids "
                        "without those characters",
                    )
                    break


ENGINE_CHECKS = (check_payloads,)
