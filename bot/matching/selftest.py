"""The content's own tests: every example question must lead to its own entry."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.model import Content
from bot.matching.matcher import Intent, Matcher


@dataclass(frozen=True)
class Miss:
    lang: str
    topic: str
    question: str
    got: str | None  # what it matched instead; None when nothing matched with confidence


def run_examples(content: Content, matcher: Matcher | None = None) -> tuple[int, list[Miss]]:
    """Returns (questions checked, questions that did not match their entry)."""
    matcher = matcher or Matcher(content)
    emergency = content.roles.emergency
    checked, misses = 0, []
    for code, language in content.languages.items():
        for entry in language.entries.values():
            for question in entry.questions:
                checked += 1
                found = matcher.match(question, lang=code)
                # A question about an emergency that raises the emergency banner is answered:
                # the banner is that answer ("estoy en el desierto y necesito ayuda").
                if entry.id == emergency and found.danger and found.topic in (None, emergency):
                    continue
                if found.intent is not Intent.TOPIC or found.topic != entry.id:
                    misses.append(Miss(code, entry.id, question, found.topic))
    return checked, misses
