"""Take out of a question what could identify anyone, before it is ever stored.

Hand-written on purpose: the well-kept PII tools (Presidio, scrubadub) need spaCy models
downloaded at run time, are tuned for English, and would add hundreds of megabytes for a few
regular expressions. What is replaced, by a placeholder in brackets:

- web links and emails ([link], [email]); @handles ([@user]);
- phone numbers in any usual writing: 7 or more digits with spaces, dashes, dots, brackets or a
  leading + ([phone]);
- document and case numbers: a run of 6 or more digits, or a word mixing letters and 4 or more
  digits, such as a passport or CURP ([number]). Amounts ("500 pesos", "1,000 dólares") stay;
- addresses: a street word (calle, avenida, colonia, street, rue, ri...) with the words and
  number after it, or a number before an English street word ([address]);
- names, where they can be told: the words after "me llamo", "my name is", "je m'appelle",
  "mwen rele"... and any capitalised word Orienta's own content never uses ("Xochitl",
  "Dubois"); place names the content knows ("Tijuana", "Honduras") stay, since they help staff.

It errs on the side of taking out: a capitalised word unknown to the content goes even when it
was not a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.matching.analyzer import fold

LINK = re.compile(
    r"\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|info|mx|gob|gov|io|me|ly|co|ht|fr|us)(?:/\S*)?\b",
    re.IGNORECASE,
)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
HANDLE = re.compile(r"(?<![\w@])@\w{2,}")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")
DIGITS = re.compile(r"\d")
DOCUMENT = re.compile(r"\b(?=\w*\d)(?:\d{6,}|(?=(?:\D*\d){4})[A-Za-z0-9]{6,})\b")
STREET = (
    r"calle|c/|avenida|av\.?|avda\.?|boulevard|blvd\.?|bulevar|calzada|privada|colonia|col\.|"
    r"fraccionamiento|fracc\.?|barrio|manzana|mz\.?|lote|rue|ri|chemin|impasse|allée|lari"
)
_STREET = rf"(?i:{STREET})"
ADDRESS = re.compile(
    rf"(?:\b\d+,?\s+)?\b{_STREET}\s+(?:[\w.'’-]+\s+){{0,3}}?(?:#\s?|(?i:n)[oº°]\.?\s?)?\d+[a-zA-Z]?\b"
    rf"|(?:\b\d+,?\s+)?\b{_STREET}\s+(?:(?i:de\s+la|del|de|la|el|du|de\s+la)\s+)?"
    r"[A-ZÁÉÍÓÚÑÈÉ][\w'’-]*(?:\s+[A-ZÁÉÍÓÚÑ][\w'’-]*){0,2}"
    r"|\b\d+\s+(?:[A-Z][\w'’-]*\s+){1,3}(?i:street|st\.?|avenue|ave\.?|road|rd\.?|drive|dr\.?|lane|ln\.?|boulevard|blvd\.?|way|court|ct\.?)\b"
)
# Words that introduce a name, and up to three words after them (until "y", "from", a comma).
# "soy", "I am" and "je suis" introduce many other things ("soy de Honduras", "I am lost"):
# after them only capitalised words count.
_STOP = "y|e|o|de|del|la|el|los|las|and|or|from|of|at|in|et|ou|du|des|le|les|epi|ak|nan|soti"
_W = r"[^\W\d_][\w'’-]*"
NAME_AFTER_CUE = re.compile(
    r"(\b(?:me llamo|mi nombre es|me dicen|my name is|my name's|call me|je m['’]appelle|"
    r"mon nom est|mwen rele|m rele|non mwen se|non m se|rele m)\s+)"
    rf"(?!(?:{_STOP})\b){_W}(?:[ \t]+(?!(?:{_STOP})\b){_W}){{0,2}}",
    re.IGNORECASE,
)
_CAP = r"[A-ZÁÉÍÓÚÑÀÈÌÒÙÂÊÎÔÛÇ][\w'’-]+"
NAME_AFTER_WEAK_CUE = re.compile(
    rf"(\b(?i:soy|i am|i'm|je suis|mwen se)\s+){_CAP}(?:\s+{_CAP}){{0,2}}"
)
WORD = re.compile(r"[^\W\d_][\w'’-]*")


def scrub(text: str, known: Iterable[str] | frozenset[str] = frozenset()) -> str:
    """`text` with links, emails, handles, phones, document numbers, addresses and names
    replaced by placeholders. `known`: the folded words of the content (kept when capitalised)."""
    vocabulary = known if isinstance(known, frozenset) else frozenset(known)
    out = LINK.sub("[link]", EMAIL.sub("[email]", text))
    out = HANDLE.sub("[@user]", out)
    out = PHONE.sub(_phone, out)
    out = DOCUMENT.sub("[number]", out)
    out = ADDRESS.sub("[address]", out)
    out = NAME_AFTER_CUE.sub(r"\1[name]", out)
    out = NAME_AFTER_WEAK_CUE.sub(_weak, out)
    out = WORD.sub(lambda m: _unknown_capital(m.group(0), vocabulary), out)
    # "[name] [name]" -> "[name]"
    return re.sub(r"(\[(?:name|address|number|phone)\])(?:[\s,]+\1)+", r"\1", out)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    return "[phone]" if len(DIGITS.findall(found)) >= 7 else found


def _weak(match: re.Match[str]) -> str:
    return match.group(1) + "[name]"


def _unknown_capital(word: str, known: frozenset[str]) -> str:
    """A capitalised word the content never uses is taken for a name."""
    if len(word) < 2 or not word[0].isupper() or word.isupper():
        return word  # lowercase, an initial, or an acronym (INM, CNDH)
    folded = fold(word)
    if folded in known or folded.rstrip("s") in known:
        return word
    return "[name]"
