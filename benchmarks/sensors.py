"""Sensor model cost per trial: ``FlightBatch.record_ecef`` and ``observe`` on N trajectories.

The setup of a Monte Carlo campaign: one Hwasong-15 from Sohae aimed at Anchorage, N copies
with small launch-azimuth and pitch errors, flown with a 1 s record, then seen by the scenario's
sensors (radars and infrared satellites), rcs 10 m^2 while burning and 0.01 m^2 after.
numba runs on one thread, as in a campaign worker.

Prints JSON: record_ecef_us_per_trial and observe_us_per_trial (best wall-clock time of --repeat
runs, divided by N), the same as CPU (process) time in *_cpu_us_per_trial (steadier on a shared
machine), detections_per_trial, n, compile_s (imports, the flight and the first calls).
--save PATH writes the detections (np.savez); --compare PATH checks them against a saved file
(exact equality of every array, else the max abs difference) and adds ``compare`` to the JSON.

    python benchmarks/sensors.py [--n 500] [--repeat 7] [--save /tmp/det.npz] [--compare /tmp/det.npz]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _alaska import dispersed_flights

FIELDS = ("t_s", "sensor", "target", "kind", "platform", "z", "R", "site_ecef_m", "site_lat_deg", "site_lon_deg")


def _setup(n: int):
    return dispersed_flights(n)


def _best(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and best CPU (process) time of repeat runs, and the last result."""
    best, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def _compare(det, path: str) -> dict:
    ref = np.load(path)
    out = {"identical": True, "max_abs_diff": {}}
    for k in FIELDS:
        a, b = getattr(det, k), ref[k]
        if a.shape != b.shape:
            out["identical"] = False
            out["max_abs_diff"][k] = f"shape {a.shape} vs {b.shape}"
            continue
        same = np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        out["identical"] &= bool(same)
        if a.dtype.kind == "f":
            fa, fb = np.isnan(a), np.isnan(b)
            d = np.abs(np.where(fa | fb, 0.0, a - b)).max() if a.size else 0.0
            out["max_abs_diff"][k] = float(d) if np.array_equal(fa, fb) else "NaN pattern differs"
        else:
            out["max_abs_diff"][k] = int(np.abs(a - b).max()) if a.size else 0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="trajectories")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs; the best is reported")
    ap.add_argument("--save", help="write the detections to this .npz")
    ap.add_argument("--compare", help="compare the detections with this .npz")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(1)
    from bmdsim.sensors import observe

    t0 = time.perf_counter()
    sensors, f = _setup(args.n)
    r_ecef, _ = f.record_ecef()
    burning = f.t_record_s[None, :] <= f.t_burnout_s[:, None]
    rcs = np.where(burning, 10.0, 0.01)
    det = observe(sensors, f.t_record_s, r_ecef, burning, rcs, np.random.default_rng(2))  # compile / warm
    compile_s = time.perf_counter() - t0

    t_rec, c_rec, (r_ecef, _) = _best(f.record_ecef, args.repeat)
    t_obs, c_obs, det = _best(lambda: observe(sensors, f.t_record_s, r_ecef, burning, rcs, np.random.default_rng(2)), args.repeat)

    out = {
        "n": args.n,
        "record_ecef_us_per_trial": round(t_rec / args.n * 1e6, 1),
        "observe_us_per_trial": round(t_obs / args.n * 1e6, 1),
        "record_ecef_cpu_us_per_trial": round(c_rec / args.n * 1e6, 1),
        "observe_cpu_us_per_trial": round(c_obs / args.n * 1e6, 1),
        "detections_per_trial": round(len(det) / args.n, 1),
        "detections": len(det),
        "compile_s": round(compile_s, 2),
    }
    if args.save:
        np.savez(args.save, **{k: getattr(det, k) for k in FIELDS})
        out["saved"] = args.save
    if args.compare:
        out["compare"] = _compare(det, args.compare)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
