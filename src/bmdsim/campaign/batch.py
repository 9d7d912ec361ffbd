"""The campaign engine: a chunk of trials through the whole chain at once, as arrays over trials.

`run_batch(resolved, trial_ids, root_seed, dispersion)` gives the same rows as running each trial
alone (`campaign.runner.run_trial` is a batch of one), and runs the chain batched:

1. **Draws.** Trial k's dispersions come from its own stream (``runner.trial_seed_sequences``):
   each interceptor's Pk from its Beta, each threat's launch-time shift, launch-site and
   aim-point offsets (east/north, normal), performance factor (thrust and specific impulse of
   every stage scaled together, so the burn times stay), and each sensor's noise factor
   (log-normal; the trackers keep assuming the catalog noise).
2. **Truth.** Every (trial, threat) object flies in one batch (``flight.fly``). Ballistic
   threats get their scenario guidance (shaped once per threat, cached) corrected by one Newton
   step onto their own aim point from their own site, with the sensitivity of the impact point
   to azimuth and pitch of the nominal shot: what is left is the guidance's miss. Space
   launchers fly their orbit-insertion program.
3. **Sensors and tracks.** One ``sensors.observe`` over all objects, each object's noise from
   its own stream (the one the single-run engine gives that threat), so a trial's detections
   are those of the single run; one ``tracking.track`` over all objects.
4. **Assessment.** The epochs of the single-run engine (from the track's establishment every
   ``assess_every_s``), from the first one at which the motor is believed off (earlier ones
   cannot decide: ``policy.evaluate`` is never ready while powered), until one is ready. The
   predictions are linearised (``assessment.linear.predict_impacts``: the mean flown with the full
   model, the spread by Kepler sensitivities), all objects of an epoch in one call.
5. **Battle.** Per trial, ``engine.engage.fight`` on the committed threats: the path each fire
   unit plans on is the deciding prediction's mean flight (the track's state at the decision
   flown on, as in the single run), and the fire-control quality at a launch time is the
   track's covariance interpolated on a ``SIGMA_GRID_S`` grid (`_SigmaGrids`); the windows of a
   whole chunk are computed together (``defense.battlespace.PathSet``), one pass per fire unit.

Differences from the single-run engine (``engine.run``), on purpose and measured in
``tests/campaign/test_batch.py``: linearised rather than sampled impact predictions, the
fire-control quality interpolated on a grid, and the decision taken at the first ready
assessment (the single run keeps watching and may revise it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmdsim.assessment.linear import predict_impacts
from bmdsim.assessment.policy import ENGAGE, NO_ENGAGE, Policy, evaluate
from bmdsim.campaign.seeds import chunk_generators
from bmdsim.defense.battlespace import PathSet
from bmdsim.earth import geodesy
from bmdsim.earth.geography import TerritoryIndex, resolve_protected
from bmdsim.engine.assess import BURNOUT_GAP_S, NO_IR_WAIT_S, RCS_BOOST_M2, RCS_ORBITAL_M2, RCS_RV_M2
from bmdsim.engine.engage import PATH_DT_S, Committed, fight, paths_from_coast
from bmdsim.flight import kernel as K
from bmdsim.flight.fly import fly, guidance_array, stack_missiles
from bmdsim.flight.shaping import _aim_geometry, _impact_en, orbit_insertion, shape
from bmdsim.sensors import observe
from bmdsim.sensors.spec import KIND_INFRARED
from bmdsim.tracking import track as run_tracker

ASSESS_EVERY_S = 10.0
RECORD_DT_S = 1.0
SIGMA_GRID_S = 20.0  # fire-control quality: the track's covariance on this grid, interpolated
# finite-difference steps for the guidance sensitivities (deg)
_D_AZ, _D_THETA = 0.01, 0.01


# ---------------------------------------------------------------------------------------------
# Nominal guidance per threat (cached: a campaign flies the same threats thousands of times)


@dataclass(frozen=True)
class _Nominal:
    azimuth_deg: float
    theta_deg: float
    t_cutoff_s: float
    theta_end_deg: float | None  # space launchers only
    jac: np.ndarray | None  # (2, 2) d(impact east, north in m) / d(azimuth, theta in deg)
    aim_r: np.ndarray  # (3,) ECEF of the scenario's aim point
    aim_basis: np.ndarray  # (3, 3) ENU rows there


_NOMINAL: dict[tuple, _Nominal] = {}


def _nominal(spec) -> _Nominal:
    key = (spec.missile.model_dump_json(), spec.launch.lat_deg, spec.launch.lon_deg, spec.aim.lat_deg,
           spec.aim.lon_deg, spec.profile, spec.apogee_km)
    if key in _NOMINAL:
        return _NOMINAL[key]
    m = spec.missile
    aim_r, aim_basis = _aim_geometry(spec.aim.lat_deg, spec.aim.lon_deg)
    aim_r, aim_basis = aim_r.reshape(3), aim_basis.reshape(3, 3)
    if spec.profile == "orbit":
        if m.satellite_mass_kg is not None:
            m = m.with_payload(m.satellite_mass_kg)
        _, az, _ = geodesy.inverse(spec.launch.lat_deg, spec.launch.lon_deg, spec.aim.lat_deg, spec.aim.lon_deg)
        ins = orbit_insertion(m, spec.launch.lat_deg, spec.launch.lon_deg, float(az))
        nom = _Nominal(float(az), ins["theta_deg"], np.inf, ins["theta_end_deg"], None, aim_r, aim_basis)
    else:
        apo = None if spec.apogee_km is None else spec.apogee_km * 1e3
        sh = shape([m], spec.launch.lat_deg, spec.launch.lon_deg, spec.aim.lat_deg, spec.aim.lon_deg, spec.profile, apo)
        az, th, tc = float(sh.azimuth_deg[0]), float(sh.theta_deg[0]), float(sh.t_cutoff_s[0])
        ms = [m] * 3
        st, pl = stack_missiles(ms)
        g = guidance_array(ms, [az, az + _D_AZ, az], [th, th, th + _D_THETA], tc)
        b = fly(spec.launch.lat_deg, spec.launch.lon_deg, st, pl, g)
        en = _impact_en(b, np.repeat(aim_r[None], 3, 0), np.repeat(aim_basis[None], 3, 0))
        jac = np.column_stack([(en[1] - en[0]) / _D_AZ, (en[2] - en[0]) / _D_THETA])
        nom = _Nominal(az, th, tc, None, jac if np.all(np.isfinite(jac)) else None, aim_r, aim_basis)
    _NOMINAL[key] = nom
    return nom


# ---------------------------------------------------------------------------------------------
# Draws


@dataclass
class _Draws:
    """One chunk's dispersions: arrays over (trial, threat) objects or trials."""

    time_shift_s: np.ndarray  # (n, T)
    site_en_m: np.ndarray  # (n, T, 2)
    aim_en_m: np.ndarray  # (n, T, 2)
    performance: np.ndarray  # (n, T) factor on thrust and Isp
    noise: np.ndarray  # (n, S) factor on each sensor's noise
    sspk: np.ndarray  # (n, B) each fire unit's single-shot kill probability in this trial


def _draw(resolved, threats, trial_rngs: Sequence[np.random.Generator], d: Mapping[str, Any], specs=None) -> _Draws:
    """The chunk's dispersions (specs: the fire units' interceptors, when the caller has them)."""
    n, nt, ns = len(trial_rngs), len(threats), len(resolved.sensors)
    if specs is None:
        specs = [b.interceptor_spec() for b in resolved.batteries]
    out = _Draws(np.zeros((n, nt)), np.zeros((n, nt, 2)), np.zeros((n, nt, 2)), np.ones((n, nt)), np.ones((n, ns)),
                 np.tile(np.array([s.sspk_mean for s in specs], float), (n, 1)))
    for k, rng in enumerate(trial_rngs):
        # the order of the draws is fixed: each kind is drawn only when dispersed, always in
        # this order, so adding a dispersion never changes the draws of the ones before it
        if d["pk"]:
            out.sspk[k] = _pk_draws(resolved, specs, rng)
        if d["launch_time_s"] > 0:
            out.time_shift_s[k] = rng.uniform(-d["launch_time_s"], d["launch_time_s"], size=nt)
        if d["launch_site_km"] > 0:
            out.site_en_m[k] = rng.normal(0.0, d["launch_site_km"] * 1e3, size=(nt, 2))
        if d["aim_km"] > 0:
            out.aim_en_m[k] = rng.normal(0.0, d["aim_km"] * 1e3, size=(nt, 2))
        if d["performance"] > 0:
            out.performance[k] = 1.0 + d["performance"] * rng.standard_normal(nt)
        if d["sensor_noise"] > 0:
            out.noise[k] = np.exp(d["sensor_noise"] * rng.standard_normal(ns))
    return out


def _pk_draws(resolved, specs, rng: np.random.Generator) -> list[float]:
    """Each fire unit's SSPK in this trial: one draw per interceptor (id and Beta), shared by its
    fire units; the catalog's or the scenario's where they fix it (specs: the fire units'
    interceptors)."""
    out = []
    drawn: dict[tuple, float] = {}
    for b, spec in zip(resolved.batteries, specs):
        if "sspk" in b.interceptor_overrides or spec.sspk is not None:
            out.append(spec.sspk_mean)
            continue
        key = (b.interceptor, spec.sspk_beta)
        if key not in drawn:
            drawn[key] = float(spec.sample_sspk(rng, 1)[0])
        out.append(drawn[key])
    return out


def _moved(lat_deg, lon_deg, en_m):
    """Points moved east/north by en_m (n, 2) metres along geodesics."""
    dist = np.hypot(en_m[:, 0], en_m[:, 1])
    az = np.degrees(np.arctan2(en_m[:, 0], en_m[:, 1]))
    lat2, lon2, _ = geodesy.direct(np.broadcast_to(lat_deg, dist.shape), np.broadcast_to(lon_deg, dist.shape), az, dist)
    return np.where(dist > 0, lat2, lat_deg), np.where(dist > 0, lon2, lon_deg)


# ---------------------------------------------------------------------------------------------
# Truth


def _fly_truth(threats, draws: _Draws):
    """All objects (trial-major: object = trial * T + threat) flown with their dispersions."""
    n, nt = draws.time_shift_s.shape
    noms = [_nominal(s) for s in threats]
    flown = [
        s.missile.with_payload(s.missile.satellite_mass_kg)
        if s.profile == "orbit" and s.missile.satellite_mass_kg is not None else s.missile
        for s in threats
    ]
    jidx = np.tile(np.arange(nt), n)
    ms = [flown[j] for j in jidx]
    lat_o, lon_o = np.empty(n * nt), np.empty(n * nt)
    for j, s in enumerate(threats):
        lat_o[j::nt], lon_o[j::nt] = _moved(s.launch.lat_deg, s.launch.lon_deg, draws.site_en_m[:, j])
    az_o = np.array([noms[j].azimuth_deg for j in jidx])
    th_o = np.array([noms[j].theta_deg for j in jidx])
    tc_o = np.array([noms[j].t_cutoff_s for j in jidx])
    te_o = np.array([np.nan if noms[j].theta_end_deg is None else noms[j].theta_end_deg for j in jidx])
    perf_o = draws.performance.reshape(-1)
    st, pl = stack_missiles(ms)
    for f in (K.S_THRUST, K.S_LOSS, K.S_ISP):
        st[:, :, f] *= perf_o[:, None]

    def guidance():
        theta_end = np.where(np.isnan(te_o), th_o, te_o)
        return guidance_array(ms, az_o, th_o, tc_o, theta_end)

    # objects flown as the scenario has them keep its guidance (a single run's truth, exactly)
    moved = (draws.site_en_m != 0).any(axis=2) | (draws.aim_en_m != 0).any(axis=2) | (draws.performance != 1.0)
    if not moved.any():
        # every trial flies the scenario's threats as they are: fly each once (a launch-time
        # shift moves the clock, not the flight)
        return fly(lat_o[:nt], lon_o[:nt], st[:nt], pl[:nt], guidance()[:nt], record_dt_s=RECORD_DT_S).take(jidx)
    need = np.array([noms[j].jac is not None for j in jidx]) & moved.reshape(-1)
    if need.any():
        # one Newton step onto each object's own aim point, from its own site
        b0 = fly(lat_o, lon_o, st, pl, guidance())
        aim_r = np.stack([noms[j].aim_r for j in jidx])
        aim_b = np.stack([noms[j].aim_basis for j in jidx])
        res = _impact_en(b0, aim_r, aim_b) - draws.aim_en_m.reshape(-1, 2)
        for j in range(nt):
            sel = (jidx == j) & need & np.isfinite(res).all(axis=1)
            if sel.any():
                step = np.linalg.solve(noms[j].jac, -res[sel].T).T  # (m, 2): azimuth, pitch (deg)
                step = np.clip(step, -2.0, 2.0)
                az_o[sel] += step[:, 0]
                th_o[sel] += step[:, 1]
    return fly(lat_o, lon_o, st, pl, guidance(), record_dt_s=RECORD_DT_S)


# ---------------------------------------------------------------------------------------------
# Fire-control quality


class _SigmaGrids:
    """The fire-control quality of several tracks: for track k, its 1-sigma RSS position error
    (m) interpolated in time between values of ``TrackHistory.states_at`` (the last update at or
    before each grid time, predicted to it) on a SIGMA_GRID_S grid from its commit time to
    impact (clamped outside). Called as ``PathSet.windows``'s sigma: (track index, t_s) arrays;
    ``one(k)`` is track k's as a callable of time alone.

    The grid values are computed when a call first needs them: the two around each time asked
    for (a window asks only at its launch times, which seldom reach the first or the last
    minutes of the grid); the values are those of the whole grid computed at once."""

    def __init__(self, hist, objects: list[int], commit_s: list[float], t_end: np.ndarray):
        self._hist = hist
        grids = [np.append(np.arange(c, max(c, float(t_end[k])), SIGMA_GRID_S), max(c, float(t_end[k])))
                 for k, c in zip(objects, commit_s)]
        sizes = np.array([g.size for g in grids], np.int64)
        self._t_grid = np.concatenate(grids) if grids else np.zeros(0)
        self._obj = np.repeat(np.asarray(objects, np.int64), sizes)
        self.s_grid = np.full(self._t_grid.size, np.nan)
        self._done = np.zeros(self._t_grid.size, bool)
        # one np.interp over all tracks: track k's grid shifted to start at k * span
        last = np.cumsum(sizes) - 1
        self._first, self._last = last - sizes + 1, last
        self._lo, self._hi = self._t_grid[self._first], self._t_grid[last]
        span = float(np.max(self._hi - self._lo, initial=0.0)) + 1.0
        self._base = np.arange(len(grids)) * span - self._lo
        self._x = self._t_grid + np.repeat(self._base, sizes)

    def __call__(self, k, t_s):
        k = np.asarray(k, np.int64)
        x = np.clip(np.asarray(t_s, float), self._lo[k], self._hi[k]) + self._base[k]
        # np.interp takes grid points j and j + 1 with x[j] <= x < x[j + 1] (j the last at the end)
        j = np.clip(np.searchsorted(self._x, x, side="right") - 1, self._first[k], self._last[k])
        mark = np.zeros(self._done.size, bool)
        mark[j] = True
        mark[np.minimum(j + 1, self._last[k])] = True
        need = np.flatnonzero(mark & ~self._done)
        if need.size:
            _, P = self._hist.states_at(self._obj[need], self._t_grid[need])
            self.s_grid[need] = np.sqrt(np.trace(P[:, :3, :3], axis1=1, axis2=2))
            self._done[need] = True
        return np.interp(x, self._x, self.s_grid)

    def one(self, k: int):
        return lambda t_s: self(np.full(np.shape(t_s), k, np.int64), t_s)


# ---------------------------------------------------------------------------------------------
# The chain


@dataclass
class _Assessed:
    decision: str
    declared_at_s: float | None
    committed: Committed


def _assess(resolved, threats, truth, det, index: TerritoryIndex, policy: Policy):
    """Decision, commit time, planned path and track quality of every object; the engaged
    objects in order and their fire-control quality (`_SigmaGrids`, in that order)."""
    n_obj = len(truth)
    hist = run_tracker(det, n_targets=n_obj)
    est = hist.established_at_s
    is_ir = (det.kind == KIND_INFRARED)
    last_ir = np.full(n_obj, -np.inf)
    np.maximum.at(last_ir, det.target[is_ir], det.t_s[is_ir])
    t_unp = np.where(np.isfinite(last_ir), last_ir + BURNOUT_GAP_S, est + NO_IR_WAIT_S)
    impacted = truth.impacted
    t_end = np.where(impacted, truth.t_impact_s, truth.t_record_s[-1])
    lat_i, lon_i = truth.impact_lat_lon_deg
    # the first epoch (est + k * dt) at which the motor is believed off
    k0 = np.where(t_unp > est, np.ceil((t_unp - est) / ASSESS_EVERY_S - 1e-9), 0.0)
    t_e = est + ASSESS_EVERY_S * k0
    pending = np.isfinite(est)
    decided: dict[int, tuple] = {}  # object -> (verdict, t_s, path)
    while True:
        active = pending & (t_e < t_end - 5.0)
        if not active.any():
            break
        idx = np.flatnonzero(active)
        x, P = hist.states_at(idx, t_e[idx])
        preds, fb = predict_impacts(t_e[idx], x, P, hist.model.beta_kg_m2, territory_index=index, record_dt_s=PATH_DT_S)
        # ranges from the launch points to the predicted impacts, in one call
        mlat = np.array([pr.mean_lat_deg for pr in preds])
        mlon = np.array([pr.mean_lon_deg for pr in preds])
        fin = np.isfinite(mlat)
        launch_r = np.full(idx.size, np.nan)
        if fin.any():
            launch_r[fin] = geodesy.inverse(truth.launch_lat_deg[idx[fin]], truth.launch_lon_deg[idx[fin]], mlat[fin], mlon[fin])[0] / 1e3
        engage_now = []
        for q, k in enumerate(idx):
            a = evaluate(policy, preds[q], float(launch_r[q]) if fin[q] else None, powered=False)
            if a.ready:
                pending[k] = False
                decided[int(k)] = (a.verdict, float(a.t_s), None)
                if a.verdict == ENGAGE:
                    engage_now.append((q, int(k), float(a.t_s)))
        if engage_now:
            qs, ks, ts = zip(*engage_now)
            for k, t_dec, path in zip(ks, ts, paths_from_coast(fb, qs, ts)):
                decided[k] = (ENGAGE, t_dec, path)
        t_e[idx] += ASSESS_EVERY_S
    engaged = sorted(k for k, d in decided.items() if d[0] == ENGAGE)
    grids = _SigmaGrids(hist, engaged, [decided[k][1] for k in engaged], t_end)
    sigmas = {k: grids.one(q) for q, k in enumerate(engaged)}
    out = []
    for k in range(n_obj):
        impact = (float(truth.t_impact_s[k]), float(lat_i[k]), float(lon_i[k])) if impacted[k] else None
        if k not in decided:
            out.append(_Assessed(NO_ENGAGE, None, Committed(False, impact=impact)))
            continue
        verdict, t_dec, path = decided[k]
        c = Committed(True, t_dec, path, sigmas[k], impact) if verdict == ENGAGE else Committed(False, impact=impact)
        out.append(_Assessed(verdict, t_dec, c))
    return out, engaged, grids


def run_batch(resolved, trial_ids: Sequence[int], root_seed: int, dispersion: Mapping[str, Any]) -> list[dict]:
    """Rows (one per trial and threat, trials in the order given) of a chunk of trials."""
    trial_ids = [int(k) for k in trial_ids]
    if not trial_ids:
        return []
    threats = resolved.threat_specs()
    nt, n = len(threats), len(trial_ids)
    # per trial: its engine seed, its dispersion stream, and the engine's streams as in
    # engine.run.run_scenario (one per threat, one for the battle): runner.trial_seed_sequences'
    # generators, made for the whole chunk at once (campaign.seeds)
    seeds, disp_rngs, streams = chunk_generators(root_seed, trial_ids, nt + 1)
    specs = [b.interceptor_spec() for b in resolved.batteries]
    draws = _draw(resolved, threats, disp_rngs, dispersion, specs)

    truth = _fly_truth(threats, draws)
    r_ecef, _ = truth.record_ecef()
    t_rec = truth.t_record_s
    burning = t_rec[None, :] <= truth.t_burnout_s[:, None]
    after = np.array([RCS_ORBITAL_M2 if s.profile == "orbit" else RCS_RV_M2 for s in threats] * n)
    rcs = np.where(burning, RCS_BOOST_M2, after[:, None])
    obj_rngs = [streams[k][j] for k in range(n) for j in range(nt)]
    noise = np.repeat(draws.noise, nt, axis=0)
    det = observe(list(resolved.sensors), t_rec, r_ecef, burning, rcs, obj_rngs, noise_scale=noise)

    index = TerritoryIndex(resolve_protected(resolved.policy.protect))
    assessed, engaged, grids = _assess(resolved, threats, truth, det, index, resolved.policy)

    # every engaged object's window at every fire unit, in one pass per fire unit; the trials'
    # fire units differ from the scenario's only in their drawn kill probability
    n_s = len(resolved.batteries)
    windows = np.full((n_s, n * nt), None, dtype=object)
    if engaged:
        paths = PathSet([assessed[k].committed.path for k in engaged])
        commits = [assessed[k].committed.commit_s for k in engaged]
        for i, bat in enumerate(resolved.batteries):
            windows[i, engaged] = paths.windows(bat, commits, grids, spec=specs[i])
    doctrine = resolved.doctrine_map()
    values = [t.value for t in threats]
    lat_i, lon_i = truth.impact_lat_lon_deg
    rows = []
    for q, k in enumerate(trial_ids):
        objs = assessed[q * nt:(q + 1) * nt]
        battle = fight(
            [a.committed for a in objs], resolved.batteries, doctrine, streams[q][-1],
            values=values, compare_methods=False, windows=windows[:, q * nt:(q + 1) * nt], specs=specs,
            sspk=draws.sspk[q], narrate=False,
        )
        for j, (spec, a, o) in enumerate(zip(threats, objs, battle.outcomes)):
            obj = q * nt + j
            hit_ground = bool(truth.impacted[obj]) and not o.intercepted
            rows.append({
                "trial": k,
                "threat": spec.label or f"T{j + 1}",
                "decision": a.decision,
                "declared_at_s": float("nan") if a.declared_at_s is None else float(max(0.0, spec.time_s + draws.time_shift_s[q, j]) + a.declared_at_s),
                "intercepted": bool(o.intercepted),
                "leaked": bool(o.engaged and o.leaked and truth.impacted[obj]),
                "interceptors_fired": int(o.interceptors_fired),
                "impact_lat": float(lat_i[obj]) if hit_ground else float("nan"),
                "impact_lon": float(lon_i[obj]) if hit_ground else float("nan"),
                "trial_seed": seeds[q],
            })
    return rows
