"""Help near me, by kind: Grupos Beta, COMAR offices, shelters, reception centres for deported
Mexicans, consulates (`places.yaml`).

A shared location first lists the nearest Grupos Beta (as always) with a button for each other
kind; a chosen state does the same from the middle of that state's places. A kind shows its
three nearest places with the distance, what that kind of place offers, the address and operator
where our source gives them, and when the source last confirmed it. Consulates go through the
list of countries first. The point travels in the buttons, rounded to two decimals (about a km,
the precision of the city-centre coordinates), and is never stored.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.content.model import Place
from bot.engine import geo
from bot.engine.copy import Copy
from bot.engine.payload import (
    Action,
    ConsulatesView,
    CountriesView,
    KindsView,
    NearView,
    View,
    encode,
    point,
)
from bot.engine.replies import Button, PlaceHit, PlacesReply, TextReply
from bot.i18n import N_

NEAREST_COUNT = 3
FAR_KM = 300.0  # beyond this the "nearest" is no practical help on foot
KIND_ORDER = ("grupo_beta", "comar", "shelter", "reception", "consulate", "inm")


KIND_LABELS = {
    "grupo_beta": N_("🧡 Grupos Beta"),
    "comar": N_("🛂 COMAR (asylum)"),
    "shelter": N_("🏠 Shelters"),
    "reception": N_("🇲🇽 Help for deported Mexicans"),
    "consulate": N_("🏳️ My consulate"),
    "inm": N_("🏢 INM offices"),
}
KIND_OFFERS = {
    "comar": N_("COMAR is where you ask for asylum (refugee status). Asking is free."),
    "shelter": N_(
        "Shelters (casas del migrante), mostly run by churches or groups: a bed, meals and help, often for free. Each has its own rules and may be full."
    ),
    "reception": N_(
        "For Mexicans sent back from the United States: reception centres (“México te abraza”) and INM repatriation points."
    ),
    "consulate": N_("Your country's consulate serves its citizens in Mexico."),
    "inm": N_("Offices of the National Migration Institute."),
}


class Places(Copy):
    """The screens of places by kind. Needs `content`, `catalogs`, `_nav` and `_topic_buttons`
    (the Engine has them)."""

    _nav: Callable[..., tuple[Button, ...]]
    _topic_buttons: Callable[..., tuple[Button, ...]]

    def _kind_buttons(
        self, lang: str, lat: float, lon: float, skip: tuple[str, ...] = ()
    ) -> tuple[Button, ...]:
        """A button for each kind of place the data has, in one fixed order on every screen."""
        _ = self._t(lang)
        at = point(lat, lon)
        buttons = []
        for kind in KIND_ORDER:
            if kind in skip or kind not in self.content.by_kind:
                continue
            view: View = CountriesView(*at) if kind == "consulate" else NearView(*at, kind)
            buttons.append(Button(_(KIND_LABELS[kind]), encode(Action.SHOW, lang, view)))
        return tuple(buttons)

    def _kinds(self, lang: str, view: KindsView) -> TextReply:
        _ = self._t(lang)
        lat, lon = view.coordinates
        return TextReply(
            _("What are you looking for near you?"),
            self._kind_buttons(lang, lat, lon),
            self._nav(lang, view),
        )

    def _near(self, lang: str, view: NearView) -> PlacesReply | None:
        places = self.content.by_kind.get(view.place_kind)
        if not places:
            return None
        _ = self._t(lang)
        heading = _("{kind}, nearest first:").format(
            kind=_(KIND_LABELS.get(view.place_kind, view.place_kind))
        )
        return self._ranked(
            lang, places, view, heading, view.place_kind, KindsView(view.lat, view.lon)
        )

    def _countries(self, lang: str, view: CountriesView) -> TextReply:
        _ = self._t(lang)
        buttons = tuple(
            Button(country, encode(Action.SHOW, lang, ConsulatesView(view.lat, view.lon, country)))
            for country in self.content.countries
        )
        text = _("Which country's consulate? These are the ones we have:")
        return TextReply(text, buttons, self._nav(lang, view, KindsView(view.lat, view.lon)))

    def _consulates(self, lang: str, view: ConsulatesView) -> PlacesReply | None:
        places = tuple(
            p for p in self.content.by_kind.get("consulate", ()) if p.country == view.country
        )
        if not places:
            return None
        _ = self._t(lang)
        heading = _("Consulates of {country}, nearest first:").format(country=view.country)
        back = CountriesView(view.lat, view.lon)
        return self._ranked(lang, places, view, heading, "consulate", back)

    def _ranked(
        self,
        lang: str,
        places: tuple[Place, ...],
        view: NearView | ConsulatesView,
        heading: str,
        kind: str,
        back: View,
    ) -> PlacesReply:
        _ = self._t(lang)
        lat, lon = view.coordinates
        ranked = geo.nearest(places, lat, lon, NEAREST_COUNT)
        lines = [heading]
        if kind in KIND_OFFERS:
            lines.append(_(KIND_OFFERS[kind]))
        hits = []
        for number, (place, km) in enumerate(ranked, 1):
            lines.append("\n" + self._distance_line(lang, number, place, km))
            if place.address:
                lines.append(
                    _("Address given by our source: {address}").format(address=place.address)
                )
            if place.operator:
                lines.append(_("Run by: {operator}").format(operator=place.operator))
            lines.append(
                _("Last confirmed: {date} ({source})").format(
                    date=place.evidence_date, source=place.source
                )
            )
            hits.append(PlaceHit(place.name, place.city, place.state, place.lat, place.lon, km))
        if ranked and ranked[0][1] > FAR_KM:
            lines.append("\n" + _("They are all far from you. If you need help now, call 911."))
        lines.append("\n" + self._places_caveat(lang))
        buttons = self._kind_buttons(lang, lat, lon, skip=(kind,))
        if kind == "grupo_beta":
            buttons = (*self._topic_buttons(lang, (self.content.roles.beta_services,)), *buttons)
        return PlacesReply("\n".join(lines), tuple(hits), buttons, self._nav(lang, view, back))

    def _distance_line(self, lang: str, number: int, place: Place, km: float) -> str:
        """ "1. Name – City, State: about 12 km". Coordinates are city centres: under 1 km a
        figure would be false precision, and whole kilometres are the finest that is honest."""
        _ = self._t(lang)
        line = (
            _("{n}. {name} – {city}, {state}: less than 1 km")
            if km < 1
            else _("{n}. {name} – {city}, {state}: about {km} km")
        )
        return line.format(
            n=number, name=place.name, city=place.city, state=place.state, km=round(km)
        )

    def _places_caveat(self, lang: str) -> str:
        _ = self._t(lang)
        return _(
            "The locations are city centres, not the office: use them to see what is nearest. “Last confirmed” is the date of our source: places move and close, so check before you go. We have no verified phone numbers. In an emergency call 911."
        )

    def _state_point(self, state: str) -> tuple[float, float] | None:
        """The middle of a state's places, to rank places "near" a chosen state."""
        found = [p for p in self.content.places if p.state == state]
        if not found:
            return None
        return sum(p.lat for p in found) / len(found), sum(p.lon for p in found) / len(found)
