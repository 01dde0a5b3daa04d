"""Every view a button can lead to, and the check that each one's payload fits.

The engine owns this list (it decides what buttons exist); the content loader knows nothing of
payloads and runs this check only because `build_engine` and `orienta content check` hand it in.
"""

from __future__ import annotations

from pathlib import Path

from bot import limits
from bot.content.model import Content
from bot.content.problems import Report
from bot.engine.payload import Action, Kind, View, encode


def views(content: Content, code: str) -> list[View]:
    """The views of language `code` that buttons can carry (topics, steps, outcomes, states)."""
    lang = content.languages[code]
    found = [View(Kind.TOPIC, t) for t in lang.entries]
    for tree in lang.trees.values():
        for node in tree.nodes.values():
            found.append(View(Kind.NODE, f"{tree.id}:{node.id}"))
            found.extend(
                View(Kind.OUTCOME, f"{tree.id}:{node.id}:{i}") for i in range(len(node.options))
            )
    found.extend(View(Kind.STATE, s) for s in content.states)
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
                except ValueError:
                    report.error(
                        path,
                        1,
                        f"button data for '{view.arg}' is over {limits.BUTTON_PAYLOAD} bytes; "
                        "use shorter ids",
                    )
                    break


ENGINE_CHECKS = (check_payloads,)
