"""Motion and measurement models of the trackers: numba kernels over one track, array wrappers.

Motion model (6 states, x = (r_eci_m, v_eci_mps), no ballistic-coefficient state)
------------------------------------------------------------------------------------
- Acceleration: ``flight.kernel.deriv`` with no thrust, i.e. the unpowered ballistic model of the
  truth flights: point mass + J2 gravity, US76 drag with a *nominal* ballistic coefficient
  ``beta_kg_m2`` (air turning with the Earth). The 7th state (1/beta) is not estimated; the
  drag error this leaves is covered by process noise (below).
- Mean: classic 4th-order Runge-Kutta, steps of at most ``max_step_s`` (2 s) in vacuum and
  ``max_step_air_s`` (0.25 s) below ``h_air_m`` (150 km above the polar radius, a conservative
  test that needs no geodetic height), equal steps within each such run.
- State-transition matrix Phi: the variational equations Phi' = A(x) Phi integrated with the same
  RK4 stages as the mean, A = [[0, I], [G_r, G_v]]. G_r is the analytic gradient of point-mass +
  J2 gravity (Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., sec. 8.6, the
  Cartesian J2 acceleration of eq. 8-30 differentiated); in the air (below h_air_m) the partials
  of the drag acceleration (deriv minus the analytic gravity) are added by central differences
  (1 m, 1 cm/s).
- Process noise: white acceleration, the same on each ECI axis, with spectral density

      q_eff = q_m2_s3 + [boost] q_boost_m2_s3 + (drag_sigma_frac |a_drag|)^2 drag_tau_s

  evaluated along the mean at the start of each RK step; per step the discrete noise of the
  nearly-constant-velocity model, Q = q_eff [[h^3/3 I, h^2/2 I], [h^2/2 I, h I]] (Bar-Shalom, Li &
  Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001, eq. 6.2.3-7),
  composed across steps with the constant-velocity transition (the gravity gradient's change of
  Q over a step, ~G h^2 ~ 1e-5, is neglected). ``q_m2_s3`` (default 1e-4 m^2/s^3, 1 cm/s of
  velocity random walk per sqrt(s)) stands for what the model leaves out in vacuum (higher
  gravity harmonics, ~1e-4 m/s^2; solar pressure, venting); ``q_boost_m2_s3`` (2500 m^2/s^3:
  an unmodelled thrust of up to ~50 m/s^2, an ICBM's last-stage burnout acceleration, as the
  white noise that gives the same velocity error over a one-second revisit) is added while an
  infrared sensor still sees the motor burning (see ``tracking.track``); the drag term turns a
  relative uncertainty of the drag acceleration (nominal beta wrong by ~30 %) into white noise
  with the same velocity error over ``drag_tau_s``.

Measurement models (conventions shared with ``bmdsim.sensors``)
----------------------------------------------------------------
Target ECI position r at time t, sensor at ECEF s with ENU basis B (rows e, n, u at the sensor's
geodetic latitude and longitude; for a satellite, at the geodetic point under it, up away from
the Earth): d = B (R(t) r - s), R(t) the ECI-to-ECEF rotation by omega t.

- radar (kind 0): z = (range_m, az_rad, el_rad), range = |d|, az = atan2(e, n) in [0, 2 pi)
  (clockwise from north), el = asin(u / range);
- infrared (kind 1): z = (az_rad, el_rad) of the line of sight, same formulas.

Azimuth residuals are wrapped to (-pi, pi].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from bmdsim.constants import J2_EARTH, MU_EARTH_M3_S2, WGS84_A_M, WGS84_B_M
from bmdsim.earth import frames
from bmdsim.errors import BmdsimInputError
from bmdsim.flight import kernel as K
from bmdsim.flight.fly import FULL_EARTH, EarthModel, Tolerances, _cfg

RADAR = 0
INFRARED = 1

# Layout of the model parameter array ``mp`` (see MotionModel)
(
    M_INV_BETA, M_Q, M_Q_BOOST, M_DRAG_FRAC, M_DRAG_TAU, M_MAX_STEP, M_MAX_STEP_AIR, M_H_AIR,
) = range(8)
N_MP = 8

_FD_R_M = 1.0  # central-difference steps for the drag partials
_FD_V_MPS = 0.01
_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class MotionModel:
    """The trackers' ballistic motion model and its process noise (see the module docstring).

    earth: the Earth the model flies in (default: the full model of the truth flights).
    beta_kg_m2: nominal ballistic coefficient of the tracked body (drag below ~100 km).
    q_m2_s3: white-acceleration spectral density, always on.
    q_boost_m2_s3: added while infrared sees a burning motor.
    drag_sigma_frac, drag_tau_s: drag-model error as extra white noise (drag_sigma_frac |a_drag|)^2 tau.
    max_step_s, max_step_air_s, h_air_m: RK4 step limits in vacuum and below h_air_m.
    """

    earth: EarthModel = FULL_EARTH
    beta_kg_m2: float = 2000.0
    q_m2_s3: float = 1e-4
    q_boost_m2_s3: float = 2500.0
    drag_sigma_frac: float = 0.3
    drag_tau_s: float = 2.0
    max_step_s: float = 2.0
    max_step_air_s: float = 0.25
    h_air_m: float = 150e3

    def __post_init__(self):
        for name in ("beta_kg_m2", "max_step_s", "max_step_air_s"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise BmdsimInputError(name, v, "must be a positive finite number")
        for name in ("q_m2_s3", "q_boost_m2_s3", "drag_sigma_frac", "drag_tau_s", "h_air_m"):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                raise BmdsimInputError(name, v, "must be a finite number >= 0")

    def cfg(self) -> np.ndarray:
        """The flight kernel's configuration array for this Earth."""
        return _cfg(self.earth, Tolerances())

    def params(self) -> np.ndarray:
        """The parameter array the tracking kernels read (layout M_*)."""
        mp = np.zeros(N_MP)
        mp[M_INV_BETA] = 1.0 / self.beta_kg_m2
        mp[M_Q] = self.q_m2_s3
        mp[M_Q_BOOST] = self.q_boost_m2_s3
        mp[M_DRAG_FRAC] = self.drag_sigma_frac
        mp[M_DRAG_TAU] = self.drag_tau_s
        mp[M_MAX_STEP] = self.max_step_s
        mp[M_MAX_STEP_AIR] = self.max_step_air_s
        mp[M_H_AIR] = self.h_air_m
        return mp


DEFAULT_MODEL = MotionModel()


# ---------------------------------------------------------------------------- motion kernels


@njit(cache=True)
def gravity_1(x, j2, a):
    """Point-mass (+ J2 when j2) gravity at ECI position x[:3] into a[:3]; deriv's formula."""
    r2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2]
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    a[0] = -mu_r3 * x[0]
    a[1] = -mu_r3 * x[1]
    a[2] = -mu_r3 * x[2]
    if j2:
        k = 1.5 * J2_EARTH * (WGS84_A_M * WGS84_A_M) * inv_r2
        zr2 = 5.0 * x[2] * x[2] * inv_r2
        a[0] += -mu_r3 * x[0] * k * (1.0 - zr2)
        a[1] += -mu_r3 * x[1] * k * (1.0 - zr2)
        a[2] += -mu_r3 * x[2] * k * (3.0 - zr2)


@njit(cache=True)
def gravity_gradient_1(x, j2, G):
    """d(gravity)/d(r) (3, 3) of point mass + J2 at x[:3] into G; Vallado eq. 8-30 differentiated."""
    r2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2]
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    for i in range(3):
        for j in range(3):
            G[i, j] = mu_r3 * (3.0 * x[i] * x[j] * inv_r2 - (1.0 if i == j else 0.0))
    if j2:
        # a_i = -c x_i r^-5 s_i, s_i = (1 or 3) - 5 z^2 / r^2
        c = 1.5 * J2_EARTH * MU_EARTH_M3_S2 * WGS84_A_M * WGS84_A_M
        inv_r5 = inv_r2 * inv_r2 * inv_r
        z = x[2]
        g = z * z * inv_r2
        for i in range(3):
            s_i = (3.0 if i == 2 else 1.0) - 5.0 * g
            for j in range(3):
                ds = 10.0 * z * z * x[j] * inv_r2 * inv_r2
                if j == 2:
                    ds -= 10.0 * z * inv_r2
                G[i, j] += -c * (
                    (s_i * inv_r5 if i == j else 0.0)
                    - 5.0 * x[i] * x[j] * inv_r5 * inv_r2 * s_i
                    + x[i] * inv_r5 * ds
                )


@njit(cache=True)
def scratch():
    """Work array for xdot_1 (zeros: the guidance row and launch vectors deriv needs, unused)."""
    return np.zeros(26)


@njit(cache=True)
def xdot_1(t, x, cfg, inv_beta, w, out):
    """(v, a) of the unpowered ballistic model at (t, x) into out[:6]; a from flight.kernel.deriv."""
    y7 = w[0:7]
    f7 = w[7:14]
    gd = w[14:23]
    z3 = w[23:26]
    for i in range(6):
        y7[i] = x[i]
    y7[6] = 1.0
    K.deriv(t, y7, f7, cfg, 0.0, 0.0, 0.0, 0.0, inv_beta, gd, z3, z3)
    for i in range(6):
        out[i] = f7[i]


@njit(cache=True)
def in_air_1(x, mp):
    """Below h_air_m above the polar radius (conservative: includes up to 21 km more at the equator)."""
    r = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    return r - WGS84_B_M < mp[M_H_AIR]


@njit(cache=True)
def drag_accel_1(t, x, cfg, mp, w, a):
    """Drag acceleration of the model (deriv minus gravity) into a[:3]."""
    f = np.empty(6)
    g = np.empty(3)
    xdot_1(t, x, cfg, mp[M_INV_BETA], w, f)
    gravity_1(x, cfg[K.C_J2] != 0.0, g)
    for i in range(3):
        a[i] = f[3 + i] - g[i]


@njit(cache=True)
def accel_jacobian_1(t, x, cfg, mp, w, Gr, Gv):
    """d(a)/d(r) into Gr (3, 3) and d(a)/d(v) into Gv (3, 3) at (t, x)."""
    gravity_gradient_1(x, cfg[K.C_J2] != 0.0, Gr)
    for i in range(3):
        for j in range(3):
            Gv[i, j] = 0.0
    if cfg[K.C_DRAG] != 0.0 and in_air_1(x, mp):
        xp = np.empty(6)
        ap = np.empty(3)
        am = np.empty(3)
        for j in range(6):
            hstep = _FD_R_M if j < 3 else _FD_V_MPS
            for i in range(6):
                xp[i] = x[i]
            xp[j] = x[j] + hstep
            drag_accel_1(t, xp, cfg, mp, w, ap)
            xp[j] = x[j] - hstep
            drag_accel_1(t, xp, cfg, mp, w, am)
            for i in range(3):
                d = (ap[i] - am[i]) / (2.0 * hstep)
                if j < 3:
                    Gr[i, j] += d
                else:
                    Gv[i, j - 3] += d


@njit(cache=True)
def _q_eff(t, x, boost, cfg, mp, w):
    q = mp[M_Q]
    if boost:
        q += mp[M_Q_BOOST]
    if cfg[K.C_DRAG] != 0.0 and mp[M_DRAG_FRAC] > 0.0 and in_air_1(x, mp):
        a = np.empty(3)
        drag_accel_1(t, x, cfg, mp, w, a)
        s = mp[M_DRAG_FRAC] * math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
        q += s * s * mp[M_DRAG_TAU]
    return q


@njit(cache=True)
def _stage(t, s, cfg, mp, w, want_stm, Gr, Gv, ds):
    """Right-hand side of the mean (s[:6]) and, with want_stm, the variational equations (s[6:42],
    Phi row-major)."""
    xdot_1(t, s, cfg, mp[M_INV_BETA], w, ds)
    if want_stm:
        accel_jacobian_1(t, s, cfg, mp, w, Gr, Gv)
        for j in range(6):
            for i in range(3):
                ds[6 + 6 * i + j] = s[6 + 6 * (i + 3) + j]
            for i in range(3):
                acc = 0.0
                for k in range(3):
                    acc += Gr[i, k] * s[6 + 6 * k + j] + Gv[i, k] * s[6 + 6 * (k + 3) + j]
                ds[6 + 6 * (i + 3) + j] = acc


@njit(cache=True)
def propagation_work():
    """Work arrays for propagate_ws: (rows s, k1..k4, tmp of the 42-state, 3x3 Jacobians, scratch)."""
    return np.zeros((6, 42)), np.zeros((2, 3, 3)), scratch()


@njit(cache=True)
def propagate_1(t0, x0, t1, boost, cfg, mp, want_stm, x1, Phi, qpv):
    """Fly the mean from (t0, x0) to t1 into x1 (6); with want_stm, Phi (6, 6) = dx1/dx0.

    qpv (3,) receives the process noise over the interval as its three per-axis blocks
    (Q_pp, Q_pv, Q_vv): Q = [[Q_pp I, Q_pv I], [Q_pv I, Q_vv I]] (module docstring).
    boost: the motor burns (adds q_boost).
    """
    rows, jac, w = propagation_work()
    propagate_ws(t0, x0, t1, boost, cfg, mp, want_stm, x1, Phi, qpv, rows, jac, w)


@njit(cache=True)
def propagate_ws(t0, x0, t1, boost, cfg, mp, want_stm, x1, Phi, qpv, rows, jac, w):
    """propagate_1 with caller-provided work arrays (``propagation_work()``), reusable across calls."""
    n = 42 if want_stm else 6
    s = rows[0, :n]
    k1 = rows[1, :n]
    k2 = rows[2, :n]
    k3 = rows[3, :n]
    k4 = rows[4, :n]
    tmp = rows[5, :n]
    Gr = jac[0]
    Gv = jac[1]
    for i in range(6):
        s[i] = x0[i]
    if want_stm:
        for i in range(6, 42):
            s[i] = 0.0
        for i in range(6):
            s[6 + 7 * i] = 1.0
    qa = 0.0
    qb = 0.0
    qc = 0.0
    t = t0
    while t != t1:
        rem = t1 - t
        hl = mp[M_MAX_STEP_AIR] if in_air_1(s, mp) else mp[M_MAX_STEP]
        nst = math.ceil(abs(rem) / hl - 1e-9)
        if nst < 1:
            nst = 1
        h = rem / nst
        q = _q_eff(t, s, boost, cfg, mp, w)
        _stage(t, s, cfg, mp, w, want_stm, Gr, Gv, k1)
        for i in range(n):
            tmp[i] = s[i] + 0.5 * h * k1[i]
        _stage(t + 0.5 * h, tmp, cfg, mp, w, want_stm, Gr, Gv, k2)
        for i in range(n):
            tmp[i] = s[i] + 0.5 * h * k2[i]
        _stage(t + 0.5 * h, tmp, cfg, mp, w, want_stm, Gr, Gv, k3)
        for i in range(n):
            tmp[i] = s[i] + h * k3[i]
        _stage(t + h, tmp, cfg, mp, w, want_stm, Gr, Gv, k4)
        for i in range(n):
            s[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        # constant-velocity composition of the white-acceleration noise (per axis)
        ah = abs(h)
        qa = qa + 2.0 * ah * qb + ah * ah * qc + q * ah * ah * ah / 3.0
        qb = qb + ah * qc + q * ah * ah / 2.0
        qc = qc + q * ah
        if nst == 1:
            t = t1
        else:
            t = t + h
    for i in range(6):
        x1[i] = s[i]
    if want_stm:
        for i in range(6):
            for j in range(6):
                Phi[i, j] = s[6 + 6 * i + j]
    qpv[0] = qa
    qpv[1] = qb
    qpv[2] = qc


@njit(cache=True)
def add_q_1(P, qpv):
    """P += Q for the per-axis blocks qpv = (Q_pp, Q_pv, Q_vv)."""
    for i in range(3):
        P[i, i] += qpv[0]
        P[i, i + 3] += qpv[1]
        P[i + 3, i] += qpv[1]
        P[i + 3, i + 3] += qpv[2]


def q_matrix(qpv) -> np.ndarray:
    """The (..., 6, 6) process-noise matrices from per-axis blocks (..., 3)."""
    qpv = np.asarray(qpv, float)
    eye = np.eye(3)
    top = np.concatenate([qpv[..., 0, None, None] * eye, qpv[..., 1, None, None] * eye], -1)
    bot = np.concatenate([qpv[..., 1, None, None] * eye, qpv[..., 2, None, None] * eye], -1)
    return np.concatenate([top, bot], -2)


# ----------------------------------------------------------------------- measurement kernels


@njit(cache=True)
def wrap_pi(a):
    """An angle wrapped to (-pi, pi]."""
    return a - _TWO_PI * math.ceil((a - math.pi) / _TWO_PI)


@njit(cache=True)
def measurement_dim(kind):
    return 3 if kind == RADAR else 2


@njit(cache=True)
def az_index(kind):
    """Row of the azimuth in z."""
    return 1 if kind == RADAR else 0


@njit(cache=True)
def h_1(x, t, kind, site, B, omega, z, H, want_H):
    """Predicted measurement of state x at time t into z (m,), with want_H its Jacobian H (m, 6).

    Radar: (range_m, az_rad, el_rad); infrared: (az_rad, el_rad). Returns m.
    """
    th = omega * t
    c = math.cos(th)
    s = math.sin(th)
    dx = c * x[0] + s * x[1] - site[0]
    dy = -s * x[0] + c * x[1] - site[1]
    dz = x[2] - site[2]
    e = B[0, 0] * dx + B[0, 1] * dy + B[0, 2] * dz
    n = B[1, 0] * dx + B[1, 1] * dy + B[1, 2] * dz
    u = B[2, 0] * dx + B[2, 1] * dy + B[2, 2] * dz
    rh2 = e * e + n * n
    rh = math.sqrt(rh2)
    rho2 = rh2 + u * u
    rho = math.sqrt(rho2)
    az = math.atan2(e, n)
    if az < 0.0:
        az += _TWO_PI
    el = math.asin(max(-1.0, min(1.0, u / rho)))
    off = 0
    if kind == RADAR:
        z[0] = rho
        off = 1
    z[off] = az
    z[off + 1] = el
    m = off + 2
    if want_H:
        # M = B R(t): d(enu)/d(r_eci)
        M = np.empty((3, 3))
        for i in range(3):
            M[i, 0] = B[i, 0] * c - B[i, 1] * s
            M[i, 1] = B[i, 0] * s + B[i, 1] * c
            M[i, 2] = B[i, 2]
        J = np.zeros((3, 3))  # d(range, az, el)/d(e, n, u)
        J[0, 0], J[0, 1], J[0, 2] = e / rho, n / rho, u / rho
        J[1, 0], J[1, 1] = n / rh2, -e / rh2
        J[2, 0] = -e * u / (rho2 * rh)
        J[2, 1] = -n * u / (rho2 * rh)
        J[2, 2] = rh / rho2
        for r in range(m):
            jr = r + 1 - off  # row of J for this row of z
            for k in range(3):
                H[r, k] = J[jr, 0] * M[0, k] + J[jr, 1] * M[1, k] + J[jr, 2] * M[2, k]
                H[r, 3 + k] = 0.0
    return m


@njit(cache=True)
def radar_to_eci_1(zr, t, site, B, omega, r):
    """ECI position (into r) of a radar measurement (range, az, el) at time t: the inverse of h_1."""
    rng, az, el = zr[0], zr[1], zr[2]
    ce = math.cos(el)
    e = rng * ce * math.sin(az)
    n = rng * ce * math.cos(az)
    u = rng * math.sin(el)
    xe = site[0] + B[0, 0] * e + B[1, 0] * n + B[2, 0] * u
    ye = site[1] + B[0, 1] * e + B[1, 1] * n + B[2, 1] * u
    ze = site[2] + B[0, 2] * e + B[1, 2] * n + B[2, 2] * u
    th = omega * t
    c = math.cos(th)
    s = math.sin(th)
    r[0] = c * xe - s * ye
    r[1] = s * xe + c * ye
    r[2] = ze


@njit(cache=True, parallel=True)
def _measure_kernel(x, t, kind, site, B, omega, z, H):
    for i in prange(x.shape[0]):
        h_1(x[i], t[i], kind[i], site[i], B[i], omega, z[i], H[i], True)


# ------------------------------------------------------------------------- array wrappers


def _rows(a, n, shape, dtype=float):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=dtype), (n,) + shape))


def site_basis(site_ecef_m, site_lat_deg=None, site_lon_deg=None) -> np.ndarray:
    """ENU bases (..., 3, 3) (rows e, n, u) of measurement sites.

    From the given geodetic latitude and longitude (``bmdsim.sensors`` detections carry them:
    for a satellite, its sub-satellite point), else from the geodetic coordinates of the ECEF
    position itself (the same thing for a radar, and for a geostationary satellite).
    """
    if site_lat_deg is None or site_lon_deg is None:
        site_lat_deg, site_lon_deg, _ = frames.ecef_to_geodetic(site_ecef_m)
    return frames.enu_basis(site_lat_deg, site_lon_deg)


def measure(x_eci, t_s, kind, site_ecef_m, *, site_lat_deg=None, site_lon_deg=None, earth: EarthModel = FULL_EARTH):
    """Noise-free measurements h(x) and Jacobians H = dh/dx of states x_eci (N, 6) at times t_s.

    kind (N,) 0 radar / 1 infrared, site_ecef_m (N, 3), optional site_lat_deg/site_lon_deg (N,)
    (see ``site_basis``). Returns z (N, 3) (infrared: the first two columns, the third NaN) and
    H (N, 3, 6) (infrared: the first two rows, the third zero).
    """
    x = np.atleast_2d(np.asarray(x_eci, float))
    n = x.shape[0]
    z = np.full((n, 3), np.nan)
    H = np.zeros((n, 3, 6))
    site = _rows(site_ecef_m, n, (3,))
    B = _rows(site_basis(site, site_lat_deg, site_lon_deg), n, (3, 3))
    _measure_kernel(
        np.ascontiguousarray(x), _rows(t_s, n, ()), _rows(kind, n, (), np.int64),
        site, B, float(earth.omega_rad_s), z, H,
    )
    return z, H


def simulate_measurements(
    x_eci, t_s, kind, site_ecef_m, R, rng: np.random.Generator, *, site_lat_deg=None, site_lon_deg=None,
    earth: EarthModel = FULL_EARTH,
):
    """Noisy measurements: h(x) plus Gaussian noise with covariance R (N, 3, 3), azimuth in [0, 2 pi).

    For tests and synthetic studies (the sensor models live in ``bmdsim.sensors``). Infrared rows
    use R[:2, :2]; their third column is NaN. One draw of 3 standard normals per row, in order.
    """
    z, _ = measure(x_eci, t_s, kind, site_ecef_m, site_lat_deg=site_lat_deg, site_lon_deg=site_lon_deg, earth=earth)
    n = z.shape[0]
    R = _rows(R, n, (3, 3))
    kind = _rows(kind, n, (), np.int64)
    w = rng.standard_normal((n, 3))
    for i in range(n):
        m = 3 if kind[i] == RADAR else 2
        L = np.linalg.cholesky(R[i, :m, :m])
        z[i, :m] += L @ w[i, :m]
        a = 1 if m == 3 else 0
        z[i, a] %= 2.0 * np.pi
    return z


def transition(x_eci, t0_s, t1_s, *, model: MotionModel = DEFAULT_MODEL, boost=False):
    """Mean, state-transition matrix and process noise of the model from t0_s to t1_s.

    x_eci (N, 6), times (N,) or scalars. Returns x1 (N, 6), Phi (N, 6, 6), Q (N, 6, 6): the EKF
    prediction is x1, Phi P Phi^T + Q.
    """
    x = np.atleast_2d(np.asarray(x_eci, float))
    n = x.shape[0]
    x1 = np.empty((n, 6))
    phi = np.empty((n, 6, 6))
    qpv = np.empty((n, 3))
    _transition_kernel(
        np.ascontiguousarray(x), _rows(t0_s, n, ()), _rows(t1_s, n, ()), _rows(boost, n, (), np.bool_),
        model.cfg(), model.params(), x1, phi, qpv,
    )
    return x1, phi, q_matrix(qpv)


@njit(cache=True, parallel=True)
def _transition_kernel(x, t0, t1, boost, cfg, mp, x1, phi, qpv):
    for i in prange(x.shape[0]):
        propagate_1(t0[i], x[i], t1[i], boost[i], cfg, mp, True, x1[i], phi[i], qpv[i])


def acceleration_jacobian(x_eci, t_s, *, model: MotionModel = DEFAULT_MODEL):
    """d(a)/d(r) and d(a)/d(v), (N, 3, 3) each, of the model at states x_eci (N, 6)."""
    x = np.atleast_2d(np.asarray(x_eci, float))
    n = x.shape[0]
    t = _rows(t_s, n, ())
    gr = np.empty((n, 3, 3))
    gv = np.empty((n, 3, 3))
    _jac_kernel(np.ascontiguousarray(x), t, model.cfg(), model.params(), gr, gv)
    return gr, gv


@njit(cache=True)
def _jac_kernel(x, t, cfg, mp, gr, gv):
    w = scratch()
    for i in range(x.shape[0]):
        accel_jacobian_1(t[i], x[i], cfg, mp, w, gr[i], gv[i])
