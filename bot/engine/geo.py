"""Distances on the Earth, for ranking Grupos Beta by how near they are."""

from __future__ import annotations

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
    """The `count` places nearest to (lat, lon), with their great-circle distance in km."""
    ranked = sorted(
        ((p, distance_km(lat, lon, p.lat, p.lon)) for p in places), key=lambda pd: (pd[1], pd[0].id)
    )
    return ranked[:count]


def valid_coordinates(lat: float, lon: float) -> bool:
    """Finite latitude in [-90, 90] and longitude in [-180, 180]."""
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
