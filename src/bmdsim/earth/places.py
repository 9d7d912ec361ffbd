"""Named places: launch sites, defended cities and bases, sensor and interceptor sites.

The catalog is ``bmdsim/data/places.toml`` (coordinates and a source for every place). Names
and aliases match ignoring case, accents, punctuation and spaces, so "ft. greely",
"FORT GREELY" and "Fort-Greely" all find "Fort Greely (GBI), Alaska". `resolve_point` is the
edge where user text ("Pyongyang", "39.02, 125.74" or a (lat, lon) pair) becomes a `Place`.
"""

from __future__ import annotations

import functools
import math
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources

from bmdsim.errors import BmdsimInputError, UnknownNameError

KINDS = ("launch-site", "city", "base", "sensor-site", "interceptor-site", "island")
"""Kinds of catalog place. A point given as coordinates has kind ``"point"``."""

LAT_ALLOWED = "latitude must be within [-90, 90] degrees"
LON_ALLOWED = "longitude must be within [-180, 360) degrees"
POINT_ALLOWED = ("a place name (e.g. 'Pyongyang'), 'LAT,LON' in decimal degrees "
                 "(e.g. '39.02, 125.74'), or a (lat, lon) pair")


@dataclass(frozen=True)
class Place:
    """A point on the WGS-84 ellipsoid with a name.

    lat_deg, lon_deg: geodetic latitude and longitude, degrees, longitude in [-180, 180).
    kind: one of KINDS, or "point" for coordinates given by the user.
    source: where the coordinates come from.
    aliases: other names that find this place in the catalog.
    """

    name: str
    lat_deg: float
    lon_deg: float
    kind: str
    source: str
    aliases: tuple[str, ...] = ()


def _key(text: str) -> str:
    """Lookup key: case-folded, accents stripped, only letters and digits kept."""
    t = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in t if ch.isalnum())


def _normalise_lon(lon_deg: float) -> float:
    """Longitude in [-180, 360) to [-180, 180), exactly (one subtraction)."""
    return lon_deg - 360.0 if lon_deg >= 180.0 else lon_deg


@dataclass(frozen=True)
class _Catalog:
    places: tuple[Place, ...]
    by_key: dict[str, Place]
    known: tuple[str, ...]     # names and aliases, for suggestions


@functools.cache
def _catalog() -> _Catalog:
    text = resources.files("bmdsim").joinpath("data", "places.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text).get("place", [])
    places: list[Place] = []
    by_key: dict[str, Place] = {}
    known: list[str] = []
    for i, row in enumerate(raw):
        where = f"places.toml [[place]] #{i + 1} ({row.get('name', '?')!r})"
        missing = {"name", "lat_deg", "lon_deg", "kind", "source"} - set(row)
        if missing:
            raise ValueError(f"{where}: missing {sorted(missing)}")
        lat, lon = float(row["lat_deg"]), float(row["lon_deg"])
        if not -90.0 <= lat <= 90.0 or not -180.0 <= lon < 180.0:
            raise ValueError(f"{where}: coordinates ({lat}, {lon}) out of range")
        if row["kind"] not in KINDS:
            raise ValueError(f"{where}: kind {row['kind']!r} is not one of {KINDS}")
        aliases = tuple(row.get("aliases", ()))
        place = Place(row["name"], lat, lon, row["kind"], row["source"], aliases)
        for label in (place.name, *aliases):
            k = _key(label)
            if not k:
                raise ValueError(f"{where}: name or alias {label!r} has no letters or digits")
            if k in by_key:
                raise ValueError(f"{where}: {label!r} clashes with {by_key[k].name!r}")
            by_key[k] = place
            known.append(label)
        places.append(place)
    return _Catalog(tuple(places), by_key, tuple(known))


def all_places(kind: str | None = None) -> tuple[Place, ...]:
    """Every place in the catalog, in file order; only those of one kind if kind is given."""
    places = _catalog().places
    if kind is None:
        return places
    if kind not in KINDS:
        raise UnknownNameError("kind", str(kind), KINDS)
    return tuple(p for p in places if p.kind == kind)


def get_place(name: str) -> Place:
    """The catalog place with this name or alias (case, punctuation and spaces ignored).

    Raises UnknownNameError, which suggests close names, when nothing matches.
    """
    if not isinstance(name, str):
        raise BmdsimInputError("place", name, "a place name must be text")
    cat = _catalog()
    try:
        return cat.by_key[_key(name)]
    except KeyError:
        raise UnknownNameError("place", name, cat.known) from None


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _point(lat: float, lon: float, field: str, value: object) -> Place:
    if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
        raise BmdsimInputError(field, value, LAT_ALLOWED)
    if not math.isfinite(lon) or not -180.0 <= lon < 360.0:
        raise BmdsimInputError(field, value, LON_ALLOWED)
    lon = _normalise_lon(lon)
    return Place(f"{lat:.6f},{lon:.6f}", lat, lon, "point", "user coordinates")


def resolve_point(text: str | tuple[float, float] | list[float] | Place,
                  field: str = "launch") -> Place:
    """A place from user input: a catalog name or alias, 'LAT,LON', or a (lat, lon) pair.

    'LAT,LON' is decimal degrees, north and east positive, spaces allowed around the numbers
    ("39.02, 125.74"). Latitude must be in [-90, 90] and longitude in [-180, 360); longitude
    is returned normalised to [-180, 180). Errors name `field` (the scenario field being read),
    the value and what is allowed; unknown names come with close suggestions.
    """
    if isinstance(text, Place):
        return text
    if isinstance(text, (tuple, list)):
        if len(text) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                 for v in text):
            raise BmdsimInputError(field, text, POINT_ALLOWED)
        return _point(float(text[0]), float(text[1]), field, text)
    if not isinstance(text, str):
        raise BmdsimInputError(field, text, POINT_ALLOWED)
    parts = text.split(",")
    if len(parts) == 2:
        lat, lon = _parse_float(parts[0]), _parse_float(parts[1])
        if lat is not None and lon is not None:
            return _point(lat, lon, field, text)
    cat = _catalog()
    try:
        return cat.by_key[_key(text)]
    except KeyError:
        raise UnknownNameError(field, text, cat.known) from None
