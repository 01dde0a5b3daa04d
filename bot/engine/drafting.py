"""The complaint drafter: short steps from "how do I complain" to a complaint ready to copy.

What each step asks, its example buttons, the complaint's wording and where to send it are
content (`drafter_<lang>.yaml`). This module is the behaviour: which step comes next, what a
typed message means mid-draft, and how the answers become the complaint. It is pure like the
rest of the engine: the chat's `Draft` comes in with the event and the next one goes out in the
response; the pipeline holds it in memory for 30 minutes after the last step and nowhere else.

A typed message while a draft is open is the step's answer when the step takes text (place,
date, what happened...), unless it is a command or a short question ("do I need a lawyer?"),
which are answered as usual with a button to continue the draft. On a step of buttons, typed
text that names an option presses it; anything else is answered as usual. A short message asking
for the drafter again ("quiero escribir mi queja") offers to continue or start again. Danger is
checked on every typed answer: the emergency numbers come first, and the draft goes on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import fuzz, process

from bot.content.model import DraftChannel, Drafter, DraftStep
from bot.engine.copy import Copy
from bot.engine.draft import KEEP, Answer, Draft, Keep
from bot.engine.events import Text
from bot.engine.payload import (
    Action,
    DraftOp,
    DraftView,
    MenuView,
    Payload,
    encode,
)
from bot.engine.replies import (
    Button,
    PlacesReply,
    Reply,
    Response,
    TextReply,
    Usage,
    UsageKind,
)
from bot.matching.analyzer import fold
from bot.matching.types import Intent, Match

AUTHORITIES_LANGUAGE = "es"  # Mexican authorities read Spanish: a complaint in another language
# gets a Spanish copy built from drafter_es.yaml.
START_WORDS_MAX = 20  # a longer message that mentions writing a complaint is a story, not a request
QUESTION_WORDS_MAX = 25
RESTART_WORDS_MAX = 8  # "I want to write a complaint" typed mid-draft asks for the drafter again
_WORD = re.compile(r"\w+")


def mexico_today() -> date:
    """Today in central Mexico, where most of the route is (the server's clock may be UTC)."""
    try:
        zone: timezone | ZoneInfo = ZoneInfo("America/Mexico_City")
    except ZoneInfoNotFoundError:  # no tz database on this machine: central Mexico is UTC-6
        zone = timezone(timedelta(hours=-6))
    return datetime.now(zone).date()


class Drafting(Copy):
    """The drafter's screens and steps. Needs `content`, `catalogs`, `match`, `_menu`, `_nav`,
    `_emergency`, `_topic_buttons` and `today` (the Engine has them)."""

    today: Callable[[], date]
    match: Callable[[str, str | None, str | None], Match]
    _menu: Callable[..., TextReply]
    _emergency: Callable[[str], TextReply]
    _topic_buttons: Callable[..., tuple[Button, ...]]
    _nav: Callable[..., tuple[Button, ...]]

    # ------------------------------------------------------------------ entry points

    def drafter(self, lang: str) -> Drafter | None:
        return self.content.languages[lang].drafter

    def wants_drafter(self, text: str, lang: str) -> bool:
        """A short message asking to write a complaint ("quiero escribir mi queja"): a word of
        `verbs` and a word of `nouns`, each allowing a typo or two."""
        drafter = self.drafter(lang)
        if drafter is None:
            return False
        words = _WORD.findall(fold(text))
        if not words or len(words) > START_WORDS_MAX:
            return False
        rules = self.content.languages[lang].phonetic
        words = [_sound(w, rules) for w in words]
        return _has_word(words, drafter.verbs, rules) and _has_word(words, drafter.nouns, rules)

    def draft_press(self, payload: Payload, draft: Draft | None) -> Response:
        """A press of a drafter button (or the language chooser landing on one)."""
        lang = payload.lang
        view = payload.view
        assert isinstance(view, DraftView)
        drafter = self.drafter(lang)
        usage = [Usage(UsageKind.BUTTON, lang)]
        if drafter is None:
            return self._draft_response(lang, self._menu(lang), usage, None)
        if payload.action is Action.SWITCH_LANGUAGE:
            usage.append(Usage(UsageKind.LANGUAGE_SET, lang))
        op = DraftOp(view.op)
        if op is DraftOp.DELETE:
            usage.append(Usage(UsageKind.DRAFT_DELETED, lang))
            return self._draft_response(lang, self._deleted(lang), usage, None)
        if op is DraftOp.NEW or (op is DraftOp.START and draft is None):
            usage.append(Usage(UsageKind.DRAFT_STARTED, lang))
            fresh = Draft(lang)
            return self._draft_response(lang, self._step(lang, fresh, intro=True), usage, fresh)
        if draft is None:
            return self._draft_response(lang, self._expired_draft(lang), usage, None)
        if op is DraftOp.START:
            return self._draft_response(lang, self._in_progress(lang), usage, KEEP)
        draft = draft.at(min(draft.step, len(drafter.steps) - 1), lang)
        if op is DraftOp.RESUME or view.step != draft.step:
            # Resumed, or a button of a step already answered: show where the draft is.
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        step = drafter.steps[draft.step]
        if op is DraftOp.BACK:
            draft = draft.at(max(0, draft.step - 1))
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        if op is DraftOp.SKIP:
            if _awaits_time(step, draft.answer(step.id)):
                return self._advance(lang, draft, usage)  # the day stays; only the time is skipped
            return self._advance(lang, draft.with_answer(step.id, None), usage)
        if op is DraftOp.DONE:
            return self._advance(lang, draft, usage)
        # PICK
        if view.option >= len(step.options):
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        option = step.options[view.option]
        if step.kind == "choose_many":
            current = draft.answer(step.id) or Answer()
            picks = (
                tuple(p for p in current.picks if p != option.id)
                if option.id in current.picks
                else (*current.picks, option.id)
            )
            draft = draft.with_answer(step.id, Answer(picks) if picks else None)
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        day = None
        if step.kind == "date":
            day = self.today() - timedelta(days=0 if option.id == "today" else 1)
        draft = draft.with_answer(step.id, Answer((option.id,), day=day))
        if _awaits_time(step, draft.answer(step.id)):  # "today": and about what time?
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        return self._advance(lang, draft, usage)

    def draft_text(self, event: Text, draft: Draft) -> Response | None:
        """A typed message while a draft is open: the step's answer, or None when it is not one
        (then it is answered as any message, with a button to continue the draft)."""
        lang = draft.lang if draft.lang in self.content.languages else None
        drafter = self.drafter(lang) if lang else None
        if lang is None or drafter is None or not drafter.steps:
            return None
        draft = draft.at(min(draft.step, len(drafter.steps) - 1))
        step = drafter.steps[draft.step]
        text = event.text.strip()
        usage = [Usage(UsageKind.MESSAGE, lang)]
        if step.kind in ("choose", "choose_many"):
            index = _typed_option(step, text)
            if index is None:
                return None
            payload = Payload(Action.SHOW, lang, DraftView(DraftOp.PICK, draft.step, index))
            return self.draft_press(payload, draft)
        if len(_WORD.findall(text)) <= RESTART_WORDS_MAX and any(
            self.wants_drafter(text, code) for code in self.content.languages
        ):
            return None  # "quiero escribir mi queja" again: offer to continue or start again
        if len(text) > step.max_chars:
            _ = self._t(lang)
            note = _(
                "That is {count} characters; this step takes at most {limit}. Please shorten it and send it again."
            ).format(count=len(text), limit=step.max_chars)
            return self._draft_response(lang, self._step(lang, draft, note=note), usage, KEEP)
        found = self.match(text, lang, lang)  # once: for a question, and for danger
        if _looks_like_question(text) and found.intent is Intent.TOPIC:
            return None
        first: list[Reply] = []
        if found.danger:
            first.append(self._emergency(lang))
            usage.append(Usage(UsageKind.DANGER, lang))
        given = draft.answer(step.id)
        answer = (
            dataclasses.replace(given, time=text)
            if given is not None and _awaits_time(step, given)
            else Answer(text=text)
        )
        response = self._advance(lang, draft.with_answer(step.id, answer), usage)
        return dataclasses.replace(response, replies=(*first, *response.replies))

    def with_continue(self, response: Response) -> Response:
        """`response` with a "Continue my complaint" button under its last message: shown while
        a draft is open and the person did something else (a question, the menu)."""
        if not response.replies or self.drafter(response.lang) is None:
            return response
        last = response.replies[-1]
        if not isinstance(last, TextReply | PlacesReply):
            return response
        _ = self._t(response.lang)
        button = Button(
            _("✍️ Continue my complaint"),
            encode(Action.SHOW, response.lang, DraftView(DraftOp.RESUME)),
        )
        last = dataclasses.replace(last, buttons=(button, *last.buttons))
        return dataclasses.replace(response, replies=(*response.replies[:-1], last))

    def draft_language(self, lang: str, draft: Draft) -> Response:
        """The language switched by a typed name mid-draft: the same step, in that language."""
        _ = self._t(lang)
        draft = draft.at(draft.step, lang)
        name = self.content.languages[lang].name
        reply = self._step(lang, draft, note=_("Language: {name}.").format(name=name))
        return Response(lang, (reply,), (Usage(UsageKind.LANGUAGE_SET, lang),), draft)

    # ------------------------------------------------------------------ screens

    def _advance(self, lang: str, draft: Draft, usage: list[Usage]) -> Response:
        drafter = self.drafter(lang)
        assert drafter is not None
        if draft.step + 1 < len(drafter.steps):
            draft = draft.at(draft.step + 1)
            return self._draft_response(lang, self._step(lang, draft), usage, draft)
        return self._finish(lang, draft, usage)

    def _step(self, lang: str, draft: Draft, intro: bool = False, note: str = "") -> TextReply:
        _ = self._t(lang)
        drafter = self.drafter(lang)
        assert drafter is not None
        step = drafter.steps[draft.step]
        parts = []
        if intro:
            parts.append(drafter.intro)
            if drafter.draft:
                parts.append("ⓘ " + _("Not yet checked by a native speaker."))
        if note:
            parts.append(note)
        answer = draft.answer(step.id)
        if _awaits_time(step, answer):
            return TextReply(
                "\n\n".join([*parts, step.time_prompt]),
                (self._draft_button(lang, _("⏭️ Skip"), DraftOp.SKIP, draft.step),),
                self._step_nav(lang, draft),
            )
        parts.append(step.prompt)
        picked = answer.picks if answer else ()
        if step.kind == "choose_many" and picked:
            chosen = [o.text for o in step.options if o.id in picked]
            parts.append(_("Chosen: {items}").format(items=_join(chosen, drafter.conjunction)))
        buttons = []
        for index, option in enumerate(step.options):
            mark = "✅ " if step.kind == "choose_many" and option.id in picked else ""
            buttons.append(
                Button(
                    mark + option.label,
                    encode(Action.SHOW, lang, DraftView(DraftOp.PICK, draft.step, index)),
                )
            )
        if step.kind == "choose_many" and picked:  # "Done" once something is chosen; "Skip" before
            buttons.append(self._draft_button(lang, _("✅ Done"), DraftOp.DONE, draft.step))
        else:
            buttons.append(self._draft_button(lang, _("⏭️ Skip"), DraftOp.SKIP, draft.step))
        return TextReply("\n\n".join(parts), tuple(buttons), self._step_nav(lang, draft))

    def _step_nav(self, lang: str, draft: Draft) -> tuple[Button, ...]:
        """Back (after the first step) and Delete my answers, then Menu and the language (a
        choice of language comes back to this step)."""
        _ = self._t(lang)
        nav = []
        if draft.step > 0:
            nav.append(self._draft_button(lang, _("⬅️ Back"), DraftOp.BACK, draft.step))
        nav.append(self._draft_button(lang, _("🗑️ Delete my answers"), DraftOp.DELETE))
        return (*nav, *self._nav(lang, DraftView(DraftOp.RESUME)))

    def _menu_only(self, lang: str) -> tuple[Button, ...]:
        return self._nav(lang, MenuView(), with_language=False)

    def _draft_button(self, lang: str, label: str, op: DraftOp, step: int = 0) -> Button:
        return Button(label, encode(Action.SHOW, lang, DraftView(op, step)))

    def _in_progress(self, lang: str) -> TextReply:
        _ = self._t(lang)
        return TextReply(
            _("You have a complaint draft in progress. Do you want to continue it or start again?"),
            (
                self._draft_button(lang, _("✍️ Continue my complaint"), DraftOp.RESUME),
                self._draft_button(lang, _("🔄 Start again"), DraftOp.NEW),
            ),
            (
                self._draft_button(lang, _("🗑️ Delete my answers"), DraftOp.DELETE),
                *self._menu_only(lang),
            ),
        )

    def _deleted(self, lang: str) -> TextReply:
        _ = self._t(lang)
        return self._start_again(
            lang,
            _(
                "Your answers are deleted: Orienta kept nothing. You can start again whenever you want."
            ),
        )

    def _expired_draft(self, lang: str) -> TextReply:
        _ = self._t(lang)
        return self._start_again(
            lang,
            _(
                "Your complaint draft is not here any more: Orienta keeps it only in memory, for 30 minutes at most after your last answer. You can start again."
            ),
        )

    def _start_again(self, lang: str, text: str) -> TextReply:
        _ = self._t(lang)
        return TextReply(
            text,
            (self._draft_button(lang, _("🔄 Start again"), DraftOp.NEW),),
            self._menu_only(lang),
        )

    def _finish(self, lang: str, draft: Draft, usage: list[Usage]) -> Response:
        """The complaint in the person's language, its Spanish copy when that is another
        language, and where to send it. The draft ends here: nothing of it is kept."""
        _ = self._t(lang)
        drafter = self.drafter(lang)
        assert drafter is not None
        replies: list[Reply] = [
            TextReply(
                _(
                    "Here is your complaint, ready to copy. Check it, and add or change what you want."
                )
            ),
            TextReply(self.complaint(lang, draft)),
        ]
        spanish = self.drafter(AUTHORITIES_LANGUAGE) if lang != AUTHORITIES_LANGUAGE else None
        if spanish is not None:
            replies.append(TextReply(drafter.authorities_copy))
            replies.append(TextReply(self.complaint(AUTHORITIES_LANGUAGE, draft, quote=True)))
        lines = [drafter.channels_intro]
        lines += [f"• {c.text}" for c in self.channels(lang, draft)]
        lines.append(drafter.done)
        roles = ("complaint.what_to_include", "complaint.followup")
        replies.append(
            TextReply(
                "\n\n".join(lines),
                self._topic_buttons(lang, roles),
                self._menu_only(lang),
            )
        )
        authority = draft.answer(drafter.steps[0].id) if drafter.steps else None
        usage.append(
            Usage(
                UsageKind.DRAFT_DONE,
                lang,
                authority.picks[0] if authority and authority.picks else "",
            )
        )
        return Response(lang, tuple(replies), tuple(usage), None)

    def _draft_response(
        self, lang: str, reply: Reply, usage: list[Usage], draft: Draft | Keep | None
    ) -> Response:
        return Response(lang, (reply,), tuple(usage), draft)

    # ------------------------------------------------------------------ the complaint

    def complaint(self, lang: str, draft: Draft, quote: bool = False) -> str:
        """The complaint in `lang`, first person, from the answers given; skipped steps leave
        no line. Typed answers stay as typed; with `quote` (the authorities' copy in another
        language) they go in «» with a note that they may need translating."""
        drafter = self.drafter(lang)
        assert drafter is not None
        lines = []
        typed = False
        for step in drafter.steps:
            answer = draft.answer(step.id)
            if answer is None:
                continue
            if answer.text:
                value = f"«{answer.text}»" if quote else answer.text
                typed = True
            elif answer.day is not None:
                value = drafter.date_format.format(
                    day=answer.day.day,
                    month=drafter.months[answer.day.month - 1],
                    year=answer.day.year,
                )
                if answer.time:
                    value += f" ({'«' + answer.time + '»' if quote else answer.time})"
                    typed = typed or quote
            else:
                chosen = [o.text for o in step.options if o.id in answer.picks]
                if not chosen:
                    continue
                value = _join(chosen, drafter.conjunction)
            lines.append(step.sentence.replace("{answer}", value))
        parts = [drafter.title, drafter.opening, "\n".join(lines), drafter.signature]
        if quote and typed:
            parts.append(drafter.typed_note)
        return "\n\n".join(p for p in parts if p)

    def channels(self, lang: str, draft: Draft) -> list[DraftChannel]:
        """The channels whose `when` matches an answer given (or a step skipped)."""
        drafter = self.drafter(lang)
        assert drafter is not None
        given: set[str] = set()
        for step in drafter.steps:
            answer = draft.answer(step.id)
            if answer is None:
                given.add(f"{step.id}.skipped")
                continue
            given.update(f"{step.id}.{p}" for p in answer.picks)
            if answer.text:
                given.add(f"{step.id}.typed")
        return [c for c in drafter.channels if given.intersection(c.when)]


def _awaits_time(step: DraftStep, answer: Answer | None) -> bool:
    """A date step answered with "today" or "yesterday" and asking next for the time."""
    return bool(
        step.time_prompt and answer is not None and answer.day is not None and not answer.time
    )


def _join(items: list[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _has_word(
    words: list[str], wanted: tuple[str, ...], rules: tuple[tuple[str, str], ...]
) -> bool:
    """One of `words` is one of `wanted`, or sounds like it ("keja"), or is within a typo of it
    ("escrivir"). `words` are folded and sounded already."""
    targets = _folded(wanted, rules)
    for word in words:
        if word in targets:
            return True
        if len(word) >= 4 and process.extractOne(word, targets, scorer=fuzz.ratio, score_cutoff=80):
            return True
    return False


@lru_cache(maxsize=64)
def _folded(words: tuple[str, ...], rules: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(_sound(fold(w), rules) for w in words)


def _sound(word: str, rules: tuple[tuple[str, str], ...]) -> str:
    """The word by the language's sound-alike rules, as the matcher's analyzer folds it."""
    for before, after in rules:
        word = word.replace(before, after)
    return word


def _looks_like_question(text: str) -> bool:
    return text.rstrip().endswith("?") and len(_WORD.findall(text)) <= QUESTION_WORDS_MAX


def _typed_option(step: DraftStep, text: str) -> int | None:
    """The option a typed message names ("guardia nacional", "aduana"), if it names one."""
    typed = " ".join(_WORD.findall(fold(text)))
    if not typed:
        return None
    best, best_score = None, 0.0
    for index, option in enumerate(step.options):
        for name in (option.label, option.text):
            score = fuzz.ratio(typed, " ".join(_WORD.findall(fold(name))))
            if score > best_score:
                best, best_score = index, score
    return best if best_score >= 85 else None
