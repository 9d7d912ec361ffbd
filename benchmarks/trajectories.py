"""Full trajectories per second: bmdsim's batch kernel against scipy's solve_ivp (DOP853).

Both integrate the same equations (the kernel's own ``deriv``, called from Python for scipy):
boost with staging and guidance, free flight, reentry with drag, rotating Earth, J2, US76.
A converged scipy run (rtol 1e-13) is the reference for accuracy; the scipy run that is timed
uses tolerances tight enough to agree with it within 10 m, as does bmdsim.

Prints JSON: bmdsim_per_s, scipy_per_s, ratio, max_impact_difference_m (bmdsim vs the timed
scipy run), plus each method's error against the converged reference, and compile_s.

    python benchmarks/trajectories.py [--n 20000] [--n-scipy 8]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _build(n: int, seed: int = 1):
    from bmdsim.earth.places import get_place
    from bmdsim.flight.fly import guidance_array, stack_missiles
    from bmdsim.threats.catalog import get_missile

    rng = np.random.default_rng(seed)
    m = get_missile("hwasong-15")
    sohae = get_place("Sohae")
    ms = [m] * n
    st, pl = stack_missiles(ms)
    g = guidance_array(ms, rng.uniform(20.0, 90.0, n), rng.uniform(30.0, 75.0, n), np.inf)
    return sohae.lat_deg, sohae.lon_deg, st, pl, g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="trajectories for bmdsim")
    ap.add_argument("--n-scipy", type=int, default=8, help="trajectories for scipy (the first n of the same set)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from bmdsim.flight import kernel as K
    from bmdsim.flight.fly import FULL_EARTH, Tolerances, _cfg, fly
    from bmdsim.flight.reference import fly_scipy, impact_ecef

    lat, lon, st, pl, g = _build(args.n)
    fly(lat, lon, st[:2], pl[:2], g[:2])  # compile (or load the cache)
    compile_s = time.perf_counter() - t0

    tol = Tolerances()
    t1 = time.perf_counter()
    b = fly(lat, lon, st, pl, g, tolerances=tol)
    bm_s = time.perf_counter() - t1
    assert b.impacted.all(), "every benchmark trajectory must impact"

    cfg = _cfg(FULL_EARTH, tol)
    ns = args.n_scipy
    # converged reference (not timed)
    ref = [fly_scipy(cfg, lat, lon, st[i], pl[i], g[i], 1e-13, 1e-9) for i in range(ns)]
    # timed scipy run with tolerances that agree with the reference within 10 m
    t2 = time.perf_counter()
    sp = [fly_scipy(cfg, lat, lon, st[i], pl[i], g[i], 1e-10, 1e-6) for i in range(ns)]
    sp_s = time.perf_counter() - t2

    # accuracy over a larger sample: the kernel at its defaults against the kernel converged
    # (rtol 1e-13, which agrees with the converged scipy runs to centimetres)
    m = min(300, args.n)
    conv = fly(lat, lon, st[:m], pl[:m], g[:m], tolerances=Tolerances(rtol=1e-13, atol_m=1e-6, rtol_boost=1e-13, atol_boost_m=1e-6))
    err_m = np.linalg.norm(b.impact_r_ecef_m[:m] - conv.impact_r_ecef_m, axis=1)

    w = cfg[K.C_OMEGA]
    ref_e = [impact_ecef(t, r, w) for t, r in ref]
    sp_e = [impact_ecef(t, r, w) for t, r in sp]
    bm_e = b.impact_r_ecef_m[:ns]
    diff = max(float(np.linalg.norm(bm_e[i] - sp_e[i])) for i in range(ns))
    bm_err = max(float(np.linalg.norm(bm_e[i] - ref_e[i])) for i in range(ns))
    sp_err = max(float(np.linalg.norm(sp_e[i] - ref_e[i])) for i in range(ns))
    bm_per_s = args.n / bm_s
    sp_per_s = ns / sp_s
    print(
        json.dumps(
            {
                "trajectories": args.n,
                "scipy_trajectories": ns,
                "bmdsim_per_s": round(bm_per_s, 1),
                "scipy_per_s": round(sp_per_s, 3),
                "ratio": round(bm_per_s / sp_per_s, 1),
                "max_impact_difference_m": round(diff, 3),
                "bmdsim_vs_converged_m": round(bm_err, 3),
                "scipy_vs_converged_m": round(sp_err, 3),
                "bmdsim_vs_converged_sample": m,
                "bmdsim_vs_converged_p99_m": round(float(np.percentile(err_m, 99)), 3),
                "bmdsim_vs_converged_max_m": round(float(err_m.max()), 3),
                "mean_steps_per_trajectory": round(float(b.n_steps.mean()), 1),
                "mean_flight_time_s": round(float(np.mean(b.t_impact_s)), 1),
                "compile_s": round(compile_s, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
