"""Scenario files: TOML, validated into frozen models, resolved against the catalogs.

A scenario says what is launched (``[[threat]]``), what watches (``[[sensor]]``), what shoots
(``[[battery]]``), when the defense engages (``[policy]``), how it shoots (``[doctrine]``) and
which catalog figures it changes (``[overrides]``)::

    [scenario]
    name = "Defense of Alaska against a Hwasong-15"
    seed = 7
    description = "..."            # optional: the question the scenario asks

    [policy]                        # optional; fields of assessment.policy.Policy
    protect = ["USA", "JPN", "KOR"] # sovereigns or territory codes
    threshold = 0.05

    [[threat]]
    missile = "hwasong-15"
    launch = "Sohae"                # a place name or [lat, lon]
    aim = "Anchorage"               # a place name or [lat, lon]
    profile = "min-energy"          # or "lofted" / "depressed" with apogee_km, or "orbit"
    apogee_km = 2800                # only for lofted/depressed
    time_s = 0                      # launch time
    count = 1                       # identical missiles launched together
    value = 1.0                     # value of what it threatens, for the assignment
    label = "T1"                    # optional: its name in the timeline

    [[sensor]]                      # omitted: every catalog sensor; `sensor = []`: none
    kind = "radar"                  # "radar" or "space-ir" (optional; checked when given)
    name = "Cobra Dane"
    overrides = { revisit_s = 5 }   # any field of the sensor spec; `site` moves a radar

    [[battery]]                     # omitted: every catalog fire unit; `battery = []`: none
    interceptor = "gbi-ce2"         # optional for a catalog fire unit
    site = "Fort Greely"            # a catalog fire unit or platform, or a place / [lat, lon]
    rounds = 40                     # optional for a catalog fire unit
    name = "..."                    # optional: the name of a new fire unit
    overrides = { site_alt_m = 400 }  # any field of BatterySpec

    [doctrine]                      # the default doctrine (fields of defense.doctrine.Doctrine)
    mode = "salvo"
    shots = 4
    [doctrine.per_interceptor.thaad]  # changes for one interceptor, over the default
    mode = "shoot-look-shoot"
    shots = 1

    [dispersion]                    # what varies from trial to trial in a campaign (all optional)
    launch_time_s = 30              # launch time: uniform within +- this many seconds
    launch_site_km = 5              # launch point: east and north offsets, 1-sigma km
    aim_km = 20                     # aim point: east and north offsets, 1-sigma km
    performance = 0.02              # thrust and Isp of every stage: 1-sigma fraction
    sensor_noise = 0.2              # each sensor's noise: log-normal factor, 1-sigma of its log
    pk = true                       # each interceptor's SSPK drawn from its Beta

    [overrides]
    pk = { "gbi-ce2" = 0.56 }       # SSPK (the interceptor's `sspk`) per interceptor id
    interceptor = { thaad = { max_range_m = 250e3 } }
    sensor = { sbirs = { detection_delay_s = 45 } }
    missile = { hwasong-15 = { payload = { mass_kg = 1000 } } }

Rules beyond the field types: ``apogee_km`` is required for the lofted and depressed profiles
and not allowed for the others; a catalog fire unit given with another interceptor than its own
is the same site re-armed (a new fire unit ``<id>-<interceptor>``), unless its platform has a
fire unit of that interceptor (an Aegis ship's SM-3 IB or IIA magazine), which is then the one
meant; a fire unit or sensor may be listed once.

Errors: every problem raises `ScenarioError` (a `BmdsimInputError`, so the CLI prints it and
exits 2) whose message names the file, the field path (``threat[2].missile``,
``battery[0].rounds``, ``overrides.pk.gbi-ce3``; list indices count from 0), the bad value and
what is allowed, with close matches for an unknown key or name. All problems found in one pass
are reported, one line each.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, Strict, ValidationError, create_model, field_validator

from bmdsim.assessment.policy import Policy
from bmdsim.defense.doctrine import Doctrine
from bmdsim.errors import BmdsimInputError, UnknownNameError

if typing.TYPE_CHECKING:  # the catalogs are imported when a scenario is resolved
    from bmdsim.defense.interceptors import BatterySpec
    from bmdsim.earth.places import Place
    from bmdsim.sensors.spec import InfraredSpec, RadarSpec
    from bmdsim.threats.spec import Missile

PROFILES = ("min-energy", "lofted", "depressed", "orbit")
"""Trajectory profiles of a threat (`bmdsim.engine.assess.ASSESS_PROFILES`)."""

SHAPED_PROFILES = ("lofted", "depressed")
"""Profiles that need ``apogee_km``."""

SENSOR_KINDS = {"radar": "radar", "space-ir": "infrared"}
"""Scenario sensor kinds and the catalog kind each stands for."""

POINT_ALLOWED = "a place name (e.g. 'Sohae'), 'LAT,LON', or a [lat, lon] pair in decimal degrees"
MAX_LISTED_PROBLEMS = 20

StrictFloat = Annotated[float, Strict()]
StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]
StrictStr = Annotated[str, Strict()]
Point = Union[StrictStr, list[StrictFloat]]


# ---------------------------------------------------------------------------------------------
# Errors


class ScenarioError(BmdsimInputError):
    """A problem in a scenario file: the file, the field path, the value, what is allowed.

    ``problems`` holds one line per problem found (the message is those lines); ``field``,
    ``value``, ``allowed`` and ``suggestions`` are those of the first.
    """

    def __init__(
        self,
        source: str,
        field: str,
        value: object,
        allowed: str,
        suggestions: Sequence[str] = (),
        *,
        missing: bool = False,
        text: str | None = None,
    ):
        super().__init__(field, value, allowed, suggestions)
        self.source = source
        if text is None:
            if missing:
                text = f"{field}: missing; {allowed}"
            else:
                text = str(self.args[0])
        self.problems = [f"{source}: {text}"]
        self.args = (self.problems[0],)

    def __reduce__(self):  # picklable (a campaign's worker processes send errors back)
        return _rebuild_error, (self.source, self.field, self.value, self.allowed, self.suggestions, self.problems)

    @classmethod
    def combine(cls, errors: Sequence[ScenarioError]) -> ScenarioError:
        """One error carrying every problem of ``errors`` (the first's fields), one line each."""
        first = errors[0]
        lines = [line for e in errors for line in e.problems]
        if len(lines) > MAX_LISTED_PROBLEMS:
            n = len(lines) - MAX_LISTED_PROBLEMS
            lines = lines[:MAX_LISTED_PROBLEMS] + [f"{first.source}: ... and {n} more problem{'s' * (n > 1)}"]
        first.problems = lines
        first.args = ("\n".join(lines),)
        return first

    @classmethod
    def wrap(cls, source: str, exc: BmdsimInputError, field: str | None = None) -> ScenarioError:
        """A catalog's BmdsimInputError as a ScenarioError of this file (``field`` replaces its field)."""
        if isinstance(exc, ScenarioError):
            return exc
        allowed = exc.allowed.replace("Input should be", "must be")
        return cls(source, field or exc.field, exc.value, allowed, exc.suggestions)


def _rebuild_error(source, field, value, allowed, suggestions, problems) -> ScenarioError:
    err = ScenarioError(source, field, value, allowed, suggestions)
    err.problems = list(problems)
    err.args = ("\n".join(problems),)
    return err


def _close(value: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Close matches of value among known names, case-insensitive (difflib)."""
    lower = {str(k).lower(): str(k) for k in known}
    hits = difflib.get_close_matches(str(value).lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]


def _path(loc: Sequence) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# ---------------------------------------------------------------------------------------------
# The schema


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioInfo(_Model):
    """``[scenario]``: what the scenario is called and asks, and its random seed."""

    name: StrictStr = Field(min_length=1, description="a name for the scenario, e.g. \"Defense of Alaska\"")
    seed: StrictInt = Field(default=0, ge=0, description="the root of every random stream (a non-negative integer)")
    description: StrictStr = Field(default="", description="the question the scenario asks")


def _check_point(v: Any) -> Any:
    if isinstance(v, str):
        return v
    if (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    ):
        return list(v)
    raise ValueError(POINT_ALLOWED)


class ThreatEntry(_Model):
    """``[[threat]]``: one missile (or ``count`` identical ones) from a launch point to an aim point."""

    missile: StrictStr = Field(description="a catalog missile id (nodong, hwasong-12, hwasong-15, unha-3, ...)")
    launch: Point = Field(description=POINT_ALLOWED)
    aim: Point = Field(description=POINT_ALLOWED + "; for an orbit, the direction of flight")
    profile: Literal["min-energy", "lofted", "depressed", "orbit"] = Field(
        default="min-energy", description="min-energy, lofted or depressed (with apogee_km), or orbit"
    )
    apogee_km: Optional[StrictFloat] = Field(
        default=None, gt=0, le=100_000, validate_default=True,
        description="apogee of a lofted or depressed trajectory, km",
    )
    time_s: StrictFloat = Field(default=0.0, ge=0, description="launch time, s after the scenario starts")
    count: StrictInt = Field(default=1, ge=1, le=1000, description="identical missiles launched together")
    value: StrictFloat = Field(default=1.0, ge=0, description="value of what it threatens, for the assignment")
    label: StrictStr = Field(default="", description="its name in the timeline (default T1, T2, ...)")

    @field_validator("launch", "aim", mode="before")
    @classmethod
    def _points(cls, v):
        return _check_point(v)

    @field_validator("apogee_km")
    @classmethod
    def _apogee_for_profile(cls, v, info):
        profile = info.data.get("profile")
        if profile in SHAPED_PROFILES and v is None:
            raise ValueError(f"required for profile {profile!r}: the apogee in km")
        if profile is not None and profile not in SHAPED_PROFILES and v is not None:
            raise ValueError(f"only for the lofted and depressed profiles, not {profile!r}")
        return v


class SensorEntry(_Model):
    """``[[sensor]]``: one catalog sensor, with any of its figures overridden."""

    kind: Optional[Literal["radar", "space-ir"]] = Field(default=None, description="radar or space-ir")
    name: StrictStr = Field(description="a catalog sensor name (SBIRS, Clear, Cobra Dane, SBX, ...)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="field = value of the sensor spec; site moves a radar")


class BatteryEntry(_Model):
    """``[[battery]]``: a catalog fire unit, or a new one at a place."""

    interceptor: Optional[StrictStr] = Field(
        default=None, description="a catalog interceptor id (gbi-ce2, sm3-iia, thaad, pac3-mse, ...); "
        "required for a new fire unit"
    )
    site: Point = Field(description="a catalog fire unit or platform (Fort Greely, Aegis Guam), or a place / [lat, lon]")
    rounds: Optional[StrictInt] = Field(
        default=None, ge=0, le=100_000, description="interceptors ready to fire; required for a new fire unit"
    )
    name: StrictStr = Field(default="", description="the name of a new fire unit")
    overrides: dict[str, Any] = Field(default_factory=dict, description="field = value of the BatterySpec")

    @field_validator("site", mode="before")
    @classmethod
    def _site_point(cls, v):
        return _check_point(v)


def _patch_model(base: type[BaseModel], name: str) -> type[BaseModel]:
    """A model with base's fields, every one optional (None: not given), same constraints."""
    fields = {}
    for fname, f in base.model_fields.items():
        ann = Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation
        fields[fname] = (Optional[ann], Field(default=None, description=f.description))
    return create_model(name, __config__=ConfigDict(frozen=True, extra="forbid"), **fields)


DoctrinePatch = _patch_model(Doctrine, "DoctrinePatch")
"""Fields of `Doctrine`, each optional: the changes for one interceptor over the default."""


class DoctrineSection(Doctrine):
    """``[doctrine]``: the default `Doctrine`, and changes to it per interceptor id."""

    per_interceptor: dict[str, DoctrinePatch] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="interceptor id -> fields that differ from the default doctrine"
    )


class OverridesSection(_Model):
    """``[overrides]``: catalog figures changed for this scenario."""

    pk: dict[str, Annotated[StrictFloat, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="interceptor id -> single-shot kill probability in [0, 1]"
    )
    interceptor: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="interceptor id -> field = value of the InterceptorSpec"
    )
    sensor: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="sensor name -> field = value of the sensor spec"
    )
    missile: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="missile id -> field = value of the Missile (tables merge)"
    )


class DispersionSection(_Model):
    """``[dispersion]``: what a campaign varies from trial to trial (a single run flies the scenario as given)."""

    launch_time_s: StrictFloat = Field(default=0.0, ge=0, le=86_400, description="launch time: uniform within +- this many seconds")
    launch_site_km: StrictFloat = Field(default=0.0, ge=0, le=500, description="launch point: east and north offsets, 1-sigma km")
    aim_km: StrictFloat = Field(default=0.0, ge=0, le=500, description="aim point: east and north offsets, 1-sigma km")
    performance: StrictFloat = Field(default=0.0, ge=0, le=0.2, description="thrust and specific impulse of every stage: 1-sigma fraction")
    sensor_noise: StrictFloat = Field(default=0.0, ge=0, le=2.0, description="each sensor's noise: log-normal factor, 1-sigma of its logarithm")
    pk: StrictBool = Field(default=True, description="draw each interceptor's SSPK from its Beta every trial")


class Scenario(_Model):
    """A scenario file, validated. `resolved` gives the catalog objects the engine runs on."""

    scenario: ScenarioInfo = Field(description="[scenario]: name, seed, description")
    policy: Policy = Field(default_factory=Policy, description="[policy]: when the defense engages")
    threat: list[ThreatEntry] = Field(min_length=1, description="[[threat]]: at least one")
    sensor: Optional[list[SensorEntry]] = Field(default=None, description="[[sensor]]; omitted: every catalog sensor")
    battery: Optional[list[BatteryEntry]] = Field(default=None, description="[[battery]]; omitted: every catalog fire unit")
    doctrine: DoctrineSection = Field(default_factory=DoctrineSection, description="[doctrine]")
    overrides: OverridesSection = Field(default_factory=OverridesSection, description="[overrides]")
    dispersion: DispersionSection = Field(default_factory=DispersionSection, description="[dispersion]: campaign trial-to-trial variation")

    _source: str = PrivateAttr(default="<string>")
    _resolved: Any = PrivateAttr(default=None)  # a ResolvedScenario once resolved

    @property
    def source(self) -> str:
        """The file (or ``<string>``) the scenario was read from; error messages name it."""
        return self._source

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def seed(self) -> int:
        return self.scenario.seed

    def resolved(self) -> ResolvedScenario:
        """The scenario as catalog objects (computed once). Raises ScenarioError."""
        if self._resolved is None:
            self._resolved = _resolve(self, self._source)
        return self._resolved

    def to_toml(self) -> str:
        """The scenario as TOML text; `parse_scenario` of it gives an equal scenario."""
        return dump_scenario(self)


# ---------------------------------------------------------------------------------------------
# Resolved objects


@dataclass(frozen=True)
class ResolvedThreat:
    """One ``[[threat]]`` entry with its missile and places from the catalogs."""

    missile: Missile
    launch: Place
    aim: Place
    profile: str
    apogee_km: float | None
    time_s: float
    count: int
    value: float
    label: str


@dataclass(frozen=True)
class ResolvedScenario:
    """Everything the engine needs, as plain catalog objects.

    threats: one per ``[[threat]]`` entry (``count`` not expanded; see `threat_specs`).
    sensors: catalog sensor specs with overrides applied (every catalog sensor when none given).
    batteries: fire units with rounds and interceptor overrides (``[overrides]`` and their own)
      applied in ``interceptor_overrides``.
    doctrine: the default; doctrine_per_interceptor: interceptor id -> its doctrine, for the ids
      named in ``[doctrine.per_interceptor]``.
    interceptor_overrides: interceptor id -> field values (``pk`` as ``sspk``).
    """

    name: str
    seed: int
    description: str
    source: str
    threats: tuple[ResolvedThreat, ...]
    sensors: tuple[RadarSpec | InfraredSpec, ...]
    batteries: tuple[BatterySpec, ...]
    policy: Policy
    doctrine: Doctrine
    doctrine_per_interceptor: dict[str, Doctrine] = field(default_factory=dict)
    interceptor_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    dispersion: dict[str, Any] = field(default_factory=dict)  # [dispersion], every field

    def threat_specs(self) -> list:
        """`bmdsim.engine.run.ThreatSpec` per missile: each entry's ``count`` expanded.

        Labels: the entry's label (or T<n>, n counting entries from 1), with ``.k`` for the k-th
        missile of a salvo (``T2.1``, ``T2.2``).
        """
        from bmdsim.engine.run import ThreatSpec

        out = []
        for j, t in enumerate(self.threats):
            base = t.label or f"T{j + 1}"
            for k in range(t.count):
                out.append(
                    ThreatSpec(
                        missile=t.missile, launch=t.launch, aim=t.aim, profile=t.profile, apogee_km=t.apogee_km,
                        time_s=t.time_s, value=t.value, label=base if t.count == 1 else f"{base}.{k + 1}",
                    )
                )
        return out

    def doctrine_map(self) -> dict[str, Doctrine]:
        """Interceptor id -> doctrine for every interceptor of every battery (the default where
        none is given), plus the ids of ``[doctrine.per_interceptor]``."""
        out = {b.interceptor: self.doctrine_for(b.interceptor) for b in self.batteries}
        out.update(self.doctrine_per_interceptor)
        return out

    def doctrine_for(self, interceptor_id: str) -> Doctrine:
        """The doctrine of one interceptor: its own, its base id's (``gbi-ce2`` for ``gbi-ce2:2stage``), or the default."""
        d = self.doctrine_per_interceptor
        return d.get(interceptor_id, d.get(interceptor_id.split(":")[0], self.doctrine))


# ---------------------------------------------------------------------------------------------
# Loading


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve a scenario file. Every problem raises ScenarioError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, "file", source, "no such file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, "file", source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ScenarioError(source, "file", source, f"cannot be read ({exc.strerror or exc})") from None
    return parse_scenario(text, source=source)


def parse_scenario(text: str, source: str = "<string>", *, resolve: bool = True) -> Scenario:
    """Parse and validate scenario TOML text; resolve it against the catalogs unless ``resolve`` is false.

    ``source`` is the name error messages give the text (a file path).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(source, text, exc) from None
    return scenario_from_dict(raw, source=source, resolve=resolve)


def scenario_from_dict(raw: Mapping, source: str = "<dict>", *, resolve: bool = True) -> Scenario:
    """Validate a scenario given as the dict TOML parses to (see `parse_scenario`)."""
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError.combine([_pydantic_problem(source, err) for err in exc.errors()]) from None
    sc._source = source
    if resolve:
        sc.resolved()
    return sc


def _toml_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ScenarioError:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        lines = text.splitlines()
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        where = f"line {line}, column {col}"
        detail = f"malformed TOML: {reason}" + (f" in {shown!r}" if shown else "")
    else:
        where, detail = "end of file", f"malformed TOML: {reason}"
    return ScenarioError(
        source, where, None, "see https://toml.io", text=f"{where}: {detail} (TOML syntax: https://toml.io)"
    )


# pydantic error -> one line. The annotation at a location lets an unknown key or a literal get
# suggestions from what is allowed there.


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin is Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _annotation_at(loc: Sequence) -> Any:
    tp: Any = Scenario
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (list, tuple) and isinstance(part, int) and args:
            tp = args[0]
        elif origin is dict and args:
            tp = args[1]
        else:
            return None
    return _unwrap(tp)


def _field_description(loc: Sequence) -> str:
    if not loc:
        return ""
    parent = _annotation_at(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel) and loc[-1] in parent.model_fields:
        return parent.model_fields[loc[-1]].description or ""
    return ""


def _pydantic_problem(source: str, err: Mapping) -> ScenarioError:
    loc = tuple(p for p in err.get("loc", ()) if p not in ("str", "list[float]", "list[constrained-float]"))
    kind = err.get("type", "")
    value = err.get("input")
    path = _path(loc)
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = _annotation_at(loc[:-1])
        key = str(loc[-1])
        known = list(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        where = _path(loc[:-1]) or "the top level"
        if where == "the top level":
            allowed = "tables allowed at the top level: " + ", ".join(known)
        else:
            allowed = f"keys allowed in {where}: " + ", ".join(known)
        hint = ""
        if len(loc) > 1 and key in Scenario.model_fields:
            hint = f"; to set the top-level {key!r}, put it before the first [table] header"
        return ScenarioError(source, path, key, allowed, _close(key, known),
                             text=f"{path}: unknown key; {allowed}{_did_you_mean(_close(key, known))}{hint}")
    if kind == "missing":
        desc = _field_description(loc)
        return ScenarioError(source, path, None, f"required: {desc}" if desc else "required", missing=True)
    if kind == "literal_error":
        tp = _annotation_at(loc)
        options = [str(a) for a in typing.get_args(tp)] if typing.get_origin(tp) is Literal else []
        allowed = "allowed: " + ", ".join(options) if options else msg.replace("Input should be", "must be")
        return ScenarioError(source, path, value, allowed, _close(str(value), options) if isinstance(value, str) else ())
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        desc = _field_description(loc)
        allowed = "must be a table (key = value pairs)" + (f": {desc}" if desc else "")
        return ScenarioError(source, path or "scenario", value, allowed)
    if kind in ("list_type", "tuple_type"):
        desc = _field_description(loc)
        if path in ("threat", "sensor", "battery"):
            allowed = f"must be an array of tables: [[{path}]]"
        else:
            allowed = "must be an array" + (f": {desc}" if desc else "")
        return ScenarioError(source, path, value, allowed)
    if kind == "too_short" and path == "threat":
        return ScenarioError(source, path, value, "at least one [[threat]] is needed")
    if value is None and msg.startswith("required"):  # a field required by another's value
        return ScenarioError(source, path, None, msg, missing=True)
    allowed = msg.replace("Input should be", "must be")
    desc = _field_description(loc)
    if kind.endswith("_type") and desc:
        allowed += f" ({desc})"
    return ScenarioError(source, path, value, allowed)


def _did_you_mean(sugg: Sequence[str]) -> str:
    return f" (did you mean {', '.join(repr(s) for s in sugg)}?)" if sugg else ""


# ---------------------------------------------------------------------------------------------
# Resolution against the catalogs


class _Problems:
    """Collects the problems of a resolution pass; `check` turns each into one ScenarioError."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[ScenarioError] = []

    def add(self, field: str, value: object, allowed: str, suggestions: Sequence[str] = ()) -> None:
        self.errors.append(ScenarioError(self.source, field, value, allowed, suggestions))

    def run(self, fn, *args, **kwargs):
        """fn(*args, **kwargs), or None with the problem recorded when it raises BmdsimInputError."""
        try:
            return fn(*args, **kwargs)
        except BmdsimInputError as exc:
            self.errors.append(ScenarioError.wrap(self.source, exc))
            return None

    def run_as(self, field: str, fn, *args, **kwargs):
        """Like `run`, the problem named by ``field`` (for a function that takes no field)."""
        try:
            return fn(*args, **kwargs)
        except BmdsimInputError as exc:
            self.errors.append(ScenarioError.wrap(self.source, exc, field))
            return None

    def check(self) -> None:
        if self.errors:
            raise ScenarioError.combine(self.errors)


def _unknown_keys(problems: _Problems, where: str, keys, known: Sequence[str]) -> bool:
    """Record an unknown-key problem for each key not in known; True when all are known."""
    ok = True
    known = sorted(set(known))
    for key in keys:
        if key not in known:
            allowed = f"keys allowed in {where}: {', '.join(known)}"
            sugg = _close(str(key), known)
            problems.errors.append(ScenarioError(
                problems.source, f"{where}.{key}", key, allowed, sugg,
                text=f"{where}.{key}: unknown key; {allowed}{_did_you_mean(sugg)}",
            ))
            ok = False
    return ok


def _deep_merge(base: dict, upd: Mapping) -> dict:
    out = dict(base)
    for k, v in upd.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def _resolve_missiles(sc: Scenario, problems: _Problems) -> dict[str, Missile]:
    """Catalog missiles changed by [overrides.missile], by canonical id."""
    from bmdsim.threats.catalog import get_missile
    from bmdsim.threats.spec import Missile

    out: dict[str, Missile] = {}
    for key, upd in sc.overrides.missile.items():
        where = f"overrides.missile.{key}"
        m = problems.run(get_missile, key, field=where)
        if m is None:
            continue
        data = m.model_dump(by_alias=True)
        if not _unknown_keys(problems, where, upd, [k for k in data if k != "id"]):
            continue
        try:
            out[m.id] = Missile.model_validate(_deep_merge(data, upd))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = _path(err.get("loc", ()))
            problems.add(f"{where}.{loc}" if loc else where, err.get("input"),
                         str(err.get("msg", "")).removeprefix("Value error, ").replace("Input should be", "must be"))
    return out


def _resolve_threats(sc: Scenario, problems: _Problems) -> list[ResolvedThreat]:
    from bmdsim.earth.places import resolve_point
    from bmdsim.threats.catalog import get_missile

    changed = _resolve_missiles(sc, problems)
    out = []
    for i, t in enumerate(sc.threat):
        where = f"threat[{i}]"
        m = problems.run(get_missile, t.missile, field=f"{where}.missile")
        launch = problems.run(resolve_point, t.launch, field=f"{where}.launch")
        aim = problems.run(resolve_point, t.aim, field=f"{where}.aim")
        if m is None or launch is None or aim is None:
            continue
        out.append(
            ResolvedThreat(
                missile=changed.get(m.id, m), launch=launch, aim=aim, profile=t.profile, apogee_km=t.apogee_km,
                time_s=t.time_s, count=t.count, value=t.value, label=t.label,
            )
        )
    return out


def _interceptor_overrides(sc: Scenario, problems: _Problems) -> dict[str, dict[str, Any]]:
    """[overrides.interceptor] and [overrides.pk] by canonical interceptor id, each checked."""
    from bmdsim.defense.interceptors import InterceptorSpec, get_interceptor, with_overrides

    out: dict[str, dict[str, Any]] = {}
    for key, upd in sc.overrides.interceptor.items():
        where = f"overrides.interceptor.{key}"
        spec = problems.run(get_interceptor, key, field=where)
        if spec is None:
            continue
        known = [k for k in InterceptorSpec.model_fields if k != "id"] + ["mode"]
        if _unknown_keys(problems, where, upd, known):
            if problems.run(with_overrides, spec, upd, field=where) is not None:
                out.setdefault(spec.id, {}).update(upd)
    for key, pk in sc.overrides.pk.items():
        where = f"overrides.pk.{key}"
        spec = problems.run(get_interceptor, key, field=where)
        if spec is not None:
            out.setdefault(spec.id, {})["sspk"] = pk
    return out


def _overrides_for(iid: str, table: Mapping[str, Mapping]) -> dict[str, Any]:
    """The overrides that apply to interceptor iid: those of its base id, then its own."""
    base = iid.split(":")[0]
    out: dict[str, Any] = {}
    if base != iid:
        out.update(table.get(base, {}))
        out.pop("mode", None)  # a '<id>:<mode>' unit has its mode
    out.update(table.get(iid, {}))
    return out


def _resolve_sensors(sc: Scenario, problems: _Problems) -> list:
    from bmdsim.sensors.catalog import catalog as sensor_catalog
    from bmdsim.sensors.catalog import get_sensor
    from bmdsim.sensors.catalog import with_overrides as sensor_with_overrides
    from bmdsim.sensors.spec import RadarSpec

    def overridden(spec, upd: Mapping, where: str):
        known = [k for k in type(spec).model_fields if k not in ("id", "kind")]
        if isinstance(spec, RadarSpec):
            known.append("site")
        if not _unknown_keys(problems, where, upd, known):
            return None
        return problems.run(sensor_with_overrides, spec, upd, field=where)

    extra: dict[str, tuple[str, Mapping]] = {}
    for key, upd in sc.overrides.sensor.items():
        where = f"overrides.sensor.{key}"
        spec = problems.run(get_sensor, key, field=where)
        if spec is not None:
            extra[spec.id] = (where, upd)

    out = []
    if sc.sensor is None:
        for spec in sensor_catalog().values():
            if spec.id in extra:
                spec = overridden(spec, extra[spec.id][1], extra[spec.id][0])
            if spec is not None:
                out.append(spec)
        return out
    seen: dict[str, int] = {}
    for i, s in enumerate(sc.sensor):
        where = f"sensor[{i}]"
        spec = problems.run(get_sensor, s.name, field=f"{where}.name")
        if spec is None:
            continue
        if spec.id in seen:
            problems.add(f"{where}.name", s.name, f"{spec.name} is already sensor[{seen[spec.id]}]; list a sensor once")
            continue
        seen[spec.id] = i
        if s.kind is not None and SENSOR_KINDS[s.kind] != spec.kind:
            real = next(k for k, v in SENSOR_KINDS.items() if v == spec.kind)
            problems.add(f"{where}.kind", s.kind, f"{spec.name} is a {real} sensor (kind = {real!r})", [real])
            continue
        if spec.id in extra:
            spec = overridden(spec, extra[spec.id][1], extra[spec.id][0])
        if spec is not None and s.overrides:
            spec = overridden(spec, s.overrides, f"{where}.overrides")
        if spec is not None:
            out.append(spec)
    return out


def _site_problem(problems: _Problems, where: str, site: str) -> None:
    from bmdsim.defense.interceptors import battery_catalog, platform_names
    from bmdsim.earth.places import all_places

    units = [n for b in battery_catalog().values() for n in (b.name, *b.aliases)]
    places = [n for p in all_places() for n in (p.name, *p.aliases)]
    sugg = UnknownNameError(where, site, units + list(platform_names()) + places).suggestions
    problems.add(where, site, "a catalog fire unit or platform (" + ", ".join(platform_names())
                 + "), a place name, 'LAT,LON' or [lat, lon]", sugg)


def _catalog_unit(b: BatteryEntry, where: str, problems: _Problems):
    """(catalog fire unit or None, interceptor id or None, ok). ok False: a problem was recorded."""
    from bmdsim.defense.interceptors import batteries_on, get_battery, get_interceptor

    iid = None
    if b.interceptor is not None:
        spec = problems.run(get_interceptor, b.interceptor, field=f"{where}.interceptor")
        if spec is None:
            return None, None, False
        iid = spec.id
    if not isinstance(b.site, str):
        return None, iid, True
    try:
        unit = get_battery(b.site, field=f"{where}.site")
    except UnknownNameError:
        return None, iid, True  # not a fire unit: a place, or nothing
    except BmdsimInputError as exc:  # a platform with several fire units
        units = batteries_on(b.site)
        match = [u for u in units if iid is not None and u.interceptor == iid]
        if len(match) == 1:
            return match[0], iid, True
        names = ", ".join(f"{u.name} ({u.interceptor})" for u in units)
        if iid is None:
            problems.add(f"{where}.site", b.site, f"the platform has {len(units)} fire units ({names}); "
                         "name one, or give its interceptor", exc.suggestions)
        else:
            problems.add(f"{where}.interceptor", b.interceptor, f"{b.site} carries {names}",
                         sorted({u.interceptor for u in units}))
        return None, None, False
    if iid is not None and iid != unit.interceptor:
        sibling = [u for u in batteries_on(unit.platform) if u.interceptor == iid]
        if sibling:
            return sibling[0], iid, True
    return unit, iid, True


def _resolve_batteries(sc: Scenario, problems: _Problems, ioverrides: Mapping[str, Mapping]) -> list:
    from bmdsim.defense.interceptors import BatterySpec, battery_catalog, battery_with_overrides, get_interceptor
    from bmdsim.earth.places import resolve_point

    def finish(spec: BatterySpec, upd: dict, where: str):
        iid = upd.get("interceptor", spec.interceptor)
        own = upd.get("interceptor_overrides", {})
        if isinstance(own, Mapping):  # else battery_with_overrides says what is wrong
            io = {**_overrides_for(iid, ioverrides), **own}
            if io:
                upd["interceptor_overrides"] = {**spec.interceptor_overrides, **io}
        return problems.run(battery_with_overrides, spec, upd, where)

    if sc.battery is None:
        out = []
        for spec in battery_catalog().values():
            spec = finish(spec, {}, f"battery.{spec.id}")
            if spec is not None:
                out.append(spec)
        return out

    out = []
    seen: dict[str, int] = {}
    for i, b in enumerate(sc.battery):
        where = f"battery[{i}]"
        known = [k for k in BatterySpec.model_fields if k != "id"] + ["site"]
        if not _unknown_keys(problems, f"{where}.overrides", b.overrides, known):
            continue
        unit, iid, ok = _catalog_unit(b, where, problems)
        if not ok:
            continue
        upd: dict[str, Any] = {}
        if b.rounds is not None:
            upd["rounds"] = b.rounds
        if unit is not None:
            if iid is not None and iid != unit.interceptor:  # the site re-armed: a new fire unit there
                ispec = get_interceptor(iid)
                upd.update(interceptor=iid, id=f"{unit.id}-{iid}", name=b.name or f"{unit.name} ({ispec.name})",
                           interceptor_overrides={})
                unit = unit.model_copy(update={"id": upd["id"]})
                upd.pop("id")
            elif b.name:
                upd["name"] = b.name
            upd.update(b.overrides)
            spec = finish(unit, upd, where)
        else:
            place = None
            if isinstance(b.site, str):
                try:
                    place = resolve_point(b.site, field=f"{where}.site")
                except UnknownNameError:
                    _site_problem(problems, f"{where}.site", b.site)
                    continue
                except BmdsimInputError as exc:
                    problems.errors.append(ScenarioError.wrap(problems.source, exc))
                    continue
            else:
                place = problems.run(resolve_point, b.site, field=f"{where}.site")
                if place is None:
                    continue
            missing = [k for k, v in (("interceptor", iid), ("rounds", b.rounds)) if v is None]
            for k in missing:
                problems.errors.append(ScenarioError(
                    problems.source, f"{where}.{k}", None,
                    f"required for a new fire unit at {place.name} (the site is not a catalog fire unit)",
                    missing=True,
                ))
            if missing:
                continue
            ispec = get_interceptor(iid)
            name = b.name or f"{ispec.name} at {place.name}"
            data = dict(
                id=_slug(name), name=name, platform=b.name or place.name, site_name=place.name,
                site_lat_deg=place.lat_deg, site_lon_deg=place.lon_deg, interceptor=iid, rounds=b.rounds,
                source={"site": f"scenario {problems.source}"},
            )
            try:
                spec = BatterySpec.model_validate(data)
            except (ValidationError, BmdsimInputError) as exc:
                problems.add(where, b.site, str(exc))
                continue
            spec = finish(spec, dict(b.overrides), where)
        if spec is None:
            continue
        if spec.id in seen:
            problems.add(f"{where}.site", b.site, f"the same fire unit as battery[{seen[spec.id]}] ({spec.name}); "
                         "list a fire unit once (set its rounds there)")
            continue
        seen[spec.id] = i
        out.append(spec)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "battery"


def _resolve_doctrine(sc: Scenario, problems: _Problems) -> tuple[Doctrine, dict[str, Doctrine]]:
    from bmdsim.defense.interceptors import get_interceptor

    base = sc.doctrine.model_dump(exclude={"per_interceptor"})
    default = Doctrine.model_validate(base)
    per: dict[str, Doctrine] = {}
    for key, patch in sc.doctrine.per_interceptor.items():
        where = f"doctrine.per_interceptor.{key}"
        spec = problems.run(get_interceptor, key, field=where)
        if spec is None:
            continue
        if spec.id in per:
            problems.add(where, key, f"the same interceptor as another entry ({spec.id}); give it once")
            continue
        per[spec.id] = Doctrine.model_validate({**base, **patch.model_dump(exclude_none=True)})
    return default, per


def _resolve_policy(sc: Scenario, problems: _Problems) -> Policy:
    from bmdsim.earth.geography import resolve_protected

    for i, code in enumerate(sc.policy.protect):
        problems.run_as(f"policy.protect[{i}]", resolve_protected, [code])
    return sc.policy


def _resolve(sc: Scenario, source: str) -> ResolvedScenario:
    problems = _Problems(source)
    policy = _resolve_policy(sc, problems)
    threats = _resolve_threats(sc, problems)
    sensors = _resolve_sensors(sc, problems)
    ioverrides = _interceptor_overrides(sc, problems)
    batteries = _resolve_batteries(sc, problems, ioverrides)
    doctrine, per = _resolve_doctrine(sc, problems)
    problems.check()
    return ResolvedScenario(
        name=sc.scenario.name, seed=sc.scenario.seed, description=sc.scenario.description, source=source,
        threats=tuple(threats), sensors=tuple(sensors), batteries=tuple(batteries), policy=policy,
        doctrine=doctrine, doctrine_per_interceptor=per, interceptor_overrides=ioverrides,
        dispersion=sc.dispersion.model_dump(),
    )


# ---------------------------------------------------------------------------------------------
# Writing TOML (the subset a scenario uses: tables, arrays of tables, inline values)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(header: str, data: Mapping) -> list[str]:
    lines = [header]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in data.items() if v is not None]
    return lines


def dump_scenario(sc: Scenario) -> str:
    """The scenario as TOML text (every field, defaults included; nested tables inline)."""
    d = sc.model_dump(mode="python", exclude_none=True)  # TOML has no null: None is "not given"
    top = {k: [] for k in ("sensor", "battery") if d.get(k) == []}
    lines = [f"{k} = []" for k in top]
    if lines:
        lines.append("")
    for name in ("scenario", "policy", "doctrine", "overrides", "dispersion"):
        lines += _table(f"[{name}]", d[name]) + [""]
    for name in ("threat", "sensor", "battery"):
        for entry in d.get(name) or ():
            lines += _table(f"[[{name}]]", entry) + [""]
    return "\n".join(lines)


__all__ = [
    "BatteryEntry",
    "DispersionSection",
    "DoctrinePatch",
    "DoctrineSection",
    "OverridesSection",
    "PROFILES",
    "ResolvedScenario",
    "ResolvedThreat",
    "Scenario",
    "ScenarioError",
    "ScenarioInfo",
    "SensorEntry",
    "ThreatEntry",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_from_dict",
]
