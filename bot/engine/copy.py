"""The engine's UI copy: the texts it assembles from the catalogs and the content (welcome,
help, sources, caveats). Kept apart from the screens that place them."""

from __future__ import annotations

from collections.abc import Callable

from bot.content.model import Content, Entry
from bot.i18n import Catalogs

Translate = Callable[[str], str]


class Copy:
    """Texts in a language. Needs `content` and `catalogs` (the Engine has both)."""

    content: Content
    catalogs: Catalogs

    def _t(self, lang: str) -> Translate:
        return self.catalogs.get(lang).gettext

    def _welcome(self, lang: str) -> str:
        _ = self._t(lang)
        return (
            _(
                "Hi! I am Orienta. I give free information about your rights as a migrant or traveller in Mexico: Paisano trips, complaints against officials, your rights whatever your papers, safety and the Grupos Beta. I do not ask your name and I do not save your messages."
            )
            + "\n\n"
            + self._menu_intro(lang)
        )

    def _menu_intro(self, lang: str) -> str:
        _ = self._t(lang)
        return _("Write your question in your own words, or choose a topic:")

    def _help(self, lang: str) -> str:
        _ = self._t(lang)
        return _(
            "Write your question in your own words, for example “how much can I bring without paying taxes” or “they asked me for a bribe”. My answers come from public official sources and the press, with the source under each answer. I am not a lawyer.\n\n/menu – main menu\n/language – change language\n/about – who runs this service\n/privacy – what we store\n\nTo find the nearest Grupo Beta, share your location: on WhatsApp or Telegram, tap 📎 and then Location; in the terminal, type /loc and the coordinates, for example /loc 16.55, -94.90. In an emergency call 911."
        )

    def _operator(self, lang: str) -> str:
        _ = self._t(lang)
        operator = self.content.operator
        if operator.name and operator.contact:
            return _("This service is run by {name}. Contact: {contact}").format(
                name=operator.name, contact=operator.contact
            )
        return _(
            "Whoever runs this copy of Orienta has not yet said who they are or how to reach them."
        )

    def _source_line(self, lang: str, entry: Entry) -> str:
        _ = self._t(lang)
        return _("Source: {source}\nReviewed: {date}").format(
            source=" · ".join(entry.source), date=entry.reviewed.isoformat()
        )

    def _beta_caveat(self, lang: str) -> str:
        _ = self._t(lang)
        return _(
            "Locations are approximate (the city, not the office). We have no verified phone number or address for any Grupo Beta. Their agents wear orange and help whatever your papers. In an emergency call 911."
        )
