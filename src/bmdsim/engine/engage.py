"""Battle management for one engagement: windows, assignment, doctrine, intercepts, leakers.

For every threat the policy declared, each fire unit's engagement window is computed from the
threat's track (predicted path and fire-control quality); the weapon-target assignment spreads
the limited rounds over the threats (``defense.assign``); the doctrine turns each assignment
into looks with launch and intercept times (``defense.doctrine``); the intercepts are resolved
by drawing each shot's outcome from its kill probability, with kill assessment between looks;
a threat that survives every shot flies on to impact and is a leaker. Everything that happens is
an event with its time, for the scenario engine's timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bmdsim.constants import OMEGA_EARTH_RAD_S
from bmdsim.defense.assign import solve
from bmdsim.defense.battlespace import FC_SIGMA_M, EngagementWindow, PathSet, ThreatPath, per_path_sigma
from bmdsim.defense.doctrine import Doctrine
from bmdsim.defense.interceptors import BatterySpec, InterceptorSpec
from bmdsim.flight.fly import coast

PATH_DT_S = 2.0


@dataclass
class Event:
    t_s: float
    kind: str  # interceptor launch, intercept, kill assessment, leaker impact, no engagement
    threat: int
    detail: str

    def as_dict(self) -> dict:
        return {"t_s": self.t_s, "kind": self.kind, "threat": self.threat, "detail": self.detail}


@dataclass
class ThreatOutcome:
    threat: int
    engaged: bool
    intercepted: bool = False
    leaked: bool = False
    interceptors_fired: int = 0
    windows: list[EngagementWindow] = field(default_factory=list)
    intercept_point: tuple[float, float, float] | None = None  # lat, lon, alt of the kill


@dataclass
class EngagementResult:
    outcomes: list[ThreatOutcome]
    events: list[Event]
    shots: np.ndarray  # (sites, threats) assigned rounds
    method: str
    expected_value: float  # of the assignment that was fired
    expected_value_by_method: dict[str, float] = field(default_factory=dict)  # milp and greedy, same raid
    looks: list[dict] = field(default_factory=list)  # every look fired: threat, battery, times, point, hit


def threat_path(track, t0_s: float, beta_kg_m2: float, dt_s: float = PATH_DT_S) -> ThreatPath:
    """The path the battle manager plans on: the track's state at t0 flown on to impact."""
    x, _ = track.state_at(0, t0_s)
    return path_from_coast(coast(t0_s, x[:3], x[3:], beta_kg_m2, record_dt_s=dt_s), 0, t0_s)


def path_from_coast(b, k: int, t0_s: float) -> ThreatPath:
    """Body k's path from t0_s in a coast ``FlightBatch`` (recorded): ECEF points to impact."""
    return paths_from_coast(b, [k], [t0_s])[0]


def paths_from_coast(b, ks: Sequence[int], t0_s: Sequence[float]) -> list[ThreatPath]:
    """`path_from_coast` of several bodies of one batch (the Earth's rotation on the record's
    time grid computed once)."""
    t_rec = b.t_record_s
    dt = float(t_rec[1] - t_rec[0]) if t_rec.size > 1 else PATH_DT_S
    ks = np.asarray(ks, np.intp)
    t0 = np.asarray(t0_s, float).reshape(-1)
    # the recorded rows from each body's t0 on (the record is NaN outside start to impact)
    rec = b.record_eci
    keep = (t_rec[None, :] >= t0[:, None]) & np.isfinite(rec[ks, :, 0])
    q, i = np.nonzero(keep)  # body-major, time increasing within a body
    kq = ks[q]
    # ECI to ECEF: the Earth's rotation about z (frames.rotation_eci_to_ecef), its two terms
    th = OMEGA_EARTH_RAD_S * t_rec
    c, s = np.cos(th)[i], np.sin(th)[i]
    x, y = rec[kq, i, 0], rec[kq, i, 1]
    r = np.empty((q.size, 3))
    r[:, 0] = c * x + s * y
    r[:, 1] = c * y - s * x
    r[:, 2] = rec[kq, i, 2]
    t = t_rec[i]
    ends = np.cumsum(np.count_nonzero(keep, axis=1))
    out = []
    lo = 0
    for k, hi in zip(ks, ends):
        tk = t[lo:hi]
        t_imp = float(b.t_impact_s[k]) if b.impacted[k] else float(tk[-1]) + dt
        out.append(ThreatPath(tk, r[lo:hi], t_imp))
        lo = hi
    return out


def track_sigma(track):
    """Callable: 1-sigma RSS position error of the track at given times."""

    def sigma(t_s):
        _, p = track.state_at(0, np.atleast_1d(np.asarray(t_s, float)))
        return np.sqrt(np.trace(p[..., :3, :3], axis1=-2, axis2=-1))

    return sigma


@dataclass
class Committed:
    """What the battle manager has of one threat: the decision, the path it plans on, the
    track's quality, and (for the record of a leaker) where the threat truly comes down."""

    engaged: bool
    commit_s: float | None = None  # the engage decision, on the threat's clock
    path: ThreatPath | None = None
    sigma: Callable | None = None  # t_s -> 1-sigma RSS position error of the track (m)
    impact: tuple[float, float, float] | None = None  # truth: (t_s, lat_deg, lon_deg); None: none


def committed(a) -> Committed:
    """The battle manager's view of one threat from its chain (``engine.assess.ThreatAssessment``)."""
    tr = a.truth
    impact = None
    if tr.impacted:
        lat, lon = tr.flight.impact_lat_lon_deg
        impact = (float(tr.flight.t_impact_s[0]), float(lat[0]), float(lon[0]))
    if a.decision.decision != "engage" or a.track is None:
        return Committed(False, impact=impact)
    commit = float(a.decision.declared_at_s)
    return Committed(True, commit, threat_path(a.track, commit, a.track.model.beta_kg_m2), track_sigma(a.track), impact)


def engage(
    assessments: Sequence,
    batteries: Sequence[BatterySpec],
    doctrine: Doctrine | Mapping[str, Doctrine],
    rng: np.random.Generator,
    *,
    values: Sequence[float] | None = None,
    method: str = "milp",
    fc_sigma_m: float = FC_SIGMA_M,
) -> EngagementResult:
    """Fight one engagement: threats (``engine.assess.ThreatAssessment``) against fire units.

    doctrine: one for every interceptor, or a mapping interceptor id -> doctrine (ids missing
    from it get ``Doctrine()``). The assignment deals in each fire unit's salvos, up to its
    doctrine's looks per threat, and a threat can draw salvos from several layers (midcourse,
    then terminal); looks are fired in the order of their intercepts.
    """
    return fight(
        [committed(a) for a in assessments], batteries, doctrine, rng,
        values=values, method=method, fc_sigma_m=fc_sigma_m,
    )


def fight(
    threats: Sequence[Committed],
    batteries: Sequence[BatterySpec],
    doctrine: Doctrine | Mapping[str, Doctrine],
    rng: np.random.Generator,
    *,
    values: Sequence[float] | None = None,
    method: str = "milp",
    fc_sigma_m: float = FC_SIGMA_M,
    compare_methods: bool = True,
    windows: Sequence[Sequence[EngagementWindow | None]] | None = None,
    specs: Sequence[InterceptorSpec] | None = None,
    sspk: Sequence[float] | None = None,
    narrate: bool = True,
) -> EngagementResult:
    """`engage` on the battle manager's view of each threat (`Committed`).

    compare_methods: also solve the assignment with the other method, for
    ``expected_value_by_method`` (a campaign skips it). windows: the engagement windows
    ``windows[i][j]`` of fire unit i against committed threat j when the caller has them
    (a campaign computes a whole chunk's at once, ``battlespace.PathSet``); only the fire
    units' geometry and timing matter there. specs: the fire units' interceptors
    (``b.interceptor_spec()``) when the caller has them. sspk: each fire unit's single-shot
    kill probability (a campaign trial's draw), instead of its interceptor's ``sspk_mean``.
    narrate: False leaves out the events and the record of the shots fired (a campaign keeps
    only the outcomes).
    """
    n_t, n_s = len(threats), len(batteries)
    values = np.ones(n_t) if values is None else np.asarray(values, float)
    outcomes = [ThreatOutcome(j, engaged=c.engaged) for j, c in enumerate(threats)]
    events: list[Event] = []
    fired: list[dict] = []
    specs = [b.interceptor_spec() for b in batteries] if specs is None else list(specs)
    pk_use = [s.sspk_mean for s in specs] if sspk is None else [float(x) for x in sspk]
    engaged = [j for j, c in enumerate(threats) if c.engaged]
    if windows is None:
        windows = [[None] * n_t for _ in range(n_s)]
        if engaged:
            paths = PathSet([threats[j].path for j in engaged])
            sigma = per_path_sigma([threats[j].sigma for j in engaged])
            commits = [threats[j].commit_s for j in engaged]
            for i, bat in enumerate(batteries):
                for j, w in zip(engaged, paths.windows(bat, commits, sigma, fc_sigma_m, spec=specs[i])):
                    windows[i][j] = w
    feasible = np.zeros((n_s, n_t), bool)
    p = np.zeros((n_s, n_t))
    for j in engaged:
        c = threats[j]
        for i, bat in enumerate(batteries):
            w = windows[i][j]
            outcomes[j].windows.append(w)
            feasible[i, j] = not w.empty and bat.rounds > 0
            p[i, j] = pk_use[i]
        if narrate and not feasible[:, j].any():
            why = "; ".join(f"{batteries[i].name}: {windows[i][j].reason}" for i in range(n_s)) or "no fire units"
            events.append(Event(c.commit_s, "no engagement possible", j, why))
    # The doctrine fixes the salvo: the assignment deals in salvos (kill probability
    # 1 - (1 - p)^n, inventory in whole salvos), up to one per look at each fire unit.
    docs = [_doctrine_for(doctrine, s) for s in specs]
    n_salvo = np.array([d.shots for d in docs], int)
    n_looks = np.array([d.looks if d.mode == "shoot-look-shoot" else 1 for d in docs], int)
    inventory = np.array([b.rounds for b in batteries], int) // n_salvo
    p_salvo = 1.0 - (1.0 - p) ** n_salvo[:, None]
    layers = {specs[i].layer for i in range(n_s) if feasible[i].any()}
    cap = int(n_looks.max(initial=1)) * max(1, len(layers))
    by_method: dict[str, float] = {}
    shots, ev = np.zeros((n_s, n_t), int), 0.0
    if feasible.any() and inventory.any():
        pair = np.ascontiguousarray(np.broadcast_to(n_looks[:, None], p.shape), np.int64)
        caps = np.full(n_t, cap, np.int64)
        for m in ("milp", "greedy") if compare_methods else (method,):
            # the arrays are valid by construction: solve without assign's checks
            asg = solve(values, p_salvo, feasible, inventory.astype(np.int64), caps, pair, m)
            by_method[m] = float(asg.expected_value)
            if m == method:
                shots, ev = asg.shots * n_salvo[:, None], float(asg.expected_value)
    for j, c in enumerate(threats):
        o = outcomes[j]
        if not o.engaged:
            continue
        looks = []  # (intercept_s, launch_s, site, n)
        for i in range(n_s):
            n = int(shots[i, j])
            if n == 0:
                continue
            w = windows[i][j]
            # the interceptor's own kill-assessment time sets the gap between looks
            d = _looks_doctrine(docs[i], int(n // n_salvo[i]), specs[i].kill_assessment_s)
            plan = d.plan(w.earliest_s, w.latest_s, w.flyout_at, float(c.commit_s) + specs[i].launch_delay_s)
            for look in plan:
                looks.append((look.intercept_s, look.launch_s, i, look.shots))
        looks.sort()
        killed_known_at = np.inf
        for t_int, t_launch, i, k in looks:
            if t_launch >= killed_known_at:
                continue  # the kill is known before this look would launch: hold the rounds
            bat = batteries[i]
            spec = specs[i]
            o.interceptors_fired += k
            if not narrate:
                if not o.intercepted:
                    hits = rng.random(k) < p[i, j]
                    if hits.any():
                        o.intercepted = True
                        o.intercept_point = windows[i][j].point_at(t_int)
                        killed_known_at = t_int + spec.kill_assessment_s
                continue
            events.append(Event(t_launch, "interceptor launch", j, f"{bat.name}: {k} x {spec.name}"))
            if o.intercepted:
                # already dead, not yet known: these rounds are spent for nothing
                events.append(Event(t_int, "intercept", j, f"{bat.name}: target already destroyed"))
                continue
            hits = rng.random(k) < p[i, j]
            lat, lon, alt = windows[i][j].point_at(t_int)
            fired.append({
                "threat": j, "battery": bat.name, "site_lat": bat.site_lat_deg, "site_lon": bat.site_lon_deg,
                "t_launch_s": t_launch, "t_intercept_s": t_int, "shots": k, "hit": bool(hits.any()),
                "lat": lat, "lon": lon, "alt_m": alt,
            })
            if hits.any():
                o.intercepted = True
                o.intercept_point = (lat, lon, alt)
                killed_known_at = t_int + spec.kill_assessment_s
                events.append(Event(t_int, "intercept", j, f"{bat.name}: hit ({int(hits.sum())} of {k}) at {alt / 1e3:,.0f} km over {lat:.2f}, {lon:.2f}"))
                events.append(Event(killed_known_at, "kill assessment", j, f"{bat.name}: target destroyed"))
            else:
                events.append(Event(t_int, "intercept", j, f"{bat.name}: miss ({k} of {k}) at {alt / 1e3:,.0f} km"))
                events.append(Event(t_int + spec.kill_assessment_s, "kill assessment", j, f"{bat.name}: target survives"))
        if not o.intercepted:
            o.leaked = True
            if narrate and c.impact is not None:
                t_imp, lat, lon = c.impact
                events.append(Event(t_imp, "leaker impact", j, f"{lat:.3f}, {lon:.3f}"))
    events.sort(key=lambda e: (e.t_s, e.threat))
    return EngagementResult(outcomes, events, shots, method, ev, by_method, fired)


@lru_cache(maxsize=256)
def _looks_doctrine(doctrine: Doctrine, looks: int, kill_assessment_s: float) -> Doctrine:
    """The doctrine of one fire unit at one threat: the assignment's number of looks there,
    the interceptor's own kill-assessment time between them (a salvo when one look)."""
    upd = {"looks": looks, "kill_assessment_s": kill_assessment_s}
    if looks == 1:
        upd["mode"] = "salvo"
    return doctrine.model_copy(update=upd)


def _doctrine_for(doctrine, spec) -> Doctrine:
    """The doctrine of a fire unit with interceptor ``spec``."""
    if isinstance(doctrine, Doctrine):
        return doctrine
    return doctrine.get(spec.id, doctrine.get(spec.id.split(":")[0], Doctrine()))
