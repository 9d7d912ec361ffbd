"""Interceptors and the fire units that hold them: frozen, validated specs and their catalogs.

- `InterceptorSpec`: one interceptor (GBI, NGI, SM-3, THAAD, PAC-3 MSE) in one booster mode:
  flyout figures (burnout speed and burn time for `bmdsim.defense.flyout`), the intercept
  envelope (altitude band, maximum ground range), kill-vehicle divert, delays, and the
  single-shot kill probability (SSPK) as a Beta distribution fitted to the public test record.
- `BatterySpec`: one fire unit: a site, one kind of interceptor and its rounds.

Catalogs: ``data/interceptors.toml`` and ``data/batteries.toml``, a source for every figure.
Names match ignoring case, spaces and punctuation ("GBI-CE2", "gbi ce2"); unknown names raise
`UnknownNameError` with close suggestions.

Booster modes: ``get_interceptor("gbi-ce2:2stage")`` or ``get_interceptor("gbi-ce2",
{"mode": "2stage"})`` gives the two-stage GBI; a mode is a sourced set of field values in the
catalog (``[gbi-ce2.modes.2stage]``) applied over the entry; ``gbi-ce2`` alone is its default
mode (``spec.mode == "3stage"``).

SSPK: with s successes in n trials and a Beta(a0, b0) prior (uniform: a0 = b0 = 1; Jeffreys:
a0 = b0 = 1/2), the posterior is Beta(s + a0, n - s + b0) (Gelman et al., *Bayesian Data
Analysis*, 3rd ed., sec. 2.1-2.4), with mean (s + a0) / (n + a0 + b0). That mean is the default
SSPK; the override ``sspk`` fixes it (then `sample_sspk` returns it every time).
"""

from __future__ import annotations

import functools
import tomllib
import unicodedata
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bmdsim.errors import BmdsimInputError, UnknownNameError

PRIORS: dict[str, tuple[float, float]] = {"uniform": (1.0, 1.0), "jeffreys": (0.5, 0.5)}
"""Beta priors for the SSPK fit: uniform (Bayes-Laplace) and Jeffreys."""

INTERCEPTOR_SOURCE_KEYS = (
    "burnout_speed_mps", "burn_time_s", "altitude_band", "max_range_m", "divert_mps", "drag",
    "test_record", "launch_delay_s", "kill_assessment_s",
)
"""Every catalog interceptor names a source for each of these (tests check it)."""

BATTERY_SOURCE_KEYS = ("site", "site_alt_m", "interceptor", "rounds")
"""Every catalog fire unit names a source for each of these."""


def _key(text: str) -> str:
    t = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in t if ch.isalnum())


def beta_posterior(successes: int, trials: int, prior: str = "uniform") -> tuple[float, float]:
    """Posterior Beta(a, b) of a success probability after s successes in n trials.

    a = s + a0, b = n - s + b0 with the prior Beta(a0, b0) of ``PRIORS[prior]``
    (conjugate update, Gelman et al., BDA 3rd ed., eq. 2.3).
    """
    if prior not in PRIORS:
        raise UnknownNameError("prior", str(prior), PRIORS)
    if not 0 <= successes <= trials:
        raise BmdsimInputError("test_successes", successes, f"must be within [0, test_trials = {trials}]")
    a0, b0 = PRIORS[prior]
    return successes + a0, trials - successes + b0


# ---------------------------------------------------------------------------------------------
# Interceptors
# ---------------------------------------------------------------------------------------------

class InterceptorSpec(BaseModel):
    """One interceptor in one booster mode; the fields are the configuration.

    Flyout (`bmdsim.defense.flyout`): the boost runs a straight, steered path whose speed rises
    at a constant rate from 0 to ``burnout_speed_mps`` at ``burn_time_s``; then the interceptor
    (or its kill vehicle) coasts ballistically, with drag only if
    ``coast_ballistic_coefficient_kg_m2`` is given. Engagement envelope: an intercept point is
    in reach when its altitude is within [min_intercept_alt_m, max_intercept_alt_m], its ground
    range from the site at most ``max_range_m``, and the flyout fan reaches it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="catalog key, lower case; a booster mode other than the default is '<id>:<mode>'")
    name: str = Field(description="display name")
    aliases: tuple[str, ...] = Field(default=(), description="other names that find it in the catalog")
    system: str = Field(description="the weapon system: GMD, Aegis BMD, THAAD, Patriot")
    layer: Literal["midcourse", "upper-terminal", "lower-terminal"] = Field(description="the phase it engages")
    mode: str = Field(default="", description="booster mode ('3stage', '2stage'); empty when there is one")
    burnout_speed_mps: float = Field(gt=0, le=11000, description="speed at the end of the boost")
    burn_time_s: float = Field(gt=0, le=600, description="duration of the boost, all stages")
    min_intercept_alt_m: float = Field(ge=0, le=2e6, description="lowest intercept altitude (floor)")
    max_intercept_alt_m: float = Field(gt=0, le=1e7, description="highest intercept altitude (ceiling)")
    max_range_m: float = Field(gt=0, le=2e7, description="greatest ground range from the site to an intercept point")
    divert_mps: float = Field(ge=0, le=5000, description="kill-vehicle divert velocity budget")
    coast_ballistic_coefficient_kg_m2: float | None = Field(
        default=None, gt=0, le=1e6, description="beta = m / (C_D A) in the coast; none: drag ignored"
    )
    launch_delay_s: float = Field(ge=0, le=3600, description="fire order to lift-off (reaction time)")
    kill_assessment_s: float = Field(ge=0, le=3600, description="intercept to a usable kill assessment")
    test_successes: int = Field(ge=0, description="successful intercepts in the public test record")
    test_trials: int = Field(ge=0, description="intercept attempts in the public test record")
    prior: Literal["uniform", "jeffreys"] = Field(default="uniform", description="Beta prior of the SSPK fit")
    sspk: float | None = Field(default=None, ge=0, le=1, description="fixed SSPK; none: the Beta posterior mean")
    source: dict[str, str] = Field(default_factory=dict, description="where each figure comes from, by field")
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> InterceptorSpec:
        if self.min_intercept_alt_m >= self.max_intercept_alt_m:
            raise ValueError(
                f"min_intercept_alt_m ({self.min_intercept_alt_m}) must be below max_intercept_alt_m ({self.max_intercept_alt_m})"
            )
        if self.test_successes > self.test_trials:
            raise ValueError(f"test_successes ({self.test_successes}) must not exceed test_trials ({self.test_trials})")
        return self

    @property
    def sspk_beta(self) -> tuple[float, float]:
        """(a, b) of the Beta posterior of the SSPK from the test record and the prior."""
        return beta_posterior(self.test_successes, self.test_trials, self.prior)

    @property
    def sspk_mean(self) -> float:
        """The SSPK in use: ``sspk`` when fixed, else the posterior mean a / (a + b)."""
        if self.sspk is not None:
            return self.sspk
        a, b = self.sspk_beta
        return a / (a + b)

    def sample_sspk(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws of the SSPK (one per trial): Beta(a, b) draws, or ``sspk`` repeated when fixed."""
        if self.sspk is not None:
            return np.full(int(n), self.sspk)
        a, b = self.sspk_beta
        return rng.beta(a, b, size=int(n))

    @property
    def acceleration_mps2(self) -> float:
        """Constant along-path acceleration of the flyout model's boost, v_b / t_b."""
        return self.burnout_speed_mps / self.burn_time_s

    @property
    def burnout_distance_m(self) -> float:
        """Path length of the boost, v_b t_b / 2."""
        return 0.5 * self.burnout_speed_mps * self.burn_time_s

    @property
    def flyout_key(self) -> tuple:
        """The fields the flyout depends on, hashable: the key of the flyout-table cache."""
        return (
            self.burnout_speed_mps, self.burn_time_s, self.min_intercept_alt_m, self.max_intercept_alt_m,
            self.max_range_m, self.coast_ballistic_coefficient_kg_m2,
        )


def _loc(err: dict) -> str:
    return ".".join(str(p) for p in err.get("loc", ()))


def _validate(cls, data: dict, upd: Mapping, field: str):
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _loc(err)
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across fields: name the first overridden field the message mentions
            loc = next((k for k in upd if k in msg), next(iter(upd), ""))
        value = upd.get(loc.split(".")[0], err.get("input"))
        raise BmdsimInputError(f"{field}.{loc}", value, msg) from None


@functools.cache
def _load_interceptors() -> tuple[dict[str, InterceptorSpec], dict[str, str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(specs by id incl. modes, lookup key -> id, modes by base id, display names)."""
    text = resources.files("bmdsim").joinpath("data", "interceptors.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    specs: dict[str, InterceptorSpec] = {}
    by_key: dict[str, str] = {}
    modes: dict[str, tuple[str, ...]] = {}
    known: list[str] = []

    def add(spec: InterceptorSpec, labels) -> None:
        specs[spec.id] = spec
        for label in labels:
            k = _key(label)
            if k in by_key and by_key[k] != spec.id:
                raise RuntimeError(f"data/interceptors.toml [{spec.id}]: name {label!r} clashes with [{by_key[k]}]")
            by_key[k] = spec.id

    for iid, entry in raw.items():
        entry = dict(entry)
        mode_tables = entry.pop("modes", {})
        iid = iid.lower()
        try:
            base = InterceptorSpec.model_validate({"id": iid, **entry})
        except ValidationError as exc:  # a broken catalog is a bug in the package: say where
            raise RuntimeError(f"data/interceptors.toml [{iid}]: {exc}") from exc
        labels = [base.id, base.name, *base.aliases]
        if base.mode:
            labels += [f"{lab}:{base.mode}" for lab in (base.id, base.name, *base.aliases)]
        add(base, labels)
        known.append(base.id)
        names = [base.mode] if base.mode else []
        for mname, mtable in mode_tables.items():
            mtable = dict(mtable)
            msource = mtable.pop("source", {})
            data = base.model_dump()
            data.update(mtable)
            data.update(id=f"{iid}:{mname}", mode=mname, name=f"{base.name} ({mname} mode)", aliases=(),
                        source={**base.source, **msource})
            try:
                spec = InterceptorSpec.model_validate(data)
            except ValidationError as exc:
                raise RuntimeError(f"data/interceptors.toml [{iid}.modes.{mname}]: {exc}") from exc
            add(spec, [f"{lab}:{mname}" for lab in (base.id, base.name, *base.aliases)])
            known.append(spec.id)
            names.append(mname)
        modes[iid] = tuple(names)
    return specs, by_key, modes, tuple(known)


def interceptor_catalog() -> dict[str, InterceptorSpec]:
    """All catalog interceptors by id (lower case), booster modes as '<id>:<mode>', in file order."""
    return dict(_load_interceptors()[0])


def interceptor_ids() -> tuple[str, ...]:
    """Ids of the catalog interceptors and their non-default modes, in file order."""
    return _load_interceptors()[3]


def interceptor_modes(name: str) -> tuple[str, ...]:
    """Booster modes of a catalog interceptor, the default first (empty: one mode only)."""
    base = get_interceptor(name).id.split(":")[0]
    return _load_interceptors()[2][base]


def with_overrides(spec: InterceptorSpec, overrides: Mapping | None, field: str = "interceptor") -> InterceptorSpec:
    """A validated copy of spec with some fields replaced.

    Keys are field names of `InterceptorSpec` (``sspk`` fixes the SSPK), plus ``mode``: a booster
    mode of the same catalog interceptor, applied first. Errors name ``{field}.{key}``, the value
    and what is allowed.
    """
    if not overrides:
        return spec
    if not isinstance(overrides, Mapping):
        raise BmdsimInputError(f"{field}.overrides", overrides, "a table of field = value")
    upd = dict(overrides)
    if "mode" in upd:
        mode = upd.pop("mode")
        base = spec.id.split(":")[0]
        specs, _, modes, _ = _load_interceptors()
        allowed = modes.get(base, ())
        if not isinstance(mode, str) or mode not in allowed:
            if not allowed:
                raise BmdsimInputError(f"{field}.mode", mode, f"{spec.name} has one booster mode only")
            raise UnknownNameError(f"{field}.mode", str(mode), allowed)
        spec = specs[base if mode == allowed[0] else f"{base}:{mode}"]
    if "id" in upd and upd["id"] != spec.id:
        raise BmdsimInputError(f"{field}.id", upd["id"], f"cannot be overridden (it is {spec.id!r})")
    known = set(InterceptorSpec.model_fields)
    for key in upd:
        if key not in known:
            raise UnknownNameError(f"{field}.overrides", str(key), sorted(known - {"id"}) + ["mode"])
    if not upd:
        return spec
    data = spec.model_dump()
    data.update(upd)
    return _validate(InterceptorSpec, data, upd, field)


def get_interceptor(name: str, overrides: Mapping | None = None, field: str = "interceptor") -> InterceptorSpec:
    """A catalog interceptor by id, name or alias, ignoring case and punctuation, with overrides.

    ``get_interceptor("GBI-CE2")``, ``get_interceptor("gbi-ce2:2stage")``,
    ``get_interceptor("SM-3 IIA", {"sspk": 0.8})``, ``get_interceptor("thaad", {"max_range_m": 150e3})``.
    """
    if not isinstance(name, str) or not _key(name):
        raise BmdsimInputError(field, name, "give an interceptor id from the catalog (e.g. 'gbi-ce2', 'sm3-iia', 'thaad')")
    specs, by_key, _, known = _load_interceptors()
    iid = by_key.get(_key(name))
    if iid is None:
        names = [s.name for s in specs.values() if ":" not in s.id] + list(known)  # ids last: suggested as ids
        raise UnknownNameError(field, name, names)
    return with_overrides(specs[iid], overrides, field)


# ---------------------------------------------------------------------------------------------
# Fire units
# ---------------------------------------------------------------------------------------------

class BatterySpec(BaseModel):
    """One fire unit: one kind of interceptor at one site, with its rounds.

    ``interceptor`` is a catalog id (a booster mode as '<id>:<mode>'), ``interceptor_overrides``
    field values applied to it (``{"sspk": 0.7}``); `interceptor_spec` resolves both. Several fire
    units on one platform (an Aegis ship with SM-3 IB and IIA) share ``platform``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="catalog key, lower case")
    name: str = Field(description="display name")
    aliases: tuple[str, ...] = Field(default=(), description="other names that find it in the catalog")
    platform: str = Field(description="the site or ship; fire units on one platform share it")
    site_name: str = Field(default="", description="the place the site coordinates come from")
    site_lat_deg: float = Field(ge=-90, le=90, description="geodetic latitude of the launchers")
    site_lon_deg: float = Field(ge=-180, lt=360, description="longitude, east positive")
    site_alt_m: float = Field(default=0.0, ge=-500, le=9000, description="height above the WGS-84 ellipsoid")
    interceptor: str = Field(description="catalog interceptor id")
    interceptor_overrides: dict[str, Any] = Field(default_factory=dict, description="field values applied to the interceptor")
    rounds: int = Field(ge=0, le=100000, description="interceptors ready to fire")
    source: dict[str, str] = Field(default_factory=dict, description="where each figure comes from, by field")
    notes: str = ""

    @field_validator("interceptor")
    @classmethod
    def _canonical_interceptor(cls, v: str) -> str:
        return get_interceptor(v).id  # "GBI-CE2" -> "gbi-ce2"; unknown names raise with suggestions

    @model_validator(mode="after")
    def _interceptor_overrides_valid(self) -> BatterySpec:
        get_interceptor(self.interceptor, self.interceptor_overrides, field="interceptor_overrides")
        return self

    def interceptor_spec(self) -> InterceptorSpec:
        """The interceptor of this fire unit, with its overrides applied."""
        return get_interceptor(self.interceptor, self.interceptor_overrides, field=f"battery[{self.id}].interceptor")

    @property
    def site_ecef_m(self) -> np.ndarray:
        from bmdsim.earth.frames import geodetic_to_ecef

        return geodetic_to_ecef(self.site_lat_deg, self.site_lon_deg, self.site_alt_m)


def _site_from(entry: dict) -> dict:
    from bmdsim.earth.places import get_place

    entry = dict(entry)
    place = entry.pop("site_place", None)
    sensor = entry.pop("site_sensor", None)
    if place is not None:
        p = get_place(place)
        entry.setdefault("site_lat_deg", p.lat_deg)
        entry.setdefault("site_lon_deg", p.lon_deg)
        entry.setdefault("site_name", p.name)
    if sensor is not None:
        from bmdsim.sensors.catalog import get_sensor

        s = get_sensor(sensor)
        entry.setdefault("site_lat_deg", s.site_lat_deg)
        entry.setdefault("site_lon_deg", s.site_lon_deg)
        entry.setdefault("site_name", s.site_name or s.name)
    return entry


@functools.cache
def _load_batteries() -> tuple[dict[str, BatterySpec], dict[str, str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(specs by id, lookup key -> id, fire-unit ids by platform key, display names)."""
    text = resources.files("bmdsim").joinpath("data", "batteries.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    specs: dict[str, BatterySpec] = {}
    by_key: dict[str, str] = {}
    platforms: dict[str, list[str]] = {}
    known: list[str] = []
    for bid, entry in raw.items():
        bid = bid.lower()
        try:
            spec = BatterySpec.model_validate({"id": bid, **_site_from(entry)})
        except (ValidationError, BmdsimInputError) as exc:
            raise RuntimeError(f"data/batteries.toml [{bid}]: {exc}") from exc
        specs[bid] = spec
        for label in (spec.id, spec.name, *spec.aliases):
            k = _key(label)
            if k in by_key and by_key[k] != bid:
                raise RuntimeError(f"data/batteries.toml [{bid}]: name {label!r} clashes with [{by_key[k]}]")
            by_key[k] = bid
        platforms.setdefault(_key(spec.platform), []).append(bid)
        known.append(spec.name)
    return specs, by_key, {k: tuple(v) for k, v in platforms.items()}, tuple(known)


def battery_catalog() -> dict[str, BatterySpec]:
    """All catalog fire units by id (lower case), in file order."""
    return dict(_load_batteries()[0])


def battery_names() -> tuple[str, ...]:
    """Display names of the catalog fire units, in file order."""
    return _load_batteries()[3]


def platform_names() -> tuple[str, ...]:
    """Platforms (sites and ships) of the catalog, in file order, each once."""
    out: list[str] = []
    for b in _load_batteries()[0].values():
        if b.platform not in out:
            out.append(b.platform)
    return tuple(out)


def battery_with_overrides(spec: BatterySpec, overrides: Mapping | None, field: str = "battery") -> BatterySpec:
    """A validated copy of a fire unit with some fields replaced.

    Keys are field names of `BatterySpec`, plus ``site``: a place name, 'LAT,LON' or a (lat, lon)
    pair (`bmdsim.earth.places.resolve_point`) that moves the fire unit (a ship to another
    station). ``interceptor`` takes a catalog id; ``interceptor_overrides`` a table of its fields.
    """
    if not overrides:
        return spec
    if not isinstance(overrides, Mapping):
        raise BmdsimInputError(f"{field}.overrides", overrides, "a table of field = value")
    from bmdsim.earth.places import resolve_point

    upd = dict(overrides)
    if "site" in upd:
        p = resolve_point(upd.pop("site"), field=f"{field}.site")
        upd.setdefault("site_lat_deg", p.lat_deg)
        upd.setdefault("site_lon_deg", p.lon_deg)
        upd.setdefault("site_name", p.name)
    if "id" in upd and upd["id"] != spec.id:
        raise BmdsimInputError(f"{field}.id", upd["id"], f"cannot be overridden (it is {spec.id!r})")
    known = set(BatterySpec.model_fields)
    for key in upd:
        if key not in known:
            raise UnknownNameError(f"{field}.overrides", str(key), sorted(known - {"id"}) + ["site"])
    if "interceptor" in upd:  # check it first, so the error names the battery's field
        get_interceptor(upd["interceptor"], field=f"{field}.interceptor")
    if "interceptor_overrides" in upd:
        iid = upd.get("interceptor", spec.interceptor)
        get_interceptor(iid, upd["interceptor_overrides"], field=f"{field}.interceptor_overrides")
    data = spec.model_dump()
    data.update(upd)
    return _validate(BatterySpec, data, upd, field)


def get_battery(name: str, overrides: Mapping | None = None, field: str = "battery") -> BatterySpec:
    """A catalog fire unit by id, name, alias, or a platform with one fire unit; with overrides.

    ``get_battery("Fort Greely")``, ``get_battery("fort greely", {"rounds": 20})``,
    ``get_battery("Aegis Guam IIA", {"site": "13.4, 144.0"})``. A platform with several fire
    units ("Aegis Sea of Japan") raises `BmdsimInputError` listing them (see `batteries_on`).
    """
    if not isinstance(name, str) or not _key(name):
        raise BmdsimInputError(field, name, "give a battery name from the catalog (e.g. 'Fort Greely', 'Seongju')")
    specs, by_key, platforms, known = _load_batteries()
    bid = by_key.get(_key(name))
    if bid is None:
        units = platforms.get(_key(name), ())
        if len(units) == 1:
            bid = units[0]
        elif units:
            names = [specs[u].name for u in units]
            raise BmdsimInputError(field, name, f"the platform has {len(units)} fire units; name one", suggestions=names)
        else:
            raise UnknownNameError(field, name, list(known) + list(platform_names()))
    return battery_with_overrides(specs[bid], overrides, field)


def batteries_on(platform: str, field: str = "platform") -> tuple[BatterySpec, ...]:
    """All fire units of a platform (a site or ship), e.g. both SM-3 magazines of an Aegis ship."""
    if not isinstance(platform, str) or not _key(platform):
        raise BmdsimInputError(field, platform, "give a platform name (e.g. 'Aegis Sea of Japan', 'Fort Greely')")
    specs, _, platforms, _ = _load_batteries()
    units = platforms.get(_key(platform))
    if units is None:
        raise UnknownNameError(field, platform, platform_names())
    return tuple(specs[u] for u in units)


__all__ = [
    "BATTERY_SOURCE_KEYS",
    "INTERCEPTOR_SOURCE_KEYS",
    "PRIORS",
    "BatterySpec",
    "InterceptorSpec",
    "batteries_on",
    "battery_catalog",
    "battery_names",
    "battery_with_overrides",
    "beta_posterior",
    "get_battery",
    "get_interceptor",
    "interceptor_catalog",
    "interceptor_ids",
    "interceptor_modes",
    "platform_names",
    "with_overrides",
]
