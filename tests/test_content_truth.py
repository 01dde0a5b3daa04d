"""Shipped content: every phone number, amount and deadline a user reads is in the reference facts,
and every answer reads plainly (INFLESZ >= 65 in Spanish, Flesch >= 60 in English, Kandel-Moles
>= 65 in French, sentences of at most 16 words on average in Haitian Creole).

These test the shipped content, not code: a staff edit that adds an unsourced number, or a hard
paragraph, fails here with the topic and the number."""

from __future__ import annotations

import re

import pytest

from bot.config import ROOT
from bot.content.model import Content
from bot.content.readability import FLOORS, SENTENCE_WORDS_MAX, score, sentence_words

FACTS = ROOT / "reference" / "facts.md"  # a copy of the team's sourced facts (see its README)

# A phone number (digits in groups: "800 5533 000", "+1 520 623 7874", "55-1309-9024"), or a
# number with a currency or a time unit after or before it.
PHONE = re.compile(r"(?<![\d.,])\+?\d{1,4}(?:[ -]\d{2,4}){1,4}(?!\d)")
AMOUNT = re.compile(
    r"(?:(?:USD|MXN|US\$|\$)\s?(\d[\d,.]*))|(\d[\d,.]*)\s?(?:dólares|dolares|dollars|dola|pesos|pezo|USD|MXN)",
    re.IGNORECASE,
)
DEADLINE = re.compile(
    r"(\d+)\s?(?:días hábiles|dias habiles|días|dias|business days|working days|days|meses|months|"
    r"años|years|horas|hours|jours ouvrables|jours|mois|ans|heures|jou|mwa|lane|èdtan|edtan)\b",
    re.IGNORECASE,
)
SHORT_NUMBERS = re.compile(r"(?<!\d)(911|089|079|078)(?!\d)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _reference() -> str:
    text = FACTS.read_text(encoding="utf-8")
    # Numbers written with separators in the reference match the same digits anywhere.
    return text + "\n" + re.sub(r"(?<=\d)[ ,.-](?=\d)", "", text)


def _claims(text: str) -> set[str]:
    found = {_digits(m.group()) for m in PHONE.finditer(text)}
    found |= {_digits(a or b) for a, b in AMOUNT.findall(text)}
    found |= set(DEADLINE.findall(text))
    found |= set(SHORT_NUMBERS.findall(text))
    return {d for d in found if d and not re.fullmatch(r"(19|20)\d\d", d)}


@pytest.mark.shipped_content
def test_every_phone_number_amount_and_deadline_is_in_the_reference_facts(
    content: Content,
) -> None:
    reference = _reference()
    known = set(re.findall(r"\d+", reference))
    unsourced = []
    for code, language in content.languages.items():
        texts = [(e.id, e.answer) for e in language.entries.values()]
        texts.append(("safety.message", language.safety.message))
        if language.drafter is not None:  # where to send a complaint, and what each channel asks
            texts += [(f"drafter {c.id}", c.text) for c in language.drafter.channels]
            texts.append(("drafter done", language.drafter.done))
        for topic, text in texts:
            for number in sorted(_claims(text)):
                if number not in known:
                    unsourced.append(f"{code} {topic}: {number}")
    assert not unsourced, "numbers not in facts.md:\n" + "\n".join(unsourced)


@pytest.mark.shipped_content
@pytest.mark.parametrize("lang", ["es", "en", "fr"])
def test_every_answer_reads_plainly(content: Content, lang: str) -> None:
    hard = [
        f"{entry.id}: {value:.1f}"
        for entry in content.languages[lang].entries.values()
        if (value := score(entry.answer, lang)) is not None and value < FLOORS[lang]
    ]
    assert not hard, f"{lang} answers below {FLOORS[lang]}: {hard}"


@pytest.mark.shipped_content
def test_kreyol_answers_keep_their_sentences_short(content: Content) -> None:
    long = [
        f"{entry.id}: {words:.1f}"
        for entry in content.languages["ht"].entries.values()
        if (words := sentence_words(entry.answer)) > SENTENCE_WORDS_MAX
    ]
    assert not long, f"ht answers with long sentences: {long}"


def test_the_readability_scores_are_the_published_formulas() -> None:
    easy_es = "Hola. Esto es una prueba. Las frases son cortas. Todo se entiende bien."
    hard_es = (
        "La consolidación administrativa de procedimientos interinstitucionales "
        "correspondientes a la regularización migratoria extraordinaria requiere documentación."
    )
    assert (score(easy_es, "es") or 0) > 80 > (score(hard_es, "es") or 100)
    easy_en = "This is easy. The words are short. You can read it fast."
    hard_en = (
        "Institutional consolidation of administrative procedures necessitates comprehensive "
        "documentation of extraordinary regularization circumstances."
    )
    assert (score(easy_en, "en") or 0) > 80 > (score(hard_en, "en") or 100)
    easy_fr = "Ceci est facile. Les mots sont courts. On lit vite."
    hard_fr = (
        "La consolidation institutionnelle des procédures administratives nécessite une "
        "documentation exhaustive des circonstances extraordinaires de régularisation."
    )
    assert (score(easy_fr, "fr") or 0) > 80 > (score(hard_fr, "fr") or 100)
    assert score("Bonjou", "ht") is None  # no formula for that language: not scored...
    # ...but its sentences are measured.
    assert sentence_words("M la. Nou la!\nKote w?") == 2.0


def test_the_claims_a_user_could_act_on_are_found() -> None:
    text = (
        "Llama al 800 123 4567 o al 911; paga USD 999 (o 1,500 pesos) en 45 días hábiles. En 2025."
    )
    assert _claims(text) == {"8001234567", "911", "999", "1500", "45"}
