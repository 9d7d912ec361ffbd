"""Reach: what an observed lofted test says about a missile's range.

The analysts' method (e.g. D. Wright, Union of Concerned Scientists, 2017; J. Schilling,
38 North, 2017): fit a boost model to the observed apogee and ground range of a lofted test,
then fly the same missile on a range-maximizing trajectory. The payload that flew is unknown,
so it is the free parameter of the fit: the catalog (or generic) missile keeps its stages and
carries whatever payload makes it reproduce the test at full burn. The flight time is then a
check of the fit, not an input to it.

Maximum range is reported the analysts' way, on a non-rotating Earth, and toward each target
on the rotating Earth from a launch point. A Kepler ellipse flown from the fitted burnout
speed alone (no boost phase) is reported beside it: it comes out well short, because the boost
carries the missile hundreds of kilometres downrange and to altitude before burnout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmdsim.constants import R_MEAN_M
from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place, resolve_point
from bmdsim.errors import BmdsimInputError, UnreachableError
from bmdsim.flight import kepler
from bmdsim.flight.fly import FULL_EARTH, NON_ROTATING, EarthModel, FlightBatch, fly, guidance_array, stack_missiles
from bmdsim.flight.shaping import max_range_toward
from bmdsim.threats.catalog import get_missile
from bmdsim.threats.spec import Missile

# Defended places listed by `bmdsim reach` when no targets are named (../shared/reference/places.json).
DEFAULT_TARGETS = (
    "Seoul", "Tokyo", "Andersen AFB, Guam", "Anchorage", "Honolulu", "Seattle", "Los Angeles",
    "Denver", "Chicago", "Boston", "New York", "Washington DC",
)
PAYLOAD_BOUNDS_KG = (20.0, 20000.0)


@dataclass
class TestFit:
    """A missile fitted to an observed test."""

    missile: Missile  # with the fitted payload
    theta_deg: float
    flight: FlightBatch  # the reproduced test flight (non-rotating Earth)
    residual_range_m: float
    residual_apogee_m: float


def generic_two_stage() -> Missile:
    """A generic two-stage liquid missile for tests of unknown missiles.

    Its stages are the catalog Hwasong-14's (the best-documented North Korean two-stage liquid
    missile); only the payload is fitted, so the generic model is a shape, not a claim.
    """
    base = get_missile("hwasong-14")
    return base.model_copy(update={"id": "generic-2-stage", "name": "generic two-stage liquid (Hwasong-14 stages)"})


def _fly_grid(missile: Missile, payloads_kg, thetas_deg, lat, lon, earth: EarthModel) -> FlightBatch:
    ms = [missile.with_payload(float(p)) for p in payloads_kg]
    st, pl = stack_missiles(ms)
    g = guidance_array(ms, 90.0, thetas_deg, np.inf)
    return fly(lat, lon, st, pl, g, earth=earth)


def fit_to_test(
    missile: Missile,
    apogee_m: float,
    range_m: float,
    lat_deg: float = 39.0,
    lon_deg: float = 125.7,
    earth: EarthModel = NON_ROTATING,
) -> TestFit:
    """Payload and pitch that make the missile fly the observed apogee and range at full burn."""
    # grid: payload (log-spaced) x pitch
    pays = np.geomspace(PAYLOAD_BOUNDS_KG[0], PAYLOAD_BOUNDS_KG[1], 25)
    ths = np.linspace(1.0, 80.0, 24)
    pg, tg = np.meshgrid(pays, ths, indexing="ij")
    b = _fly_grid(missile, pg.ravel(), tg.ravel(), lat_deg, lon_deg, earth)
    score = np.hypot((b.ground_range_m - range_m) / range_m, (b.apogee_h_m - apogee_m) / apogee_m)
    score = np.where(b.impacted & np.isfinite(score), score, np.inf)
    i = int(np.argmin(score))
    x = np.array([np.log(pg.ravel()[i]), tg.ravel()[i]])

    def resid(batch):
        return np.column_stack([(batch.ground_range_m - range_m) / 1e3, (batch.apogee_h_m - apogee_m) / 1e3])

    def run(xs):
        bb = _fly_grid(missile, np.exp(xs[:, 0]), xs[:, 1], lat_deg, lon_deg, earth)
        r = resid(bb)
        r[~bb.impacted] = np.nan
        return bb, r

    lo = np.array([np.log(PAYLOAD_BOUNDS_KG[0]), 0.5])
    hi = np.array([np.log(PAYLOAD_BOUNDS_KG[1]), 88.0])
    _, r0 = run(x[None])
    r0 = r0[0]
    steps = np.array([1e-4, 1e-3])
    for _ in range(40):
        if np.all(np.abs(r0) < 0.01):
            break
        xs = np.vstack([x + np.diag(steps)[j] for j in range(2)])
        _, rj = run(xs)
        jac = ((rj - r0) / steps[:, None]).T
        if not np.all(np.isfinite(jac)):
            break
        dx = np.linalg.lstsq(jac, -r0, rcond=None)[0]
        dx = np.clip(dx, [-1.0, -10.0], [1.0, 10.0])
        lams = np.array([1.0, 0.5, 0.25, 0.1, 0.03])
        xc = np.clip(x[None] + lams[:, None] * dx[None], lo, hi)
        _, rc = run(xc)
        nc = np.where(np.all(np.isfinite(rc), 1), np.hypot(rc[:, 0], rc[:, 1]), np.inf)
        k = int(np.argmin(nc))
        if nc[k] >= np.hypot(*r0):
            break
        x, r0 = xc[k], rc[k]
    fitted = missile.with_payload(float(np.exp(x[0])))
    bf = _fly_grid(fitted, [fitted.payload.mass_kg], [x[1]], lat_deg, lon_deg, earth)
    res = resid(bf)[0] * 1e3
    if not (bf.impacted[0] and abs(res[0]) < 0.01 * range_m + 1e3 and abs(res[1]) < 0.01 * apogee_m + 1e3):
        raise UnreachableError(
            "apogee_km",
            apogee_m / 1e3,
            f"with a ground range of {range_m / 1e3:,.0f} km the {missile.name} cannot reproduce this test "
            f"with any payload between {PAYLOAD_BOUNDS_KG[0]:.0f} and {PAYLOAD_BOUNDS_KG[1]:,.0f} kg",
        )
    return TestFit(fitted, float(x[1]), bf, float(res[0]), float(res[1]))


def max_range_non_rotating(missile: Missile, lat_deg: float = 39.0, lon_deg: float = 125.7) -> dict:
    """Maximum range of a missile at full burn on a non-rotating Earth (the analysts' convention)."""
    # toward the east; without rotation the direction matters only through J2 and the ellipsoid
    tlat, tlon, _ = geodesy.direct(lat_deg, lon_deg, 90.0, 5000e3)
    return max_range_toward([missile], lat_deg, lon_deg, tlat, tlon, NON_ROTATING)


def _check_positive(field: str, value: float, upper: float) -> None:
    if not (np.isfinite(value) and 0 < value <= upper):
        raise BmdsimInputError(field, value, f"must be a number within (0, {upper:g}]")


def reach_report(
    apogee_km: float,
    range_km: float,
    flight_time_s: float,
    missile: str | None = None,
    launch: str = "Pyongyang",
    targets: str | None = None,
) -> dict:
    """The `bmdsim reach` answer; keys are the CLI's JSON contract."""
    _check_positive("apogee_km", apogee_km, 10000.0)
    _check_positive("range_km", range_km, 20000.0)
    _check_positive("flight_time_s", flight_time_s, 20000.0)
    m = get_missile(missile) if missile else generic_two_stage()
    lp = resolve_point(launch, field="launch")
    names = [t.strip() for t in (targets.split(",") if targets else DEFAULT_TARGETS) if t.strip()]
    if not names:
        raise BmdsimInputError("targets", targets, "give one or more places, comma-separated")
    places = [resolve_point(n, field="targets") for n in names]

    fit = fit_to_test(m, apogee_km * 1e3, range_km * 1e3, lp.lat_deg, lp.lon_deg)
    f = fit.flight
    mx = max_range_non_rotating(fit.missile, lp.lat_deg, lp.lon_deg)
    mf = mx["flight"]
    fitted_speed = float(f.burnout_speed_mps[0])
    kepler_only = float(kepler.max_range_m(fitted_speed, radius_m=R_MEAN_M))

    tl = np.array([p.lat_deg for p in places])
    tn = np.array([p.lon_deg for p in places])
    toward = max_range_toward([fit.missile] * len(places), lp.lat_deg, lp.lon_deg, tl, tn, FULL_EARTH)
    dist, _, _ = geodesy.inverse(lp.lat_deg, lp.lon_deg, tl, tn)
    rows = []
    for i, p in enumerate(places):
        mr = float(toward["max_range_m"][i]) / 1e3
        d = float(np.atleast_1d(dist)[i]) / 1e3
        rows.append({"name": p.name, "distance_km": d, "max_range_km": mr, "in_reach": bool(d <= mr)})
    return {
        "model": fit.missile.name,
        "launch": {"name": lp.name, "lat": lp.lat_deg, "lon": lp.lon_deg},
        "observed": {"apogee_km": apogee_km, "range_km": range_km, "flight_time_s": flight_time_s},
        "fit": {
            "payload_kg": fit.missile.payload.mass_kg,
            "pitch_deg": fit.theta_deg,
            "apogee_km": float(f.apogee_h_m[0]) / 1e3,
            "range_km": float(f.ground_range_m[0]) / 1e3,
            "flight_time_s": float(f.t_impact_s[0]),
            "flight_time_error_pct": 100.0 * (float(f.t_impact_s[0]) - flight_time_s) / flight_time_s,
            "burnout_speed_mps": fitted_speed,
        },
        "max_range_km": float(mx["max_range_m"][0]) / 1e3,
        "burnout_speed_mps": float(mf.burnout_speed_mps[0]),
        "max_range_flight_time_s": float(mf.t_impact_s[0]),
        "kepler_only_max_range_km": kepler_only / 1e3,
        "targets": rows,
    }


__all__ = ["TestFit", "fit_to_test", "max_range_non_rotating", "reach_report", "generic_two_stage", "get_place"]
