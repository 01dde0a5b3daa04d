"""UI strings (buttons, prompts, errors) through gettext catalogs in `locale/<lang>/LC_MESSAGES`.

Message ids are English. Any string a language's catalog lacks falls back to Spanish, the
language most users read. Adding a language means adding its `messages.po`; no code changes.
A compiled `messages.mo` is used when it is at least as new as the `.po`; otherwise the `.po` is
read directly, so an edited catalog never shows stale text.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.core import parse_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "messages"
FALLBACK = "es"  # when nobody says otherwise; a deployment passes its default language


def N_(message: str) -> str:
    """Marks a string for extraction (`make i18n`) whose translation happens later."""
    return message


def base_language(code: str | None) -> str | None:
    """'es-MX' -> 'es', 'en_US' -> 'en', 'zh-Hant-TW' -> 'zh': platforms send IETF tags or POSIX
    locales (babel parses both). None for nothing or for what is no language tag at all; a
    well-formed tag for a language Orienta does not serve is returned as is (the engine decides)."""
    if not code or not code.strip():
        return None
    code = code.strip()
    try:
        language = parse_locale(code, sep="-" if "-" in code else "_")[0]
    except ValueError:
        # Private-use and extension subtags ("en-US-x-twain") are valid BCP 47 that babel's
        # parser refuses: the first subtag is still the language.
        head = code.replace("_", "-").split("-")[0]
        return head.lower() if head.isascii() and head.isalpha() else None
    return language.lower()


def _load(locale_dir: Path, lang: str) -> gettext.NullTranslations | None:
    folder = locale_dir / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    if po.exists():
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=None, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return None


class Catalogs:
    """One translation chain per language, built lazily and kept."""

    def __init__(self, locale_dir: Path, fallback: str = FALLBACK) -> None:
        self.locale_dir = Path(locale_dir)
        self.fallback = fallback  # untranslated strings show in this language
        self._chains: dict[str, gettext.NullTranslations] = {}

    def get(self, lang: str) -> gettext.NullTranslations:
        chain = self._chains.get(lang)
        if chain is None:
            fallback = _load(self.locale_dir, self.fallback) or gettext.NullTranslations()
            own = _load(self.locale_dir, lang) if lang != self.fallback else None
            if own is None:
                chain = fallback
            else:
                own.add_fallback(fallback)
                chain = own
            self._chains[lang] = chain
        return chain

    def gettext(self, lang: str, message: str) -> str:
        return self.get(lang).gettext(message)

    def available(self) -> list[str]:
        return sorted(
            p.parent.parent.name for p in self.locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        )
