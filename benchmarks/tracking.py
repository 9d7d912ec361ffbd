"""Tracker cost per detection: ``bmdsim.tracking.track`` over N Hwasong-15 trials, one thread.

Setup (as a Monte Carlo campaign worker sees it): the Alaska scenario (Hwasong-15 from Sohae at
Anchorage, the scenario's sensors), N = 500 trials with dispersed launch azimuth and burnout
angle, truth recorded every second, detections from ``bmdsim.sensors.observe``. Timed (warm,
CPU time of this process, so that other load on a shared machine counts less; best and median
of --repeat): ``track`` of the detections before t = 400 s (the engagement window), and of the
whole flight.

Prints JSON: per window, detections, detections per trial, us per detection, ms per trial,
plus compile_s, and three earlier versions' figures from this script on the same pickled
detections and machine (constants below; reproduce them with PYTHONPATH as noted there):
``before``, the tracker before its flat-array kernels (commit e0559b5), ``previous``, the
tracker before the closed-form vacuum STM, the air STM's own RK4 steps, the whitened update and
the counting sort (commit 7679675), and ``e132636``, before the reused buffer of recorded states
and the drag cut above 250 km. Each timed call drops the previous call's history first, as a
campaign drops a chunk's (``track`` then reuses its buffer).

    python benchmarks/tracking.py [--n 500] [--repeat 5] [--method ekf] [--detections FILE.pkl]
        [--save FILE.npz] [--compare FILE.npz]
    python benchmarks/tracking.py --h-air-km 150,100,80   # proposal study: h_air_m

--save writes both windows' TrackHistory arrays (x, P, t_s, established_at_s, initiated_at_s,
nis); --compare reports the largest relative differences against such a file (P: relative to
sqrt(P_ii P_jj); times: absolute), and the largest position (m) and velocity (m/s) differences.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import time

import numpy as np
from _alaska import dispersed_flights

FIELDS = ("x", "P", "t_s", "established_at_s", "initiated_at_s", "nis")

# The tracker before its flat-array kernels (commit e0559b5), this script on the same pickled
# detections (--detections; 500 trials, EKF, CPU time, best of 5), 2 shared cores (AMD EPYC).
# Reproduce: `git archive e0559b5 src | tar -x -C /tmp/base` and run this script with
# PYTHONPATH=/tmp/base/src.
BEFORE = {
    "commit": "e0559b5",
    "t_lt_400": {"us_per_detection_best": 4.4198, "ms_per_trial_best": 3.6634},
    "full": {"us_per_detection_best": 4.5283, "ms_per_trial_best": 7.9171},
}
# The tracker before this round's changes (commit 7679675), the same way (`git archive 7679675
# src`), best of three runs of --repeat 5 interleaved with three of this version, which gave
# t < 400 s 0.3381 us per detection (0.2803 ms per trial), full 0.3788 (0.6622): 2.1x.
PREVIOUS = {
    "commit": "7679675",
    "t_lt_400": {"us_per_detection_best": 0.7176, "ms_per_trial_best": 0.5948},
    "full": {"us_per_detection_best": 0.8172, "ms_per_trial_best": 1.4287},
}

# The tracker before the flat-array states_at, the reused buffer of recorded states and the
# drag cut above 250 km (commit e132636), the same way (`git archive e132636 src`), best of five
# runs of --repeat 4 interleaved with five of the working tree on top of e132636, which gave
# t < 400 s 0.3262 us per detection (0.2704 ms per trial), full 0.3490 (0.6101): 1.09x. (At
# 500 trials the full flight's recorded states, 310 MB, exceed what track() keeps for reuse; on
# a campaign's 100-trial chunks, full flights, the tracker went from 0.685 to 0.561 ms per trial.)
E132636 = {
    "commit": "e132636",
    "t_lt_400": {"us_per_detection_best": 0.3660, "ms_per_trial_best": 0.3033},
    "full": {"us_per_detection_best": 0.3813, "ms_per_trial_best": 0.6666},
}


def build(n: int, with_truth: bool = False):
    """The benchmark's detections of n dispersed trials; with_truth, also (t_record_s (T,),
    r_ecef (n, T, 3)) of the truth flights."""
    from bmdsim.sensors import observe

    sensors, f = dispersed_flights(n)
    r_ecef, _ = f.record_ecef()
    burning = f.t_record_s[None, :] <= f.t_burnout_s[:, None]
    rcs = np.where(burning, 10.0, 0.01)
    det = observe(sensors, f.t_record_s, r_ecef, burning, rcs, np.random.default_rng(2))
    return (det, (f.t_record_s, r_ecef)) if with_truth else det


def accuracy(h, truth, omega: float) -> dict:
    """Position errors of every recorded state against the truth (ECI = ECEF rotated by omega t)."""
    t_rec, r_ecef = truth
    k = np.repeat(np.arange(h.n_targets), np.diff(h.offsets))
    i = np.searchsorted(t_rec, h.t_s)
    assert np.array_equal(t_rec[i], h.t_s)
    c, s = np.cos(omega * h.t_s), np.sin(omega * h.t_s)
    re = r_ecef[k, i]
    r_eci = np.stack([c * re[:, 0] - s * re[:, 1], s * re[:, 0] + c * re[:, 1], re[:, 2]], 1)
    d = h.x[:, :3] - r_eci
    err = np.linalg.norm(d, axis=1)
    nees = np.einsum("ui,ui->u", d, np.linalg.solve(h.P[:, :3, :3], d[:, :, None])[:, :, 0])
    alt = np.linalg.norm(r_eci, axis=1) - 6356752.3
    descending = np.einsum("ui,ui->u", r_eci, h.x[:, 3:]) < 0.0
    out = {}
    for label, sel in (("all", np.ones_like(err, bool)), ("below_150km", alt < 150e3),
                       ("reentry_below_150km", (alt < 150e3) & descending), ("above_150km", alt >= 150e3)):
        e = err[sel]
        if not e.size:
            out[label] = {"n": 0}
            continue
        out[label] = {"n": int(sel.sum()), "rms_m": round(float(np.sqrt(np.mean(e * e))), 3),
                      "p50_m": round(float(np.median(e)), 3), "p99_m": round(float(np.quantile(e, 0.99)), 3),
                      "mean_position_nees": round(float(np.mean(nees[sel])), 3)}
    return out


def h_air_study(det, truth, heights_km, method: str, repeat: int) -> dict:
    """Timing and accuracy of MotionModel(h_air_m=...) against the first height (a proposal
    study), for t < 400 s and the whole flight; timing repeats interleaved across heights."""
    from bmdsim.tracking import DEFAULT_MODEL, MotionModel, track

    out = {}
    for label, d in (("t_lt_400", det.take(det.t_s < 400)), ("full", det)):
        n = int(d.target.max()) + 1
        models = [MotionModel(h_air_m=hk * 1e3) for hk in heights_km]
        hs = [track(d, n_targets=n, method=method, model=mo) for mo in models]
        ts = [[] for _ in models]
        for _ in range(repeat):
            for i, mo in enumerate(models):
                ts[i] += _time(lambda mo=mo: track(d, n_targets=n, method=method, model=mo), 1)
        ref = hs[0]
        rows = {}
        for hk, h, t in zip(heights_km, hs, ts):
            row = {"us_per_detection_best": round(min(t) / d.t_s.shape[0] * 1e6, 4),
                   "accuracy": accuracy(h, truth, float(DEFAULT_MODEL.earth.omega_rad_s))}
            if h is not ref:
                sig = np.sqrt(np.einsum("uii->ui", ref.P[:, :3, :3]))
                dx = np.abs(h.x[:, :3] - ref.x[:, :3])
                row["vs_first"] = {
                    "max_position_diff_m": float(dx.max()),
                    "max_position_diff_over_sigma": float((dx / sig).max()),
                    "max_rel_sigma_diff": float(np.abs(np.sqrt(np.einsum("uii->ui", h.P))
                                                       / np.sqrt(np.einsum("uii->ui", ref.P)) - 1).max()),
                    "same_established": bool(np.array_equal(h.established_at_s, ref.established_at_s, equal_nan=True)),
                }
            rows[f"h_air_{hk:g}km"] = row
        out[label] = rows
    return out


def _time(fn, repeat: int) -> list[float]:
    """CPU seconds (process time: this process alone, on a shared machine) of each of repeat calls."""
    out = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def compare(h, ref_path: str, label: str) -> dict:
    """Largest relative differences of h's arrays against a --save file."""
    ref = np.load(ref_path)
    out = {}
    for name in FIELDS:
        a = np.asarray(getattr(h, name), float)
        b = ref[f"{label}.{name}"]
        if a.shape != b.shape:
            out[name] = f"shape {a.shape} != {b.shape}"
            continue
        nan_same = bool(np.array_equal(np.isnan(a), np.isnan(b)))
        ok = ~np.isnan(a) & ~np.isnan(b)
        if name == "x":
            # also in units of the reference's standard deviations, and relative to |r|, |v|
            sig = np.sqrt(np.abs(np.einsum("uii->ui", ref[f"{label}.P"])))
            out["x_over_sigma"] = float((np.abs(a - b) / sig)[ok].max()) if ok.any() else 0.0
            pos = np.linalg.norm(b[:, :3], axis=1, keepdims=True)
            vel = np.linalg.norm(b[:, 3:], axis=1, keepdims=True)
            out["x_rel_to_norm"] = float(np.nanmax(np.abs(a - b) / np.hstack([pos, pos, pos, vel, vel, vel])))
            out["max_position_diff_m"] = float(np.nanmax(np.linalg.norm(a[:, :3] - b[:, :3], axis=1)))
            out["max_velocity_diff_mps"] = float(np.nanmax(np.linalg.norm(a[:, 3:] - b[:, 3:], axis=1)))
        if name == "P":
            # relative to each matrix's diagonal scale: |dP_ij| / sqrt(P_ii P_jj)
            d = np.sqrt(np.abs(np.einsum("uii->ui", b)))
            scale = d[:, :, None] * d[:, None, :]
            rel = np.abs(a - b) / scale
        elif name in ("established_at_s", "initiated_at_s", "t_s"):
            rel = np.abs(a - b)  # times: absolute, must be 0
        else:
            rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
        out[name] = {"max": float(rel[ok].max()) if ok.any() else 0.0, "nan_pattern_equal": nan_same}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="trials (targets)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--method", default="ekf", choices=("ekf", "ukf"))
    ap.add_argument("--save", help="write the TrackHistory arrays to this .npz")
    ap.add_argument("--compare", help="compare the TrackHistory arrays against this .npz")
    ap.add_argument("--detections", help="pickle of the detections (and truth): loaded if it exists, else "
                    "built and written (keeps runs comparable while the sensor or flight code changes)")
    ap.add_argument("--h-air-km", help="instead: timing and accuracy (t < 400 s, against the truth) for these "
                    "comma-separated h_air_m values in km, the first the reference (e.g. 150,100,80)")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(1)
    from bmdsim.tracking import track

    if args.detections and os.path.exists(args.detections):
        with open(args.detections, "rb") as fh:
            det, truth = pickle.load(fh)
        if int(det.target.max()) + 1 != args.n:
            raise SystemExit(f"{args.detections} holds {int(det.target.max()) + 1} trials, not --n {args.n}")
    else:
        det, truth = build(args.n, with_truth=True)
        if args.detections:
            with open(args.detections, "wb") as fh:
                pickle.dump((det, truth), fh)
    if args.h_air_km:
        heights = [float(v) for v in args.h_air_km.split(",")]
        track(det.take((det.t_s < 400) & (det.target < 2)), n_targets=2, method=args.method)
        print(json.dumps(h_air_study(det, truth, heights, args.method, args.repeat), indent=1))
        return
    early = det.take(det.t_s < 400)

    t0 = time.perf_counter()
    track(early.take(early.target < 2), n_targets=2, method=args.method)  # compile (or load the cache)
    compile_s = time.perf_counter() - t0

    result: dict = {"n_trials": args.n, "method": args.method, "threads": numba.get_num_threads(),
                    "compile_s": round(compile_s, 3), "before": BEFORE, "previous": PREVIOUS,
                    "e132636": E132636}
    hist = {}
    for label, d in (("t_lt_400", early), ("full", det)):
        holder = {}

        def run(d=d, holder=holder):
            # drop the previous history first, as a campaign drops a chunk's: track() then reuses
            # its buffer of recorded states
            holder.pop("h", None)
            holder["h"] = track(d, n_targets=args.n, method=args.method)

        ts = _time(run, args.repeat)
        n_det = int(d.t_s.shape[0])
        best, med = min(ts), float(np.median(ts))
        result[label] = {
            "detections": n_det,
            "detections_per_trial": n_det / args.n,
            "updates": int(holder["h"].t_s.shape[0]),
            "us_per_detection_best": round(best / n_det * 1e6, 4),
            "us_per_detection_median": round(med / n_det * 1e6, 4),
            "ms_per_trial_best": round(best / args.n * 1e3, 4),
            "ms_per_trial_median": round(med / args.n * 1e3, 4),
        }
        hist[label] = holder["h"]
    if args.save:
        np.savez(args.save, **{f"{label}.{name}": np.asarray(getattr(h, name))
                               for label, h in hist.items() for name in FIELDS})
    if args.compare:
        result["compare"] = {label: compare(h, args.compare, label) for label, h in hist.items()}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
