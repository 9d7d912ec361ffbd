"""One threat from launch to decision: truth, sensors, tracks, impact prediction, the policy.

This module wires the kernels (it holds no physics): the truth flies (``flight``), the sensors
observe it (``sensors.observe``), the tracker fuses their detections (``tracking.track``), and
at each assessment time the track's state and covariance are flown to impact
(``assessment.impact``) and judged (``assessment.policy``). The decision is taken from the
tracks, with their uncertainty, never from the truth; the truth is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bmdsim.assessment.impact import ImpactPrediction, predict_impact
from bmdsim.assessment.policy import ENGAGE, Assessment, Decision, Policy, decide, evaluate
from bmdsim.earth import geodesy
from bmdsim.earth.geography import TerritoryIndex, resolve_protected
from bmdsim.earth.places import Place
from bmdsim.errors import BmdsimInputError
from bmdsim.flight.fly import FlightBatch, coast, fly, guidance_array, stack_missiles
from bmdsim.flight.shaping import PROFILES, orbit_insertion, shape
from bmdsim.flight.stages import DropZone, drop_zones
from bmdsim.sensors import Detections, observe
from bmdsim.sensors.spec import KIND_INFRARED
from bmdsim.threats.spec import Missile
from bmdsim.tracking import track as run_tracker

ASSESS_PROFILES = PROFILES + ("orbit",)
_EVENT_ORDER = {"launch": 0, "detection": 1, "track established": 2, "burnout observed": 3, "assessment": 4, "decision": 5}
# overflight excludes the last part of the descent: coming down on a territory is an impact,
# not an overflight
TERMINAL_S = 120.0
# a launch that does not come down is watched this long after the decision, then left alone
WATCH_ORBIT_S = 1200.0
ORBIT_OVERFLIGHT_S = 600.0
# Radar cross-sections (m^2) for detection ranges: the burning booster with its plume is a large
# target; after burnout the tracked object is the reentry vehicle. The sensors' published ranges
# are against an RV-sized 0.01 m^2 (data/sensors.toml).
RCS_BOOST_M2 = 10.0
RCS_RV_M2 = 0.01
# a satellite with its spent upper stage (assumed: a small satellite bus and a 1-2 m stage are
# of order 1 m^2 at UHF and X band); what the early-warning radars see of an orbital launch
RCS_ORBITAL_M2 = 1.0


@dataclass
class Truth:
    """The simulated truth of one threat (reported, never used to decide)."""

    missile: Missile
    launch: Place
    aim: Place
    profile: str
    flight: FlightBatch  # one trajectory, recorded every record_dt_s

    @property
    def impacted(self) -> bool:
        return bool(self.flight.impacted[0])

    def summary(self) -> dict:
        f = self.flight
        if not self.impacted:
            return {"impact": None, "apogee_km": None, "range_km": None, "flight_time_s": None, "orbital": bool(f.orbital[0])}
        lat, lon = f.impact_lat_lon_deg
        return {
            "impact": {"lat": float(lat[0]), "lon": float(lon[0])},
            "apogee_km": float(f.apogee_h_m[0]) / 1e3,
            "range_km": float(f.ground_range_m[0]) / 1e3,
            "flight_time_s": float(f.t_impact_s[0]),
            "orbital": False,
        }


@dataclass
class ThreatAssessment:
    """Everything the chain produced for one threat."""

    truth: Truth
    detections: Detections
    sensor_names: list[str]
    decision: Decision
    predictions: list[ImpactPrediction]
    overflown: list[str]
    drop_zones: list[DropZone]
    timeline: list[dict] = field(default_factory=list)
    established_at_s: float | None = None
    track: object | None = None  # tracking.TrackHistory of this threat (None: never initiated)
    ground_track: np.ndarray | None = None  # (n, 3) lat_deg, lon_deg, h_m: the track's path (filtered, then predicted)


def fly_truth(missile: Missile, launch: Place, aim: Place, profile: str, apogee_km: float | None, record_dt_s: float = 1.0) -> Truth:
    """The threat's true trajectory: shaped onto the aim point, or into orbit (profile 'orbit',
    launched toward the aim point)."""
    if profile not in ASSESS_PROFILES:
        raise BmdsimInputError("profile", profile, f"allowed: {', '.join(ASSESS_PROFILES)}")
    if profile == "orbit":
        if missile.satellite_mass_kg is not None:
            missile = missile.with_payload(missile.satellite_mass_kg)
        _, az, _ = geodesy.inverse(launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg)
        ins = orbit_insertion(missile, launch.lat_deg, launch.lon_deg, float(az))
        st, pl = stack_missiles([missile])
        g = guidance_array([missile], float(az), ins["theta_deg"], np.inf, ins["theta_end_deg"])
        f = fly(launch.lat_deg, launch.lon_deg, st, pl, g, record_dt_s=record_dt_s)
    else:
        apo = None if apogee_km is None else apogee_km * 1e3
        f = shape([missile], launch.lat_deg, launch.lon_deg, aim.lat_deg, aim.lon_deg, profile, apo, record_dt_s=record_dt_s).flight
    return Truth(missile, launch, aim, profile, f)


def _rcs_and_burning(truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    t = truth.flight.t_record_s
    burning = (t <= truth.flight.t_burnout_s[0])[None, :]
    after = RCS_ORBITAL_M2 if truth.profile == "orbit" else RCS_RV_M2
    rcs = np.where(burning, RCS_BOOST_M2, after)
    return burning, rcs


def _overflown(index: TerritoryIndex, lat, lon, h_m) -> list[str]:
    """Territories whose land lies under the ground track while the missile flies above it."""
    ok = np.isfinite(lat) & np.isfinite(h_m) & (h_m > 0.0)
    out = []
    for t in index.territories:
        if ok.any() and bool(np.any(index.over_land(t.code, lat[ok], lon[ok]))):
            out.append(t.code)
    return out


def assess_threat(
    truth: Truth,
    sensors: Sequence,
    policy: Policy,
    rng: np.random.Generator,
    *,
    assess_every_s: float = 10.0,
    n_samples: int = 300,
    method: str = "ekf",
) -> ThreatAssessment:
    """Run sensors, tracker and policy over one threat's truth."""
    index = TerritoryIndex(resolve_protected(policy.protect))
    f = truth.flight
    r_ecef, _ = f.record_ecef()
    burning, rcs = _rcs_and_burning(truth)
    det = observe(list(sensors), f.t_record_s, r_ecef, burning, rcs, rng)
    names = [s.name for s in sensors]
    timeline = [{"t_s": 0.0, "event": "launch", "detail": f"{truth.missile.name} from {truth.launch.name}"}]
    seen = set()
    for i in range(len(det.t_s)):
        s = int(det.sensor[i])
        if s not in seen:
            seen.add(s)
            what = "launch detected (infrared, motor burning)" if det.kind[i] == KIND_INFRARED else "radar detection"
            timeline.append({"t_s": float(det.t_s[i]), "event": "detection", "detail": f"{names[s]}: {what}"})
    t_end = float(f.t_impact_s[0]) if truth.impacted else float(f.t_record_s[-1])
    hist = run_tracker(det, method=method, n_targets=1) if len(det.t_s) else None
    est = None if hist is None or not np.isfinite(hist.established_at_s[0]) else float(hist.established_at_s[0])
    predictions: list[ImpactPrediction] = []
    assessments: list[Assessment] = []
    if est is not None:
        timeline.append({"t_s": est, "event": "track established", "detail": _track_detail(hist, names, est)})
        beta = hist.model.beta_kg_m2
        launch_r = None
        t_unpowered = _unpowered_from(det, est)
        if np.isfinite(t_unpowered):
            timeline.append({"t_s": t_unpowered, "event": "burnout observed", "detail": _burnout_detail(det)})
        t = est
        while t < t_end - 5.0:
            x, p = hist.state_at(0, t)
            pred = predict_impact(t, x, p, beta, rng, n_samples=n_samples, territory_index=index)
            if np.isfinite(pred.mean_lat_deg):
                launch_r = float(geodesy.inverse(truth.launch.lat_deg, truth.launch.lon_deg, pred.mean_lat_deg, pred.mean_lon_deg)[0]) / 1e3
            a = evaluate(policy, pred, launch_r, powered=t < t_unpowered)
            predictions.append(pred)
            assessments.append(a)
            timeline.append({"t_s": float(t), "event": "assessment", "detail": _assessment_detail(a)})
            # before the decision, assess often; after it, once a minute is enough to watch it hold
            first = next((b.t_s for b in assessments if b.ready), None)
            t += assess_every_s if first is None else max(60.0, assess_every_s)
            if first is not None and not truth.impacted and t > first + WATCH_ORBIT_S:
                break
    dec = decide(assessments)
    if dec.declared_at_s is not None:
        ev = "threat declared" if dec.decision == ENGAGE else "not engaged"
        timeline.append({"t_s": dec.declared_at_s, "event": f"decision: {ev}", "detail": dec.reason})
        for t_rev, verdict in dec.revisions:
            why = next(a.reason for a in assessments if a.t_s == t_rev)
            timeline.append({"t_s": t_rev, "event": "decision revised", "detail": f"{verdict}: {why}"})
    elif est is None:
        dec.reason = "no track: the sensors never established one"
    if truth.impacted:
        lat, lon = f.impact_lat_lon_deg
        timeline.append({"t_s": t_end, "event": "impact (truth)", "detail": f"{lat[0]:.3f}, {lon[0]:.3f}"})
    timeline.sort(key=lambda e: (e["t_s"], _EVENT_ORDER.get(e["event"].split(":")[0], 5)))
    overflown, gtrack = _predicted_overflight(hist, dec, index, t_end) if est is not None else ([], None)
    zones = drop_zones(f, truth.missile)
    return ThreatAssessment(truth, det, names, dec, predictions, overflown, zones, timeline, est, hist, gtrack)


def _predicted_overflight(hist, dec: Decision, index: TerritoryIndex, t_end: float) -> tuple[list[str], np.ndarray]:
    """Overflight from the tracks: the filtered positions so far plus the predicted path on.

    Returns the territories overflown and the ground track (lat_deg, lon_deg, h_m rows)."""
    from bmdsim.earth import frames

    t_u, x_u, _ = hist.updates(0)
    t0 = dec.declared_at_s if dec.declared_at_s is not None else float(t_u[-1])
    x0, _ = hist.state_at(0, t0)
    fut = coast(t0, x0[:3], x0[3:], hist.model.beta_kg_m2, record_dt_s=10.0)
    # an orbiting object passes over half the world: its overflight is the ascent and insertion
    horizon = np.inf if fut.impacted[0] else t0 + ORBIT_OVERFLIGHT_S
    keep = (fut.t_record_s >= t0) & (fut.t_record_s <= horizon)
    r_f = fut.record_eci[0][keep]
    t_f = fut.t_record_s[keep]
    past = t_u <= t0
    t_all = np.concatenate([t_u[past], t_f])
    r_all = np.concatenate([x_u[past, :3], r_f[:, :3]])
    t_imp = float(fut.t_impact_s[0]) if fut.impacted[0] else np.inf
    fin = np.all(np.isfinite(r_all), axis=1)
    rot = frames.rotation_eci_to_ecef(t_all[fin])
    lat, lon, h = frames.ecef_to_geodetic(np.einsum("nij,nj->ni", rot, r_all[fin]))
    before_terminal = t_all[fin] < t_imp - TERMINAL_S
    gtrack = np.column_stack([lat, lon, h])
    return _overflown(index, lat[before_terminal], lon[before_terminal], h[before_terminal]), gtrack


# the infrared revisit (data/sensors.toml) plus a margin: no plume for this long means burnout
BURNOUT_GAP_S = 12.0
# without an infrared sensor the defense cannot see burnout: it waits this long after the track
# is established before trusting a ballistic prediction
NO_IR_WAIT_S = 60.0


def _unpowered_from(det: Detections, established_s: float) -> float:
    """The time from which the defense believes the motor has stopped."""
    ir = det.t_s[(det.kind == KIND_INFRARED) & (det.target == 0)]
    if ir.size:
        return float(ir.max()) + BURNOUT_GAP_S
    return established_s + NO_IR_WAIT_S


def _burnout_detail(det: Detections) -> str:
    ir = det.t_s[(det.kind == KIND_INFRARED) & (det.target == 0)]
    if ir.size:
        return f"infrared loses the plume after T+{ir.max():.0f} s: ballistic from here"
    return f"no infrared sensor: assumed ballistic {NO_IR_WAIT_S:.0f} s after the track was established"


def _track_detail(hist, names, t_s: float) -> str:
    """Which sensors fed the track up to t_s, and how often."""
    t_u = hist.t_s[hist.offsets[0] : hist.offsets[1]]
    s_u = hist.sensor[hist.offsets[0] : hist.offsets[1]]
    counts = np.bincount(s_u[t_u <= t_s].astype(int), minlength=len(names))
    used = [f"{names[s]} {int(n)}" for s, n in enumerate(counts) if n > 0 and s < len(names)]
    return "detections used so far: " + ", ".join(used)


def _assessment_detail(a: Assessment) -> str:
    p = a.prediction
    if a.reason.startswith("orbital"):
        return f"orbital fraction {p.orbital_fraction:.2f}"
    top = sorted(((v, k) for k, v in p.p_impact.items() if v > 0), reverse=True)[:3]
    ps = ", ".join(f"P({k})={v:.2f}" for v, k in top) or "P(protected)=0"
    def km(v):
        return f"{v:,.1f}" if v < 10 else f"{v:,.0f}"

    return (
        f"impact {p.mean_lat_deg:.2f}, {p.mean_lon_deg:.2f} +/- {km(p.semi_major_km)} x {km(p.semi_minor_km)} km (2 sigma), "
        f"in {p.mean_time_to_impact_s:,.0f} s; {ps}" + ("" if a.ready else " (too early to decide)")
    )


def result_dict(ta: ThreatAssessment) -> dict:
    """The `bmdsim assess --json` contract."""
    d = ta.decision
    dec_a = d.deciding
    pred = dec_a.prediction if dec_a is not None else (ta.predictions[-1] if ta.predictions else None)
    return {
        "decision": d.decision,
        "reason": d.reason,
        "declared_at_s": d.declared_at_s,
        "predicted_impact": None if pred is None or not np.isfinite(pred.mean_lat_deg) else pred.as_dict(),
        "p_impact": {} if pred is None else {k: round(v, 4) for k, v in pred.p_impact.items()},
        "threatened": [] if dec_a is None else dec_a.threatened,
        "overflown": ta.overflown,
        "orbital": bool(d.orbital),
        "time_to_impact_s": None if pred is None or not np.isfinite(pred.mean_time_to_impact_s) else pred.mean_time_to_impact_s,
        "truth": ta.truth.summary(),
        "ground_track": [] if ta.ground_track is None else [
            [round(float(a), 4), round(float(b), 4)] for a, b, _ in ta.ground_track[:: max(1, len(ta.ground_track) // 60)]
        ],
        "track_established_s": ta.established_at_s,
        "sensors": ta.sensor_names,
        "drop_zones": [
            {"stage": z.stage, "lat": None if z.orbital else z.lat_deg, "lon": None if z.orbital else z.lon_deg, "orbital": z.orbital}
            for z in ta.drop_zones
        ],
        "timeline": ta.timeline,
    }
