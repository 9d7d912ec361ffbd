"""Trajectory shaping: find the guidance that puts a missile on its aim point.

Three profiles, each a root of three residuals in the guidance (launch azimuth, final pitch
``theta``, cutoff time):

- ``min-energy``: impact on the aim point (east, north), and the burnout flight-path angle at the
  minimum-energy optimum for the remaining free-flight range angle psi, g* = (pi - psi) / 4
  (BMW 6.2). Range is controlled by the cutoff (thrust termination), so a missile that can go
  further flies the cheapest trajectory to the target.
- ``lofted`` / ``depressed``: impact on the aim point, and apogee at the given height; lofted
  trajectories lie above the minimum-energy one, depressed below.

Solved by damped Newton iteration with finite-difference Jacobians, all problems and all
perturbations flown together in one batch per iteration. The maximum range toward a target is a
one-dimensional search over ``theta`` at full burn, with the azimuth corrected so the impact lies
on the geodesic to the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmdsim.constants import OMEGA_EARTH_RAD_S
from bmdsim.earth import frames, geodesy
from bmdsim.errors import BmdsimInputError, UnreachableError
from bmdsim.flight.fly import FULL_EARTH, EarthModel, FlightBatch, fly, guidance_array, stack_missiles
from bmdsim.threats.spec import Missile

PROFILES = ("min-energy", "lofted", "depressed")
THETA_MIN_DEG, THETA_MAX_DEG = 0.5, 88.0


@dataclass
class Shaped:
    """Solved guidance per problem, the flight it gives, and how well it hits."""

    azimuth_deg: np.ndarray
    theta_deg: np.ndarray
    t_cutoff_s: np.ndarray
    flight: FlightBatch
    miss_m: np.ndarray
    converged: np.ndarray


def _repeat(missiles: Sequence[Missile], k: int) -> list[Missile]:
    return [m for m in missiles for _ in range(k)]


def _fly_x(missiles, lat, lon, x, earth, k=1, record_dt_s=None) -> FlightBatch:
    """Fly guidance rows x = (az_deg, theta_deg, t_cut_s); each problem repeated k times in x."""
    ms = _repeat(missiles, k)
    st, pl = stack_missiles(ms)
    g = guidance_array(ms, x[:, 0], x[:, 1], x[:, 2])
    return fly(np.repeat(lat, k), np.repeat(lon, k), st, pl, g, earth=earth, record_dt_s=record_dt_s)


def _aim_geometry(aim_lat, aim_lon):
    r = frames.geodetic_to_ecef(aim_lat, aim_lon, 0.0)
    basis = frames.enu_basis(aim_lat, aim_lon)
    return r, basis


def _impact_en(batch: FlightBatch, aim_r, aim_basis) -> np.ndarray:
    """East and north offset (m) of each impact from its aim point; NaN where none."""
    d = batch.impact_r_ecef_m - aim_r
    e = np.einsum("nj,nj->n", aim_basis[:, 0], d)
    n = np.einsum("nj,nj->n", aim_basis[:, 1], d)
    out = np.stack([e, n], axis=1)
    out[~batch.impacted] = np.nan
    return out


def _optimal_gamma_deg(batch: FlightBatch, aim_r, earth: EarthModel) -> np.ndarray:
    """BMW optimum burnout flight-path angle for the range angle from burnout to the aim point,
    where the aim point will be at impact (it turns with the Earth)."""
    w = OMEGA_EARTH_RAD_S if earth.rotating else 0.0
    th = w * np.nan_to_num(batch.t_impact_s)
    c, s = np.cos(th), np.sin(th)
    aim_eci = np.stack([c * aim_r[:, 0] - s * aim_r[:, 1], s * aim_r[:, 0] + c * aim_r[:, 1], aim_r[:, 2]], 1)
    rb = batch.burnout_r_eci_m
    cosang = np.einsum("nj,nj->n", rb, aim_eci) / (np.linalg.norm(rb, axis=1) * np.linalg.norm(aim_eci, axis=1))
    psi = np.arccos(np.clip(cosang, -1, 1))
    return np.degrees((np.pi - psi) / 4.0)


def _residuals(batch, aim_r, aim_basis, profile, apogee_m, earth) -> np.ndarray:
    """Scaled residuals (P, 3): impact east/north in km, and the shape condition."""
    en = _impact_en(batch, aim_r, aim_basis) / 1e3
    if profile == "min-energy":
        third = (batch.burnout_flight_path_angle_deg - _optimal_gamma_deg(batch, aim_r, earth)) * 10.0
    else:
        third = (batch.apogee_h_m - apogee_m) / 1e3
    r = np.column_stack([en, third])
    r[~batch.impacted] = np.nan
    return r


def _norm(r):
    n = np.sqrt(np.sum(r * r, axis=1))
    return np.where(np.isnan(n), np.inf, n)


def _unit_ecef(lat_deg, lon_deg):
    r = frames.geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


class _Track:
    """The launch->target great-circle plane: measures impacts along and across it.

    Along-track angles run from 0 to 2 pi in the direction of the target, so a missile that
    flies past the antipode keeps a growing range (a geodesic distance would shrink).
    """

    def __init__(self, lat, lon, tlat, tlon):
        self.u0 = _unit_ecef(lat, lon)
        ut = _unit_ecef(tlat, tlon)
        n = np.cross(self.u0, ut)
        self.n = n / np.linalg.norm(n, axis=-1, keepdims=True)
        self.d0 = np.cross(self.n, self.u0)
        psi_t = np.arctan2(np.einsum("ij,ij->i", ut, self.d0), np.einsum("ij,ij->i", ut, self.u0))
        dist, _, _ = geodesy.inverse(lat, lon, tlat, tlon)
        # metres per radian along this path: converts angles to ellipsoidal distances
        self.dist_m = np.asarray(dist, float)
        self.m_per_rad = self.dist_m / psi_t

    def measure(self, batch: FlightBatch, k: int = 1):
        """(along-track range m, cross-track angle rad) of each impact; problems repeated k times."""
        r = batch.impact_r_ecef_m
        u1 = r / np.linalg.norm(r, axis=1, keepdims=True)
        u0, d0, n = (np.repeat(a, k, axis=0) for a in (self.u0, self.d0, self.n))
        phi = np.arctan2(np.einsum("ij,ij->i", u1, d0), np.einsum("ij,ij->i", u1, u0))
        # past the antipode counts forward up to 7/8 of the way round: a shot that falls behind
        # its launch point (nearly vertical, the Earth turning under it) lands within a few
        # hundred km, far inside the last eighth
        phi = np.where(phi < -0.25 * np.pi, phi + 2 * np.pi, phi)
        chi = np.arcsin(np.clip(np.einsum("ij,ij->i", u1, n), -1, 1))
        rng = np.where(batch.impacted, phi * np.repeat(self.m_per_rad, k), np.nan)
        return rng, np.where(batch.impacted, chi, np.nan), np.where(batch.impacted, phi, np.nan)


def max_range_toward(
    missiles: Sequence[Missile],
    launch_lat_deg,
    launch_lon_deg,
    target_lat_deg,
    target_lon_deg,
    earth: EarthModel = FULL_EARTH,
) -> dict[str, np.ndarray]:
    """Greatest range of each missile at full burn toward each target (arrays over P).

    Range is measured along the launch->target great circle (past the antipode if the missile
    gets there). The pitch is searched over a grid, then refined three times; between
    refinements the launch azimuth is turned so the impact falls on that great circle.
    """
    p = len(missiles)
    lat = np.broadcast_to(np.asarray(launch_lat_deg, float), (p,)).copy()
    lon = np.broadcast_to(np.asarray(launch_lon_deg, float), (p,)).copy()
    tl = np.broadcast_to(np.asarray(target_lat_deg, float), (p,))
    tn = np.broadcast_to(np.asarray(target_lon_deg, float), (p,))
    track = _Track(lat, lon, tl, tn)
    _, az, _ = geodesy.inverse(lat, lon, tl, tn)
    az = np.asarray(az, float).copy()
    theta = np.full(p, 44.0)
    width = 43.0
    k = 17
    rows = np.arange(p)
    for _ in range(4):
        grid = np.clip(theta[:, None] + np.linspace(-width, width, k)[None, :], THETA_MIN_DEG, THETA_MAX_DEG)
        x = np.column_stack([np.repeat(az, k), grid.ravel(), np.full(p * k, np.inf)])
        b = _fly_x(missiles, lat, lon, x, earth, k)
        rng, chi, phi = (a.reshape(p, k) for a in track.measure(b, k))
        best = np.argmax(np.where(np.isnan(rng), -np.inf, rng), axis=1)
        theta = grid[rows, best]
        width = width * 3.0 / (k - 1)
        # a point at angle phi moves sideways by sin(phi) per radian of azimuth
        s = np.sin(phi[rows, best])
        s = np.where(np.abs(s) < 0.2, np.copysign(0.2, s), s)
        daz = np.degrees(chi[rows, best] / s)
        az = np.where(np.isfinite(daz), az + np.clip(daz, -20, 20), az)
    x = np.column_stack([az, theta, np.full(p, np.inf)])
    b = _fly_x(missiles, lat, lon, x, earth)
    rng, _, _ = track.measure(b)
    return {"max_range_m": rng, "azimuth_deg": az, "theta_deg": theta, "flight": b, "track": track}


def shape(
    missiles: Sequence[Missile],
    launch_lat_deg,
    launch_lon_deg,
    aim_lat_deg,
    aim_lon_deg,
    profile: str = "min-energy",
    apogee_m=None,
    earth: EarthModel = FULL_EARTH,
    tol_m: float = 10.0,
    max_iter: int = 30,
    record_dt_s: float | None = None,
) -> Shaped:
    """Guidance that flies each missile from its launch point onto its aim point.

    Raises ``UnreachableError`` for an aim point beyond reach (naming the maximum range toward it)
    or a lofted/depressed apogee the missile cannot fly over that range.
    """
    if profile not in PROFILES:
        raise BmdsimInputError("profile", profile, f"allowed: {', '.join(PROFILES)}")
    p = len(missiles)
    lat = np.broadcast_to(np.asarray(launch_lat_deg, float), (p,)).copy()
    lon = np.broadcast_to(np.asarray(launch_lon_deg, float), (p,)).copy()
    alat = np.broadcast_to(np.asarray(aim_lat_deg, float), (p,)).copy()
    alon = np.broadcast_to(np.asarray(aim_lon_deg, float), (p,)).copy()
    if profile != "min-energy":
        if apogee_m is None:
            raise BmdsimInputError("apogee_km", None, f"profile '{profile}' needs an apogee")
        apo = np.broadcast_to(np.asarray(apogee_m, float), (p,)).copy()
        if np.any(apo <= 0):
            raise BmdsimInputError("apogee_km", float(apo.min()) / 1e3, "must be positive")
    else:
        apo = np.full(p, np.nan)
    dist, _, _ = geodesy.inverse(lat, lon, alat, alon)
    dist = np.asarray(dist, float)
    aim_r, aim_basis = _aim_geometry(alat, alon)
    aim_r = aim_r.reshape(p, 3)
    aim_basis = aim_basis.reshape(p, 3, 3)

    mr = max_range_toward(missiles, lat, lon, alat, alon, earth)
    short = ~(mr["max_range_m"] >= dist)
    if np.any(short):
        i = int(np.argmax(short))
        raise UnreachableError(
            "aim",
            f"{alat[i]:.3f},{alon[i]:.3f}",
            f"{dist[i] / 1e3:,.0f} km away; the {missiles[i].name} reaches at most "
            f"{np.nan_to_num(mr['max_range_m'][i]) / 1e3:,.0f} km in that direction from this launch point",
        )
    burn = np.array([m.burn_time_s for m in missiles])
    t_min = np.array([m.stage[0].burn_time_s * 0.25 for m in missiles])

    # Starting guess: a grid over pitch and cutoff at the max-range azimuth.
    x = _initial_guess(missiles, lat, lon, mr, burn, t_min, aim_r, aim_basis, profile, apo, earth, dist)
    steps = np.array([0.002, 0.01, 0.02])
    lo = np.column_stack([np.full(p, -np.inf), np.full(p, THETA_MIN_DEG), t_min])
    hi = np.column_stack([np.full(p, np.inf), np.full(p, THETA_MAX_DEG), burn])
    converged = np.zeros(p, bool)
    b = _fly_x(missiles, lat, lon, x, earth)
    res = _residuals(b, aim_r, aim_basis, profile, apo, earth)
    for _ in range(max_iter):
        nrm = _norm(res)
        miss = np.hypot(res[:, 0], res[:, 1]) * 1e3
        shape_ok = np.abs(res[:, 2]) < (0.01 if profile == "min-energy" else 0.1)
        converged = (miss < tol_m) & shape_ok
        if converged.all():
            break
        # finite-difference Jacobian: 3 perturbed flights per problem (backwards at an upper bound)
        xs = np.repeat(x, 3, axis=0).reshape(p, 3, 3)
        dsign = np.where(x + steps >= hi, -1.0, 1.0)
        for j in range(3):
            xs[:, j, j] += dsign[:, j] * steps[j]
        bj = _fly_x(missiles, lat, lon, xs.reshape(-1, 3), earth, 3)
        rj = _residuals(bj, np.repeat(aim_r, 3, 0), np.repeat(aim_basis, 3, 0), profile, np.repeat(apo, 3), earth)
        jac = (rj.reshape(p, 3, 3) - res[:, None, :]) / (dsign * steps)[:, :, None]  # [p, var, res]
        jac = np.transpose(jac, (0, 2, 1))
        dx = np.zeros_like(x)
        for i in np.flatnonzero(~converged):
            try:
                dx[i] = np.linalg.lstsq(jac[i], -res[i], rcond=None)[0] if np.all(np.isfinite(jac[i])) else 0.0
            except np.linalg.LinAlgError:
                dx[i] = 0.0
        dx = np.nan_to_num(dx)
        dx[:, 0] = np.clip(dx[:, 0], -5.0, 5.0)
        dx[:, 1] = np.clip(dx[:, 1], -10.0, 10.0)
        dx[:, 2] = np.clip(dx[:, 2], -0.3 * burn, 0.3 * burn)
        # line search over four step lengths at once
        lams = np.array([1.0, 0.5, 0.25, 0.1])
        xc = np.clip(x[:, None, :] + lams[None, :, None] * dx[:, None, :], lo[:, None, :], hi[:, None, :])
        bc = _fly_x(missiles, lat, lon, xc.reshape(-1, 3), earth, 4)
        rc = _residuals(bc, np.repeat(aim_r, 4, 0), np.repeat(aim_basis, 4, 0), profile, np.repeat(apo, 4), earth)
        nc = _norm(rc).reshape(p, 4)
        best = np.argmin(nc, axis=1)
        better = (nc[np.arange(p), best] < nrm) & ~converged
        x = np.where(better[:, None], xc[np.arange(p), best], x)
        res = np.where(better[:, None], rc.reshape(p, 4, 3)[np.arange(p), best], res)
        if not better.any():
            break
    final = _fly_x(missiles, lat, lon, x, earth, record_dt_s=record_dt_s)
    res = _residuals(final, aim_r, aim_basis, profile, apo, earth)
    miss = np.hypot(res[:, 0], res[:, 1]) * 1e3
    converged = (miss < tol_m) & (np.abs(res[:, 2]) < (0.01 if profile == "min-energy" else 0.1))
    if profile != "min-energy" and not converged.all():
        i = int(np.argmax(~converged))
        raise UnreachableError(
            "apogee_km",
            float(apo[i] / 1e3),
            _apogee_bounds_text(missiles[i], lat[i], lon[i], alat[i], alon[i], profile, dist[i], earth),
        )
    return Shaped(x[:, 0], x[:, 1], x[:, 2], final, miss, converged)


def _initial_guess(missiles, lat, lon, mr, burn, t_min, aim_r, aim_basis, profile, apo, earth, dist):
    p = len(missiles)
    nt, nc = 9, 9
    th_opt = mr["theta_deg"]
    out = np.empty((p, 3))
    out[:, 0] = mr["azimuth_deg"]
    fr = np.linspace(0, 1, nc)
    tcut = t_min[:, None] + (burn - t_min)[:, None] * fr[None, :]  # (p, nc)
    if profile == "min-energy":
        ths = THETA_MIN_DEG + (th_opt + 5.0 - THETA_MIN_DEG)[:, None] * np.linspace(0.05, 1.0, nt)[None, :]
    else:
        # the apogee picks the branch: lofted lies at small pitch, depressed at large
        nt = 13
        ths = np.broadcast_to(np.linspace(2.0, THETA_MAX_DEG - 3.0, nt), (p, nt))
    th_g = np.repeat(ths[:, :, None], nc, axis=2).reshape(p, -1)
    tc_g = np.repeat(tcut[:, None, :], nt, axis=1).reshape(p, -1)
    k = th_g.shape[1]
    x = np.column_stack([np.repeat(out[:, 0], k), th_g.ravel(), tc_g.ravel()])
    b = _fly_x(missiles, lat, lon, x, earth, k)
    rng, _, _ = mr["track"].measure(b, k)
    rng_err = (rng.reshape(p, k) - dist[:, None]) / 1e3
    if profile == "min-energy":
        gam = (b.burnout_flight_path_angle_deg - _optimal_gamma_deg(b, np.repeat(aim_r, k, 0), earth)).reshape(p, k)
        score = np.hypot(rng_err, gam * 100.0)
    else:
        apo_err = (b.apogee_h_m.reshape(p, k) - apo[:, None]) / 1e3
        score = np.hypot(rng_err, apo_err)
    score = np.where(np.isnan(score), np.inf, score)
    best = np.argmin(score, axis=1)
    out[:, 1] = th_g[np.arange(p), best]
    out[:, 2] = tc_g[np.arange(p), best]
    return out


def _apogee_bounds_text(missile, lat, lon, alat, alon, profile, dist, earth) -> str:
    """What apogees the missile can fly over this range: from the minimum-energy apogee up to a
    full-burn loft (lofted), or down from it (depressed)."""
    me = shape([missile], lat, lon, alat, alon, "min-energy", earth=earth)
    me_apo = float(me.flight.apogee_h_m[0]) / 1e3
    if profile == "depressed":
        return f"a depressed trajectory over {dist / 1e3:,.0f} km must stay below the minimum-energy apogee of {me_apo:,.0f} km"
    # full burn, steeper and steeper: the highest apogee that still comes down at this range
    mr = max_range_toward([missile], lat, lon, alat, alon, earth)
    ths = np.linspace(THETA_MIN_DEG, float(mr["theta_deg"][0]), 48)
    x = np.column_stack([np.full(ths.size, mr["azimuth_deg"][0]), ths, np.full(ths.size, np.inf)])
    b = _fly_x([missile], np.array([lat]), np.array([lon]), x, earth, ths.size)
    rng, _, _ = mr["track"].measure(b, ths.size)
    top = np.nan
    ok = np.flatnonzero(np.isfinite(rng[:-1]) & np.isfinite(rng[1:]) & (rng[:-1] <= dist) & (rng[1:] >= dist))
    if ok.size:
        k = int(ok[0])
        w = (dist - rng[k]) / (rng[k + 1] - rng[k])
        top = (b.apogee_h_m[k] + w * (b.apogee_h_m[k + 1] - b.apogee_h_m[k])) / 1e3
    upper = f"about {top:,.0f} km (full burn)" if np.isfinite(top) else "what a full burn allows"
    return f"a lofted {missile.name} trajectory over {dist / 1e3:,.0f} km has its apogee between {me_apo:,.0f} km (minimum energy) and {upper}"


def perigee_height_m(batch: FlightBatch) -> np.ndarray:
    """Perigee height above the equatorial radius of the osculating orbit at burnout."""
    from bmdsim.constants import MU_EARTH_M3_S2, WGS84_A_M

    r, v = batch.burnout_r_eci_m, batch.burnout_v_eci_mps
    rn = np.linalg.norm(r, axis=1)
    energy = 0.5 * np.sum(v * v, 1) - MU_EARTH_M3_S2 / rn
    sma = -MU_EARTH_M3_S2 / (2 * energy)
    h2 = np.sum(np.cross(r, v) ** 2, 1)
    ecc = np.sqrt(np.clip(1 - h2 / (MU_EARTH_M3_S2 * sma), 0, None))
    return np.where(energy < 0, sma * (1 - ecc) - WGS84_A_M, np.inf)


def orbit_insertion(
    missile: Missile, lat_deg: float, lon_deg: float, azimuth_deg: float, earth: EarthModel = FULL_EARTH
) -> dict:
    """Pitch program of a space launcher that maximizes the perigee at burnout (orbit insertion).

    The launcher pitches over to ``theta`` in its first stage and keeps turning to ``theta_end``
    at the end of its last burn; a grid over both is flown in one batch, then refined once.
    """
    th, te = np.linspace(5, 85, 17), np.linspace(60, 140, 17)
    best = (45.0, 100.0)
    for span in (1.0, 0.2):
        g1 = np.clip(best[0] + (th - 45.0) * span, THETA_MIN_DEG, THETA_MAX_DEG)
        g2 = best[1] + (te - 100.0) * span
        a, c = (x.ravel() for x in np.meshgrid(g1, g2, indexing="ij"))
        ms = [missile] * a.size
        st, pl = stack_missiles(ms)
        b = fly(lat_deg, lon_deg, st, pl, guidance_array(ms, azimuth_deg, a, np.inf, c), earth=earth)
        hp = perigee_height_m(b)
        i = int(np.argmax(np.where(np.isfinite(hp), hp, -np.inf)))
        best = (float(a[i]), float(c[i]))
    ms = [missile]
    st, pl = stack_missiles(ms)
    b = fly(lat_deg, lon_deg, st, pl, guidance_array(ms, azimuth_deg, best[0], np.inf, best[1]), earth=earth)
    return {"theta_deg": best[0], "theta_end_deg": best[1], "flight": b, "perigee_m": float(perigee_height_m(b)[0])}
