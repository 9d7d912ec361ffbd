"""The sensor catalog, ``data/sensors.toml``: open-literature figures, each with its source.

Names match ignoring case, spaces and punctuation ("Cape Cod", "cape-cod", "CAPECOD"); an
unknown name raises `UnknownNameError` with close suggestions. A radar entry may give its site
as ``site_place`` (a name in the place catalog, ``data/places.toml``), which fills
site_lat_deg, site_lon_deg and site_name.

Overrides: `get_sensor(name, overrides)` and `with_overrides(spec, overrides)` return a
validated copy; a bad value raises `BmdsimInputError` naming the field (``sensor.revisit_s``),
the value and the rule. The key ``site`` takes a place name, 'LAT,LON' or a (lat, lon) pair
(`bmdsim.earth.places.resolve_point`) and moves a radar there (e.g. the SBX to another station).
"""

from __future__ import annotations

import functools
import tomllib
import unicodedata
from collections.abc import Mapping
from importlib import resources

from pydantic import TypeAdapter, ValidationError

from bmdsim.earth.places import get_place, resolve_point
from bmdsim.errors import BmdsimInputError, UnknownNameError
from bmdsim.sensors.spec import InfraredSpec, RadarSpec, SensorSpec

_ADAPTER: TypeAdapter = TypeAdapter(SensorSpec)


def _key(text: str) -> str:
    t = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in t if ch.isalnum())


def _from_place(entry: dict) -> dict:
    entry = dict(entry)
    place = entry.pop("site_place", None)
    if place is not None:
        p = get_place(place)
        entry.setdefault("site_lat_deg", p.lat_deg)
        entry.setdefault("site_lon_deg", p.lon_deg)
        entry.setdefault("site_name", p.name)
    return entry


@functools.cache
def _load() -> tuple[dict[str, RadarSpec | InfraredSpec], dict[str, str], tuple[str, ...]]:
    text = resources.files("bmdsim").joinpath("data", "sensors.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    specs: dict[str, RadarSpec | InfraredSpec] = {}
    by_key: dict[str, str] = {}
    known: list[str] = []
    for sid, entry in raw.items():
        try:
            spec = _ADAPTER.validate_python({"id": sid.lower(), **_from_place(entry)})
        except ValidationError as exc:  # a broken catalog is a bug in the package: say where
            raise RuntimeError(f"data/sensors.toml [{sid}]: {exc}") from exc
        specs[spec.id] = spec
        for label in (spec.id, spec.name, *spec.aliases):
            k = _key(label)
            if k in by_key and by_key[k] != spec.id:
                raise RuntimeError(f"data/sensors.toml [{sid}]: name {label!r} clashes with [{by_key[k]}]")
            by_key[k] = spec.id
        known.append(spec.name)
    return specs, by_key, tuple(known)


def catalog() -> dict[str, RadarSpec | InfraredSpec]:
    """All catalog sensors by id (lower case), in file order."""
    return dict(_load()[0])


def sensor_names() -> tuple[str, ...]:
    """Display names of the catalog sensors, in file order."""
    return _load()[2]


def _loc(err: dict) -> str:
    parts = [str(p) for p in err.get("loc", ()) if p not in ("radar", "infrared")]
    return ".".join(parts)


def with_overrides(spec: RadarSpec | InfraredSpec, overrides: Mapping | None, field: str = "sensor") -> RadarSpec | InfraredSpec:
    """A validated copy of spec with some fields replaced.

    Keys are field names of the spec (plus ``site`` for a radar: a place name, 'LAT,LON' or a
    (lat, lon) pair). Errors name ``{field}.{key}``, the value and what is allowed.
    """
    if not overrides:
        return spec
    if not isinstance(overrides, Mapping):
        raise BmdsimInputError(f"{field}.overrides", overrides, "a table of field = value")
    data = spec.model_dump()
    upd = dict(overrides)
    if "site" in upd:
        if not isinstance(spec, RadarSpec):
            raise BmdsimInputError(f"{field}.site", upd["site"], f"{spec.name} has no site; it is not a radar")
        p = resolve_point(upd.pop("site"), field=f"{field}.site")
        upd.setdefault("site_lat_deg", p.lat_deg)
        upd.setdefault("site_lon_deg", p.lon_deg)
        upd.setdefault("site_name", p.name)
    for key in ("id", "kind"):
        if key in upd and upd[key] != data[key]:
            raise BmdsimInputError(f"{field}.{key}", upd[key], f"cannot be overridden (it is {data[key]!r})")
    known = set(type(spec).model_fields)
    for key in upd:
        if key not in known:
            raise UnknownNameError(f"{field}.overrides", str(key), sorted(known - {"id", "kind"}) + (["site"] if isinstance(spec, RadarSpec) else []))
    data.update(upd)
    try:
        return type(spec).model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _loc(err)
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across fields: name the first overridden field the message mentions
            loc = next((k for k in upd if k in msg), next(iter(upd)))
        value = upd.get(loc.split(".")[0], err.get("input"))
        raise BmdsimInputError(f"{field}.{loc}", value, msg) from None


def get_sensor(name: str, overrides: Mapping | None = None, field: str = "sensor") -> RadarSpec | InfraredSpec:
    """A catalog sensor by id, name or alias, ignoring case and punctuation, with optional overrides.

    ``get_sensor("Cape Cod")``, ``get_sensor("sbx", {"site": "Pearl Harbor"})``,
    ``get_sensor("SBIRS", {"detection_delay_s": 45})``.
    """
    if not isinstance(name, str) or not _key(name):
        raise BmdsimInputError(field, name, "give a sensor name from the catalog (e.g. 'SBIRS', 'Shariki', 'Cobra Dane')")
    specs, by_key, known = _load()
    sid = by_key.get(_key(name))
    if sid is None:
        raise UnknownNameError(field, name, known)
    return with_overrides(specs[sid], overrides, field)
