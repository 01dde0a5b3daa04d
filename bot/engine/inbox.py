"""The question inbox, engine side: offering "Send my question to the team (anonymous)" and
turning a press of it into a scrubbed question for staff.

The offer comes with "I did not understand", and with the reply to "No, this did not help"
when that answer came from a question the person typed; at most once a conversation. The
offer's button carries a short fingerprint of the question it was made for, so a press after
the person wrote something else never sends the later message. Nothing here stores anything:
the response says what the channel should remember (`Response.question`, `Response.offered`) and
what the person chose to give (`Response.keep`, already scrubbed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from functools import cached_property

from bot.content.model import Content
from bot.engine.copy import Copy
from bot.engine.events import Text
from bot.engine.payload import Action, InboxView, encode
from bot.engine.recall import Kept, Question, Recall
from bot.engine.replies import Button, Response, TextReply, Usage, UsageKind
from bot.engine.scrub import scrub
from bot.matching.analyzer import fold
from bot.matching.types import Intent, Match

GUESSES = 3  # the matcher's best topics kept with a question, for staff to sort by
_LETTERS = re.compile(r"[^\W\d_]+")


def fingerprint(text: str) -> str:
    """8 hex characters naming a question in its button (not secret: the platform has the text)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


class Inbox(Copy):
    """Needs `content`, `catalogs` and `_menu` (the Engine has them)."""

    content: Content
    _menu: Callable[..., TextReply]

    @cached_property
    def known_words(self) -> frozenset[str]:
        """Every word Orienta's content uses, folded: a capitalised word outside it is taken
        for a name when a question is scrubbed. Built at the first kept question."""
        words: set[str] = set()

        def add(text: str) -> None:
            words.update(_LETTERS.findall(fold(text)))

        for language in self.content.languages.values():
            for entry in language.entries.values():
                for text in (entry.title, entry.answer, *entry.questions, *entry.keywords):
                    add(text)
            for text in (*language.out_of_scope, *language.safety.examples):
                add(text)
            for tree in language.trees.values():
                add(tree.title)
                for node in tree.nodes.values():
                    add(node.prompt)
                    for option in node.options:
                        add(option.label)
            for text in (*language.greetings, *language.thanks, *language.names):
                add(text)
        for place in self.content.places:
            add(f"{place.name} {place.city} {place.state}")
        return frozenset(words)

    def after_text(self, event: Text, found: Match, response: Response, recall: Recall) -> Response:
        """A typed question answered: remember it (in memory) for a later "No", and offer the
        inbox now when it was not understood."""
        if not recall.can_keep or found.danger or found.intent not in (Intent.TOPIC, Intent.NONE):
            return response  # someone in danger gets the emergency numbers, not a form
        guesses = (
            tuple(c.topic for c in found.candidates[:GUESSES])
            or tuple(t for t in (found.topic, *found.alternatives) if t)[:GUESSES]
        )
        answered = found.topic if found.intent is Intent.TOPIC and found.topic else ""
        question = Question(event.text.strip(), response.lang, guesses, answered)
        response = dataclasses.replace(response, question=question)
        unanswered = any(u.kind is UsageKind.UNANSWERED for u in response.usage)
        if unanswered and not recall.offered:
            return self._offer(response, question)
        return response

    def after_not_helpful(self, topic: str, response: Response, recall: Recall) -> Response:
        """ "No, this did not help" on an answer to a typed question: offer to send it."""
        question = recall.question
        if (
            not recall.can_keep
            or recall.offered
            or question is None
            or question.answered != topic
            or question.lang != response.lang
        ):
            return response
        return self._offer(response, question)

    def keep_press(self, lang: str, view: InboxView, recall: Recall) -> Response:
        """The person pressed "Send my question": the question, scrubbed, goes to the inbox."""
        _ = self._t(lang)
        question = recall.question
        if not recall.can_keep or question is None or fingerprint(question.text) != view.tag:
            text = _(
                "That question is no longer here: Orienta forgets it after 30 minutes, or when you write something else. You can write it again."
            )
            return Response(lang, (self._menu(lang, text),), (Usage(UsageKind.BUTTON, lang),))
        kept = Kept(scrub(question.text, self.known_words), question.lang, question.guesses)
        text = _(
            "Thank you. Your question went to the team without your name, number or anything else about you. It helps us answer better."
        )
        usage = (Usage(UsageKind.BUTTON, lang), Usage(UsageKind.INBOX_SENT, question.lang))
        # Sent once: the question is forgotten now.
        return Response(lang, (self._menu(lang, text),), usage, question=None, keep=kept)

    def _offer(self, response: Response, question: Question) -> Response:
        lang = response.lang
        _ = self._t(lang)
        last = response.replies[-1]
        if not isinstance(last, TextReply):
            return response
        button = Button(
            _("📨 Send my question to the team (anonymous)"),
            encode(Action.SHOW, lang, InboxView(fingerprint(question.text))),
        )
        last = dataclasses.replace(last, buttons=(button, *last.buttons))
        return dataclasses.replace(
            response,
            replies=(*response.replies[:-1], last),
            usage=(*response.usage, Usage(UsageKind.INBOX_OFFERED, lang)),
            offered=True,
        )
