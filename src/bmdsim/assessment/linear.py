"""Impact prediction for many tracks at once: the mean flown, the uncertainty linearised.

`assessment.impact.predict_impact` flies hundreds of samples of one track to impact; a campaign
needs the same answer for thousands of tracks per second. Here, for N tracks (state x, covariance
P at a time t):

- the mean state is flown to impact with the full model (``flight.coast``: rotating Earth, J2,
  drag with the track's ballistic coefficient), which gives the mean impact point, the time to
  impact and the predicted path the battle manager plans on;
- the impact point's 2x2 covariance in the local tangent plane is ``J P J^T``, with ``J`` the
  sensitivity of the impact point to the state, by finite differences of the closed-form Kepler
  impact (a point mass Earth: the conic from the state meets the sphere through the mean impact
  point; Bate, Mueller & White 1971, secs. 2.5, 4.2: true anomaly at a radius, Kepler's equation
  for the time of flight; the Earth turns under it meanwhile). J2 and drag move the impact point
  by kilometres but change its sensitivity to the state by far less than the sensitivity itself
  (checked against the sampled prediction in ``tests/assessment/test_linear.py``);
- the probability of impact in each territory is the Gaussian's mass over it, by a fixed
  quadrature: ``N_QUAD`` points of the unscrambled Sobol' net mapped to the standard
  normal plane (the same points for every track, so the answer is deterministic), carried to
  each track's ellipse and located in the territory index;
- the fraction in orbit: the 13 sigma points of the state (Julier & Uhlmann 1997, kappa = 0) whose
  Kepler perigee stays above ``ORBIT_PERIGEE_M``.

The result for each track is an ``ImpactPrediction`` like the sampled one (its sample arrays
hold the quadrature points), so the policy (``assessment.policy.evaluate``) reads both alike.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bmdsim.assessment.impact import PREDICTION_TOLERANCES, ImpactPrediction
from bmdsim.constants import MU_EARTH_M3_S2, WGS84_A_M
from bmdsim.earth import frames
from bmdsim.flight.fly import FULL_EARTH, FlightBatch, coast

N_QUAD = 256
ORBIT_PERIGEE_M = 150e3
# finite-difference steps of the sensitivities: position (m) and velocity (m/s)
_STEP = np.array([10.0, 10.0, 10.0, 0.01, 0.01, 0.01])


def _quadrature(n: int) -> np.ndarray:
    """n (a power of 2) points (n, 2) of the standard normal plane: the unscrambled Sobol' net,
    each point moved to the centre of its 1/n cell (so none sits on 0 or 1), through the inverse
    normal CDF; their mean is ~0 and their covariance ~I."""
    from scipy.stats import norm, qmc

    u = qmc.Sobol(d=2, scramble=False).random_base2(int(round(math.log2(n)))) + 0.5 / n
    return norm.ppf(u)


_QUAD = _quadrature(N_QUAD)


@njit(cache=True)
def kepler_impact_1(r, v, t0, radius, omega, out):
    """Where the conic from (r, v) at t0 (ECI, m, m/s) first meets the sphere of this radius
    on the way down: out = ECEF point (3) and time of flight; NaN where it never does."""
    mu = MU_EARTH_M3_S2
    rn = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    rv = r[0] * v[0] + r[1] * v[1] + r[2] * v[2]
    hx = r[1] * v[2] - r[2] * v[1]
    hy = r[2] * v[0] - r[0] * v[2]
    hz = r[0] * v[1] - r[1] * v[0]
    h2 = hx * hx + hy * hy + hz * hz
    hn = math.sqrt(h2)
    p = h2 / mu
    c1 = v2 - mu / rn
    ex = (c1 * r[0] - rv * v[0]) / mu
    ey = (c1 * r[1] - rv * v[1]) / mu
    ez = (c1 * r[2] - rv * v[2]) / mu
    e = math.sqrt(ex * ex + ey * ey + ez * ez)
    energy = 0.5 * v2 - mu / rn
    for i in range(4):
        out[i] = np.nan
    if energy >= 0.0 or e < 1e-12 or hn == 0.0:
        return
    cf1 = (p / radius - 1.0) / e
    if cf1 > 1.0 or cf1 < -1.0:
        return
    # perifocal frame: P toward perigee, Q = h x P / |h|
    px, py, pz = ex / e, ey / e, ez / e
    qx = (hy * pz - hz * py) / hn
    qy = (hz * px - hx * pz) / hn
    qz = (hx * py - hy * px) / hn
    f0 = math.atan2((r[0] * qx + r[1] * qy + r[2] * qz) / rn, (r[0] * px + r[1] * py + r[2] * pz) / rn)
    f1 = -math.acos(cf1)  # descending crossing, in [-pi, 0]
    a = -mu / (2.0 * energy)
    s = math.sqrt((1.0 - e) / (1.0 + e))
    e0 = 2.0 * math.atan(s * math.tan(0.5 * f0)) if abs(f0) < math.pi else math.pi
    e1 = 2.0 * math.atan(s * math.tan(0.5 * f1)) if abs(f1) < math.pi else -math.pi
    m0 = e0 - e * math.sin(e0)
    m1 = e1 - e * math.sin(e1)
    if m1 < m0:
        m1 += 2.0 * math.pi
    tof = (m1 - m0) / math.sqrt(mu / (a * a * a))
    xi = radius * (math.cos(f1) * px + math.sin(f1) * qx)
    yi = radius * (math.cos(f1) * py + math.sin(f1) * qy)
    zi = radius * (math.cos(f1) * pz + math.sin(f1) * qz)
    th = omega * (t0 + tof)
    c, sn = math.cos(th), math.sin(th)
    out[0] = c * xi + sn * yi
    out[1] = -sn * xi + c * yi
    out[2] = zi
    out[3] = tof


@njit(cache=True)
def kepler_perigee_1(r, v) -> float:
    """Perigee radius (m) of the conic through (r, v); inf when it is not bound."""
    mu = MU_EARTH_M3_S2
    rn = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    energy = 0.5 * v2 - mu / rn
    if energy >= 0.0:
        return np.inf
    hx = r[1] * v[2] - r[2] * v[1]
    hy = r[2] * v[0] - r[0] * v[2]
    hz = r[0] * v[1] - r[1] * v[0]
    p = (hx * hx + hy * hy + hz * hz) / mu
    a = -mu / (2.0 * energy)
    e = math.sqrt(max(0.0, 1.0 - p / a))
    return a * (1.0 - e)


@njit(cache=True)
def _chol6(P, L):
    """Lower Cholesky factor of a 6x6 covariance (negative pivots clipped to 0)."""
    for i in range(6):
        for j in range(6):
            L[i, j] = 0.0
    for j in range(6):
        s = P[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        d = math.sqrt(s) if s > 0.0 else 0.0
        L[j, j] = d
        for i in range(j + 1, 6):
            s = P[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / d if d > 0.0 else 0.0


@njit(cache=True)
def _sensitivities(t0, x, P, radius, east, north, omega, perigee_min, steps, cov, orbital):
    """Per track: impact covariance (2x2, m^2, east-north) and the orbital fraction."""
    n = x.shape[0]
    out0 = np.empty(4)
    out1 = np.empty(4)
    xp = np.empty(6)
    J = np.empty((2, 6))
    L = np.empty((6, 6))
    for k in range(n):
        kepler_impact_1(x[k, :3], x[k, 3:], t0[k], radius[k], omega, out0)
        ok = not math.isnan(out0[0])
        for a in range(6):
            for b in range(6):
                xp[b] = x[k, b]
            xp[a] += steps[a]
            kepler_impact_1(xp[:3], xp[3:], t0[k], radius[k], omega, out1)
            if math.isnan(out1[0]):
                ok = False
            for c in range(2):
                u = east[k] if c == 0 else north[k]
                J[c, a] = ((out1[0] - out0[0]) * u[0] + (out1[1] - out0[1]) * u[1] + (out1[2] - out0[2]) * u[2]) / steps[a]
        if ok:
            for c in range(2):
                for d in range(2):
                    s = 0.0
                    for a in range(6):
                        for b in range(6):
                            s += J[c, a] * P[k, a, b] * J[d, b]
                    cov[k, c, d] = s
        else:
            for c in range(2):
                for d in range(2):
                    cov[k, c, d] = np.nan
        # sigma points: the mean and mean +- sqrt(6) columns of chol(P)
        _chol6(P[k], L)
        g = math.sqrt(6.0)
        n_orb = 1 if kepler_perigee_1(x[k, :3], x[k, 3:]) > perigee_min else 0
        for col in range(6):
            for sgn in (-1.0, 1.0):
                for b in range(6):
                    xp[b] = x[k, b] + sgn * g * L[b, col]
                if kepler_perigee_1(xp[:3], xp[3:]) > perigee_min:
                    n_orb += 1
        orbital[k] = n_orb / 13.0



def _local_radius(lat_deg: np.ndarray) -> np.ndarray:
    """Geocentric radius (m) of the WGS-84 ellipsoid at geodetic latitudes."""
    r = frames.geodetic_to_ecef(lat_deg, np.zeros_like(lat_deg), 0.0)
    return np.linalg.norm(r, axis=-1)


def predict_impacts(
    t_s,
    x_eci,
    p_eci,
    beta_kg_m2,
    *,
    territory_index=None,
    record_dt_s: float | None = None,
    earth=FULL_EARTH,
) -> tuple[list[ImpactPrediction], FlightBatch]:
    """Predictions for N tracks at times t_s (N,), states x (N, 6), covariances P (N, 6, 6).

    Returns one ``ImpactPrediction`` per track (its sample arrays hold the quadrature points, in
    orbit or not at all: NaN) and the ``FlightBatch`` of the means (recorded every
    ``record_dt_s`` when given: the predicted paths).
    """
    t = np.ascontiguousarray(np.asarray(t_s, float).reshape(-1))
    x = np.ascontiguousarray(np.asarray(x_eci, float).reshape(-1, 6))
    P = np.ascontiguousarray(np.asarray(p_eci, float).reshape(-1, 6, 6))
    n = t.shape[0]
    fb = coast(t, x[:, :3], x[:, 3:], beta_kg_m2, earth=earth, record_dt_s=record_dt_s, tolerances=PREDICTION_TOLERANCES)
    ok = fb.impacted
    mlat, mlon = fb.impact_lat_lon_deg
    mlat = np.where(ok, mlat, 0.0)
    mlon = np.where(ok, mlon, 0.0)
    basis = frames.enu_basis(mlat, mlon).reshape(n, 3, 3)
    east = np.ascontiguousarray(basis[:, 0])
    north = np.ascontiguousarray(basis[:, 1])
    cov = np.empty((n, 2, 2))
    orbital = np.empty(n)
    omega = earth.omega_rad_s
    # orbital: the flight kernel's test (perigee above the equatorial radius + 150 km)
    _sensitivities(t, x, P, _local_radius(mlat), east, north, omega, WGS84_A_M + ORBIT_PERIGEE_M, _STEP, cov, orbital)
    # the quadrature points on each ellipse, as lat/lon
    sym = 0.5 * (cov + np.transpose(cov, (0, 2, 1)))
    w, vec = np.linalg.eigh(np.nan_to_num(sym))
    w = np.clip(w, 0.0, None)
    fac = vec * np.sqrt(w)[:, None, :]  # (n, 2, 2): columns scaled
    # (n, M) metres east and north: fac @ quadrature point, its two products summed in order
    e_m = fac[:, 0, 0, None] * _QUAD[None, :, 0] + fac[:, 0, 1, None] * _QUAD[None, :, 1]
    n_m = fac[:, 1, 0, None] * _QUAD[None, :, 0] + fac[:, 1, 1, None] * _QUAD[None, :, 1]
    origin = frames.geodetic_to_ecef(mlat, mlon, 0.0).reshape(n, 3)
    pts = origin[:, None, :] + e_m[..., None] * east[:, None, :] + n_m[..., None] * north[:, None, :]
    qlat, qlon, _ = frames.ecef_to_geodetic(pts.reshape(-1, 3))
    qlat = qlat.reshape(n, N_QUAD)
    qlon = qlon.reshape(n, N_QUAD)
    good = ok & np.isfinite(cov).all(axis=(1, 2))
    where = None
    if territory_index is not None and good.any():
        where = np.full((n, N_QUAD), "", dtype="<U3")
        where[good] = territory_index.locate(qlat[good], qlon[good])
    tti = fb.t_impact_s - t
    # P(territory): the fraction of each ellipse's quadrature points in it, all tracks at once
    p_terr = {}
    if territory_index is not None:
        for tr in territory_index.territories:
            p_terr[tr.code] = (where == tr.code).mean(axis=1) if where is not None else np.zeros(n)
    preds = []
    for k in range(n):
        if good[k]:
            major, minor = 2.0 * math.sqrt(w[k, 1]) / 1e3, 2.0 * math.sqrt(w[k, 0]) / 1e3
            orient = float(np.degrees(np.arctan2(vec[k, 0, 1], vec[k, 1, 1])) % 180.0)
            lat_k, lon_k = qlat[k], qlon[k]
            tt = np.full(N_QUAD, tti[k])
            m_lat, m_lon, m_t = float(mlat[k]), float(mlon[k]), float(tti[k])
        else:
            major = minor = orient = m_lat = m_lon = m_t = float("nan")
            lat_k = lon_k = tt = np.full(N_QUAD, np.nan)
        pred = ImpactPrediction(
            t_s=float(t[k]), n_samples=N_QUAD, impact_lat_deg=lat_k, impact_lon_deg=lon_k, time_to_impact_s=tt,
            orbital_fraction=float(orbital[k]),
            mean_lat_deg=m_lat, mean_lon_deg=m_lon, semi_major_km=major, semi_minor_km=minor,
            orientation_deg=orient, mean_time_to_impact_s=m_t,
        )
        if territory_index is not None:
            for code, frac in p_terr.items():
                pred.p_impact[code] = float(frac[k]) if good[k] else 0.0
                pred.p_impact_se[code] = 1.0 / N_QUAD  # the quadrature's resolution
        preds.append(pred)
    return preds, fb
