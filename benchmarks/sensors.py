"""Sensor model cost per trial: ``FlightBatch.record_ecef`` and ``observe`` on N trajectories.

The setup of a Monte Carlo campaign: one Hwasong-15 from Sohae aimed at Anchorage, N copies
with small launch-azimuth and pitch errors, flown with a 1 s record, then seen by the scenario's
sensors (radars and infrared satellites), rcs 10 m^2 while burning and 0.01 m^2 after.
numba runs on one thread, as in a campaign worker.

Two calls of ``observe`` are timed:

- the single-run call, all N objects with one Generator (``observe_*`` keys);
- the campaign call, as ``campaign.batch.run_batch`` makes it for a chunk of --chunk trials
  (default 100, the first trajectories): one Generator per object (spawned from
  ``SeedSequence(7)``) and a per-object, per-sensor ``noise_scale`` (log-normal, sigma 0.3)
  (``observe_campaign_*`` keys).

Prints JSON: record_ecef_us_per_trial and observe_us_per_trial (best wall-clock time of --repeat
runs, divided by N), the same as CPU (process) time in *_cpu_us_per_trial (steadier on a shared
machine), detections_per_trial, n, compile_s (imports, the flight and the first calls);
observe_campaign_us_per_trial, observe_campaign_cpu_us_per_trial (per trial of the chunk),
observe_campaign_faults_per_call (minor page faults of one call, the median: fresh output
memory costs the kernel a fault per page), campaign_detections_per_trial, chunk.

Before/after on the same machine: --baseline FILE loads another version of
``bmdsim/sensors/observe.py`` (``git show REV:src/bmdsim/sensors/observe.py > /tmp/old.py``) and
times it the same way, runs alternating with the current one; adds the same keys with a
``_baseline`` suffix, ``speedup_campaign`` and ``speedup`` (baseline CPU time over current), and
``baseline_identical`` (every output array bitwise equal, and the generators left in the same
states). --save PATH writes the detections of both calls (np.savez; the campaign call's arrays
prefixed ``campaign_``); --compare PATH checks them against a saved file (exact equality of every
array, else the max abs difference) and adds ``compare`` (and ``compare_campaign``) to the JSON.

    python benchmarks/sensors.py [--n 500] [--chunk 100] [--repeat 7] [--baseline /tmp/old.py]
                                 [--save /tmp/det.npz] [--compare /tmp/det.npz]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from _alaska import dispersed_flights

try:
    import resource
except ImportError:  # not on Windows
    resource = None

FIELDS = ("t_s", "sensor", "target", "kind", "platform", "z", "R", "site_ecef_m", "site_lat_deg", "site_lon_deg")


def _setup(n: int):
    return dispersed_flights(n)


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def _best(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and best CPU (process) time of repeat runs, and the last result."""
    best, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def _best_of(fns: dict, repeat: int) -> dict:
    """_best of each (setup, fn) pair, fn(setup()) timed, their runs alternating (fair on a shared
    machine), with the median minor page faults of a call: {name: (wall, cpu, faults, last result)}."""
    res = {k: [np.inf, np.inf, [], None] for k in fns}
    for _ in range(repeat):
        for k, (setup, fn) in fns.items():
            arg = setup()
            f0, t0, c0 = _faults(), time.perf_counter(), time.process_time()
            out = fn(arg)
            t1, c1, f1 = time.perf_counter(), time.process_time(), _faults()
            r = res[k]
            r[0], r[1] = min(r[0], t1 - t0), min(r[1], c1 - c0)
            r[2].append(f1 - f0)
            r[3] = out
            del out
    return {k: (w, c, int(np.median(f)), out) for k, (w, c, f, out) in res.items()}


def _compare(det, ref, prefix: str = "") -> dict:
    out = {"identical": True, "max_abs_diff": {}}
    for k in FIELDS:
        a, b = getattr(det, k), ref[prefix + k]
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


def _identical(a, b) -> bool:
    return all(
        getattr(a, k).dtype == getattr(b, k).dtype and getattr(a, k).shape == getattr(b, k).shape
        and np.array_equal(getattr(a, k), getattr(b, k), equal_nan=getattr(a, k).dtype.kind == "f")
        for k in FIELDS
    )


def _load_observe(path: str):
    # a stable module name, registered: numba's on-disk cache of the file refers to it by name
    name = "bmdsim_baseline_" + Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.observe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="trajectories")
    ap.add_argument("--chunk", type=int, default=100, help="trials of the campaign call (the first trajectories)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs; the best is reported")
    ap.add_argument("--baseline", help="another observe.py to time the same way (before/after)")
    ap.add_argument("--save", help="write the detections to this .npz")
    ap.add_argument("--compare", help="compare the detections with this .npz")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(1)
    from bmdsim.sensors import observe

    t0 = time.perf_counter()
    sensors, f = _setup(max(args.n, args.chunk))
    r_all, _ = f.record_ecef()
    burning_all = f.t_record_s[None, :] <= f.t_burnout_s[:, None]
    rcs_all = np.where(burning_all, 10.0, 0.01)
    t_rec = f.t_record_s
    r_ecef, burning, rcs = r_all[:args.n], burning_all[:args.n], rcs_all[:args.n]
    nc = args.chunk
    r_c, burning_c, rcs_c = r_all[:nc], burning_all[:nc], rcs_all[:nc]
    noise = np.exp(0.3 * np.random.default_rng(5).standard_normal((nc, len(sensors))))
    seeds = np.random.SeedSequence(7).spawn(nc)

    def single_rng():
        return np.random.default_rng(2)

    def campaign_rngs():
        return [np.random.default_rng(s) for s in seeds]

    def single(obs, rng=None):
        return obs(sensors, t_rec, r_ecef, burning, rcs, single_rng() if rng is None else rng)

    def campaign(obs, gens=None):
        gens = campaign_rngs() if gens is None else gens
        return obs(sensors, t_rec, r_c, burning_c, rcs_c, gens, noise_scale=noise), gens

    impls = {"": observe}
    if args.baseline:
        impls["_baseline"] = _load_observe(args.baseline)
    for obs in impls.values():   # compile / warm
        single(obs)
        campaign(obs)
    compile_s = time.perf_counter() - t0

    t_rec_best, c_rec, _ = _best(f.record_ecef, args.repeat)
    singles = _best_of({k: (single_rng, lambda g, o=o: single(o, g)) for k, o in impls.items()}, args.repeat)
    campaigns = _best_of({k: (campaign_rngs, lambda g, o=o: campaign(o, g)) for k, o in impls.items()}, args.repeat)
    det, det_c = singles[""][3], campaigns[""][3][0]

    out = {
        "n": args.n,
        "record_ecef_us_per_trial": round(t_rec_best / max(args.n, nc) * 1e6, 1),
        "record_ecef_cpu_us_per_trial": round(c_rec / max(args.n, nc) * 1e6, 1),
        "detections_per_trial": round(len(det) / args.n, 1),
        "detections": len(det),
        "chunk": nc,
        "campaign_detections_per_trial": round(len(det_c) / nc, 1),
        "compile_s": round(compile_s, 2),
    }
    for k in impls:
        w, c, _, _ = singles[k]
        out[f"observe_us_per_trial{k}"] = round(w / args.n * 1e6, 1)
        out[f"observe_cpu_us_per_trial{k}"] = round(c / args.n * 1e6, 1)
        w, c, flt, _ = campaigns[k]
        out[f"observe_campaign_us_per_trial{k}"] = round(w / nc * 1e6, 1)
        out[f"observe_campaign_cpu_us_per_trial{k}"] = round(c / nc * 1e6, 1)
        out[f"observe_campaign_faults_per_call{k}"] = flt
    if args.baseline:
        out["speedup"] = round(out["observe_cpu_us_per_trial_baseline"] / out["observe_cpu_us_per_trial"], 2)
        out["speedup_campaign"] = round(
            out["observe_campaign_cpu_us_per_trial_baseline"] / out["observe_campaign_cpu_us_per_trial"], 2)
        (a, ga), (b, gb) = campaign(observe), campaign(impls["_baseline"])
        out["baseline_identical"] = (
            _identical(single(observe), single(impls["_baseline"])) and _identical(a, b)
            and [g.bit_generator.state for g in ga] == [g.bit_generator.state for g in gb]
        )
    if args.save:
        np.savez(args.save, **{k: getattr(det, k) for k in FIELDS}, **{"campaign_" + k: getattr(det_c, k) for k in FIELDS})
        out["saved"] = args.save
    if args.compare:
        ref = np.load(args.compare)
        out["compare"] = _compare(det, ref)
        if "campaign_t_s" in ref:
            out["compare_campaign"] = _compare(det_c, ref, "campaign_")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
