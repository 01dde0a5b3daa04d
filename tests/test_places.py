"""Help near me, by kind: from a shared location or a chosen state to the nearest COMAR office,
shelter, reception centre or consulate; the places data checked against the reference; links
from answers and from the danger banner."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml

from bot.channels.pipeline import Pipeline
from bot.content.loader import load_content, read_content
from bot.content.model import Content
from bot.content.problems import ContentError, Report
from bot.engine import geo
from bot.engine.engine import Engine
from bot.engine.events import Location, Press, Text
from bot.engine.replies import PlacesReply, Response, TextReply
from bot.engine.views import ENGINE_CHECKS

pytestmark = pytest.mark.shipped_content

TAPACHULA = (14.90, -92.26)
REYNOSA = (26.08, -98.29)
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "places.yaml"


class Person:
    def __init__(self, engine: Engine) -> None:
        self.pipeline = Pipeline("test", lambda: engine)
        self.last: Response | None = None
        self.presses = 0

    def share(self, lat: float, lon: float, lang: str = "es") -> Response:
        self.last = self.pipeline.answer_now(1, Location(lat, lon, lang))
        return self.last

    def press(self, label: str) -> Response:
        assert self.last is not None
        labels = [b.label for r in self.last.replies for b in getattr(r, "all_buttons", ())]
        button = next(
            (
                b
                for r in self.last.replies
                for b in getattr(r, "all_buttons", ())
                if b.label == label
            ),
            None,
        )
        assert button is not None, f"no {label!r} in {labels}"
        self.presses += 1
        self.last = self.pipeline.answer_now(1, Press(button.payload))
        return self.last


def names(response: Response) -> list[str]:
    (reply,) = response.replies
    assert isinstance(reply, PlacesReply)
    return [p.name for p in reply.places]


def ordered_by_distance(content: Content, kind: str, at: tuple[float, float]) -> list[str]:
    return [p.name for p, _ in geo.nearest(content.by_kind[kind], *at, count=3)]


def test_from_tapachula_comar_a_shelter_and_two_consulates_within_three_presses(
    engine: Engine, content: Content
) -> None:
    person = Person(engine)
    first = person.share(*TAPACHULA)
    assert first.replies[0].text.startswith("Los Grupos Beta más cercanos")  # as always
    comar = person.press("🛂 COMAR (asilo)")
    assert names(comar) == ordered_by_distance(content, "comar", TAPACHULA)
    assert names(comar)[0] == "COMAR – Centro Multiservicios, Tapachula"
    text = comar.replies[0].text
    assert "a menos de 1 km" in text and "Última confirmación: 2025-09-30" in text
    assert "En la COMAR se pide asilo" in text and "911" in text
    shelters = person.press("🏠 Albergues")
    assert names(shelters) == ordered_by_distance(content, "shelter", TAPACHULA)
    assert shelters.replies[0].text.count("Tapachula, Chiapas: a menos de 1 km") == 2
    person.press("🏳️ Mi consulado")
    guatemala = person.press("Guatemala")
    assert names(guatemala)[0] == "Consulado General de Guatemala en Tapachula"
    person.press("⬅️ Atrás")
    honduras = person.press("Honduras")
    assert names(honduras) == [
        "Consulado General de Honduras en Villahermosa",
        "Consulado General de Honduras en Guadalajara",
    ]
    assert "Todos están lejos de ti" in honduras.replies[0].text
    # Each was at most three presses from the shared location (Guatemala: 2; Honduras: 2 more).
    assert person.presses == 6


def test_from_reynosa_the_reception_centre_in_one_press(engine: Engine) -> None:
    person = Person(engine)
    person.share(*REYNOSA, lang="en")
    reception = person.press("🇲🇽 Help for deported Mexicans")
    assert 'Centro de Atención a Migrantes "México te abraza" – Reynosa' in names(reception)[:2]
    assert "less than 1 km" in reception.replies[0].text


def test_every_place_shown_says_when_it_was_last_confirmed(
    engine: Engine, content: Content
) -> None:
    person = Person(engine)
    for kind, label in (("shelter", "🏠 Shelters"), ("reception", "🇲🇽 Help for deported Mexicans")):
        person.share(*TAPACHULA, lang="en")
        reply = person.press(label).replies[0]
        assert isinstance(reply, PlacesReply)
        for place in reply.places:
            (found,) = [p for p in content.by_kind[kind] if p.name == place.name]
            assert f"Last confirmed: {found.evidence_date}" in reply.text


def test_a_chosen_state_offers_the_kinds_near_it(engine: Engine) -> None:
    person = Person(engine)
    person.last = person.pipeline.answer_now(1, Text("/menu", "es"))
    person.last = engine.handle(Press("v|es|g|Tabasco"))
    comar = person.press("🛂 COMAR (asilo)")
    assert {"COMAR – Villahermosa office", "COMAR – Tenosique office"} <= set(names(comar))


def test_answers_and_the_danger_banner_lead_here(engine: Engine) -> None:
    asylum = engine.handle(Press("v|es|t|rights.asylum")).replies[0]
    assert isinstance(asylum, TextReply)
    near = next(b for b in asylum.buttons if b.label == "📍 🛂 COMAR (asilo) cerca de mí")
    assert engine.handle(Press(near.payload)).replies[0].text.startswith("Comparte tu ubicación")
    for topic, label in (
        ("rights.shelters", "📍 🏠 Albergues cerca de mí"),
        ("paisano.returnees", "📍 🇲🇽 Ayuda a deportados cerca de mí"),
    ):
        reply = engine.handle(Press(f"v|es|t|{topic}")).replies[0]
        assert label in [b.label for b in reply.buttons]  # type: ignore[union-attr]
    danger = engine.handle(Text("me estan siguiendo unos hombres armados, ayuda", "es"))
    assert "Cuidarte en el camino" in [b.label for b in danger.replies[0].buttons]  # type: ignore[union-attr]
    beta = engine.handle(Location(*TAPACHULA, "es")).replies[0]
    assert "Cuidarte en el camino" in [b.label for b in beta.buttons]  # type: ignore[union-attr]


def test_a_forged_point_gets_the_menu(engine: Engine) -> None:
    for forged in ("v|es|k|nan:1:comar", "v|es|k|99:1:comar", "v|es|k|14.9:-92.2:spaceport"):
        assert "ya no funciona" in engine.handle(Press(forged)).replies[0].text


def test_the_console_shows_coordinates_and_a_map_link(engine: Engine) -> None:
    from bot.handlers.console import ConsoleChat

    out = io.StringIO()
    console = ConsoleChat(engine, out, "en")
    console.handle_line("/loc 14.90 -92.26")
    number = next(i for i, b in enumerate(console.buttons, 1) if b.label == "🛂 COMAR (asylum)")
    console.handle_line(str(number))
    shown = out.getvalue()
    assert "📍 COMAR – Centro Multiservicios, Tapachula: 14.90, -92.26" in shown
    assert "https://www.openstreetmap.org/?mlat=14.90&mlon=-92.26" in shown


# ---------------------------------------------------------------------- the data


def test_no_address_or_phone_that_the_reference_does_not_give(content: Content) -> None:
    reference = {p["id"]: p for p in yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))}
    services = [p for p in content.places if p.kind != "grupo_beta"]
    assert len(services) == len(reference) == 56
    for place in services:
        given = reference[place.id]
        assert place.address == given.get("address", ""), place.id
        assert place.operator == given.get("operator", ""), place.id
        assert (place.lat, place.lon, place.evidence_date) == (
            given["lat"],
            given["lon"],
            str(given["evidence_date"]),
        )
    text = (Path(__file__).resolve().parents[1] / "content" / "places.yaml").read_text()
    assert not re.search(r"^\s*(?:- )?phone:", text, re.MULTILINE)
    assert len(content.beta) == 17 and content.unverified_states == ("Tabasco",)
    groups = {
        f"beta-{g['id']}": g
        for g in yaml.safe_load((REFERENCE.parent / "grupos_beta.yaml").read_text(encoding="utf-8"))
    }
    for place in content.beta:
        given = groups[place.id]
        assert (place.name, place.lat, place.lon, place.source, place.address) == (
            given["name"],
            given["lat"],
            given["lon"],
            given["source"],
            "",
        )


def _places_error(content_copy: Path, old: str, new: str) -> str:
    path = content_copy / "places.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, checks=ENGINE_CHECKS)
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: comar", "kind: embassy", "unknown kind 'embassy'"),
        ("lat: 14.9\n", "lat: 41.9\n", "'lat' = 41.9 is outside"),
        ("  country: Guatemala\n", "", "a consulate needs its 'country'"),
        ("  coords_are: city_centre\n", "  phone: 55 1234 5678\n", "no phone numbers"),
        ("evidence_date: '2025-09-30'", "evidence_date: 'last year'", "names no year"),
    ],
)
def test_places_errors_name_the_line(content_copy: Path, old: str, new: str, message: str) -> None:
    error = _places_error(content_copy, old, new)
    assert "places.yaml:" in error and message in error


def test_old_evidence_is_warned_about(content_copy: Path) -> None:
    report = Report()
    read_content(content_copy, report)
    old = [str(p) for p in report.warnings if "more than two years old" in str(p)]
    assert any("beta-ciudad-acuna" in w and "2013-08-14" in w for w in old)
    assert not any("comar-tapachula" in w for w in old)  # 2025: recent


def test_the_shortlist_ranks_exactly_as_haversine_over_everything(content: Content) -> None:
    import random
    from dataclasses import replace

    rng = random.Random(7)
    places = list(content.places) + [
        replace(
            content.places[0], id=f"s{n}", lat=rng.uniform(14.6, 32.6), lon=rng.uniform(-117, -86.8)
        )
        for n in range(1000)
    ]
    for _ in range(300):
        lat, lon = rng.uniform(14.6, 32.6), rng.uniform(-117, -86.8)
        exact = sorted(places, key=lambda p: (geo.distance_km(lat, lon, p.lat, p.lon), p.id))[:3]
        assert [p.id for p, _ in geo.nearest(places, lat, lon, 3)] == [p.id for p in exact]
