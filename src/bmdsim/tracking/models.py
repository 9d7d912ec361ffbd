"""Motion and measurement models of the trackers: numba kernels over one track, array wrappers.

Motion model (6 states, x = (r_eci_m, v_eci_mps), no ballistic-coefficient state)
------------------------------------------------------------------------------------
- Acceleration: ``flight.kernel.deriv`` with no thrust, i.e. the unpowered ballistic model of the
  truth flights: point mass + J2 gravity, US76 drag with a *nominal* ballistic coefficient
  ``beta_kg_m2`` (air turning with the Earth). The 7th state (1/beta) is not estimated; the
  drag error this leaves is covered by process noise (below). The propagation evaluates deriv's
  coast branch as a copy on scalars (``_accel``; the tests hold it equal to deriv).
- Mean: classic 4th-order Runge-Kutta, steps of at most ``max_step_s`` (2 s) in vacuum and
  ``max_step_air_s`` (0.25 s) below ``h_air_m`` (150 km above the polar radius, a conservative
  test that needs no geodetic height), equal steps within each such run.
- State-transition matrix Phi: the variational equations Phi' = A(x) Phi integrated with the same
  RK4 stages as the mean, A = [[0, I], [G_r, G_v]]. G_r is the analytic gradient of point-mass +
  J2 gravity (Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., sec. 8.6, the
  Cartesian J2 acceleration of eq. 8-30 differentiated); in the air (below h_air_m) the partials
  of the drag acceleration a_d = -(rho |u| / 2 beta) u, u = v - omega x r, are added, analytic
  but for the density's height derivative (a central difference, 1 m) (``_drag_partials``; they
  agree with central differences of deriv, ``accel_jacobian_fd_1``, to ~1e-6 of themselves).
- Work: the propagation keeps the 42-state and its RK4 stages in one flat array
  (``propagate_flat``, layout PW_*) and computes on scalars: numba reference-counts every array a
  kernel receives or slices (an atomic operation), which would cost more than the arithmetic.
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

from bmdsim.constants import J2_EARTH, MU_EARTH_M3_S2, WGS84_A_M, WGS84_B_M, WGS84_E2
from bmdsim.earth import frames
from bmdsim.earth.atmosphere import density_and_sound_speed
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

_FD_R_M = 1.0  # central-difference steps of accel_jacobian_fd_1 (the reference drag partials)
_FD_V_MPS = 0.01
_FD_H_M = 1.0  # central-difference step of the density's height derivative (drag partials)
_TWO_PI = 2.0 * math.pi
_B_OVER_A = math.sqrt(1.0 - WGS84_E2)

# Layout of the scratch array (``scratch()``) of the reference kernels: [0, 26) xdot_1
# (flight.kernel.deriv's y, f, guidance row, launch vectors), then
_W_DRAG_F = 26  # [26, 32) and [32, 35): drag_accel_1's f and g
_W_DRAG_G = 32
_W_FD_X = 35  # [35, 41), [41, 44), [44, 47): accel_jacobian_fd_1's perturbed state and accelerations
_W_FD_AP = 41
_W_FD_AM = 44
N_SCRATCH = 47


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
#
# The propagation runs on scalars and one flat work array (``propagation_work``): numba reference-
# counts every array a kernel receives or slices (an atomic operation each), which would cost more
# than the arithmetic of these 6-state kernels.


@njit(cache=True, inline="always")
def _accel(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta):
    """(ax, ay, az, gx, gy, gz) of the unpowered ballistic model, g its gravity alone:
    flight.kernel.deriv's coast branch on scalars, its operations in its order (as of commit
    e0559b5; the tests hold the two equal to rounding)."""
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    r = r2 * inv_r
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    ax = -mu_r3 * x
    ay = -mu_r3 * y
    az = -mu_r3 * z
    if j2:
        k = 1.5 * J2_EARTH * (WGS84_A_M * WGS84_A_M) * inv_r2
        zr2 = 5.0 * z * z * inv_r2
        ax += -mu_r3 * x * k * (1.0 - zr2)
        ay += -mu_r3 * y * k * (1.0 - zr2)
        az += -mu_r3 * z * k * (3.0 - zr2)
    gx, gy, gz = ax, ay, az
    rho = 0.0
    if drag and r < WGS84_A_M + 1.0e6:
        h = K._height_for_air(x, y, z, r, inv_r2, sphere_r)
        if h < 1.0e6:
            rho = density_and_sound_speed(h)[0]
    if rho > 0.0:
        rx = vx + omega * y
        ry = vy - omega * x
        rz = vz
        vrel = math.sqrt(rx * rx + ry * ry + rz * rz)
        q = 0.5 * rho * vrel * inv_beta
        ax -= q * rx
        ay -= q * ry
        az -= q * rz
    return ax, ay, az, gx, gy, gz


@njit(cache=True, inline="always")
def _gg_j2(xi, xj, diag, s_i, ds_j, c, inv_r5, inv_r2):
    """The J2 term of G_ij (see _gravity_gradient)."""
    return -c * ((s_i * inv_r5 if diag else 0.0) - 5.0 * xi * xj * inv_r5 * inv_r2 * s_i + xi * inv_r5 * ds_j)


@njit(cache=True, inline="always")
def _gravity_gradient(x, y, z, j2):
    """d(gravity)/d(r) of point mass + J2 at (x, y, z), row-major 9-tuple; Vallado eq. 8-30
    differentiated:

        G_ij = mu / r^3 (3 x_i x_j / r^2 - d_ij)
               - c (d_ij s_i r^-5 - 5 x_i x_j s_i r^-7 + x_i r^-5 ds_j)    (J2)

    with a_i = -c x_i r^-5 s_i, s_i = (1 or 3) - 5 z^2 / r^2, ds_j = 10 z^2 x_j r^-4 - [j = z] 10 z r^-2."""
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    g00 = mu_r3 * (3.0 * x * x * inv_r2 - 1.0)
    g01 = mu_r3 * (3.0 * x * y * inv_r2)
    g02 = mu_r3 * (3.0 * x * z * inv_r2)
    g10 = mu_r3 * (3.0 * y * x * inv_r2)
    g11 = mu_r3 * (3.0 * y * y * inv_r2 - 1.0)
    g12 = mu_r3 * (3.0 * y * z * inv_r2)
    g20 = mu_r3 * (3.0 * z * x * inv_r2)
    g21 = mu_r3 * (3.0 * z * y * inv_r2)
    g22 = mu_r3 * (3.0 * z * z * inv_r2 - 1.0)
    if j2:
        c = 1.5 * J2_EARTH * MU_EARTH_M3_S2 * WGS84_A_M * WGS84_A_M
        inv_r5 = inv_r2 * inv_r2 * inv_r
        g = z * z * inv_r2
        s1 = 1.0 - 5.0 * g
        s3 = 3.0 - 5.0 * g
        dsx = 10.0 * z * z * x * inv_r2 * inv_r2
        dsy = 10.0 * z * z * y * inv_r2 * inv_r2
        dsz = 10.0 * z * z * z * inv_r2 * inv_r2
        dsz -= 10.0 * z * inv_r2
        g00 += _gg_j2(x, x, True, s1, dsx, c, inv_r5, inv_r2)
        g01 += _gg_j2(x, y, False, s1, dsy, c, inv_r5, inv_r2)
        g02 += _gg_j2(x, z, False, s1, dsz, c, inv_r5, inv_r2)
        g10 += _gg_j2(y, x, False, s1, dsx, c, inv_r5, inv_r2)
        g11 += _gg_j2(y, y, True, s1, dsy, c, inv_r5, inv_r2)
        g12 += _gg_j2(y, z, False, s1, dsz, c, inv_r5, inv_r2)
        g20 += _gg_j2(z, x, False, s3, dsx, c, inv_r5, inv_r2)
        g21 += _gg_j2(z, y, False, s3, dsy, c, inv_r5, inv_r2)
        g22 += _gg_j2(z, z, True, s3, dsz, c, inv_r5, inv_r2)
    return g00, g01, g02, g10, g11, g12, g20, g21, g22


@njit(cache=True, inline="always")
def _height_grad(x, y, z, r, inv_r2, sphere_r):
    """Gradient of flight.kernel's height for the air (r minus the ellipsoid radius at the same
    geocentric latitude, or r minus sphere_r) with respect to the ECI position."""
    inv_r = 1.0 / r
    if sphere_r > 0.0:
        return x * inv_r, y * inv_r, z * inv_r
    # h = r - a (b/a) / sqrt(u), u = 1 - e2 (x^2 + y^2) / r^2
    rho2 = x * x + y * y
    u = 1.0 - WGS84_E2 * rho2 * inv_r2
    c = WGS84_A_M * _B_OVER_A * WGS84_E2 / (u * math.sqrt(u)) * inv_r2 * inv_r2
    cz2 = c * z * z
    return x * (inv_r - cz2), y * (inv_r - cz2), z * (inv_r + c * rho2)


@njit(cache=True, inline="always")
def _air_density(x, y, z, sphere_r):
    """(rho, drho/dx, drho/dy, drho/dz) of the model's air at ECI position (x, y, z) (drag on);
    zero where flight.kernel.deriv has no air (above 1000 km). The height derivative of the
    density is a central difference (1 m), its gradient analytic."""
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    r = r2 * math.sqrt(inv_r2)
    if not r < WGS84_A_M + 1.0e6:
        return 0.0, 0.0, 0.0, 0.0
    h = K._height_for_air(x, y, z, r, inv_r2, sphere_r)
    if not h < 1.0e6:
        return 0.0, 0.0, 0.0, 0.0
    rho = density_and_sound_speed(h)[0]
    drho = (density_and_sound_speed(h + _FD_H_M)[0] - density_and_sound_speed(h - _FD_H_M)[0]) / (2.0 * _FD_H_M)
    hx, hy, hz = _height_grad(x, y, z, r, inv_r2, sphere_r)
    return rho, drho * hx, drho * hy, drho * hz


@njit(cache=True, inline="always")
def _drag_partials(x, y, z, vx, vy, vz, sphere_r, omega, inv_beta):
    """Partials of the drag acceleration a_d = -(rho |u| / 2 beta) u, u = v - omega x r:
    (d(a_d)/d(r) row-major 9, d(a_d)/d(v) row-major 9), analytic in u, the density's gradient
    from ``_air_density``."""
    rho, drx, dry, drz = _air_density(x, y, z, sphere_r)
    ux = vx + omega * y
    uy = vy - omega * x
    uz = vz
    vr = math.sqrt(ux * ux + uy * uy + uz * uz)
    hb = 0.5 * inv_beta
    # d(a_d)/d(u) = -hb rho (|u| I + u u^T / |u|)
    c = -hb * rho
    cu = c / vr if vr > 0.0 else 0.0
    cv = c * vr
    v00 = cv + cu * ux * ux
    v01 = cu * ux * uy
    v02 = cu * ux * uz
    v11 = cv + cu * uy * uy
    v12 = cu * uy * uz
    v22 = cv + cu * uz * uz
    # d(a_d)/d(r) = -hb |u| u grad(rho)^T + d(a_d)/d(u) d(u)/d(r), du_x/dy = omega, du_y/dx = -omega
    e = -hb * vr
    ex, ey, ez = e * ux, e * uy, e * uz
    r00 = ex * drx - omega * v01
    r01 = ex * dry + omega * v00
    r02 = ex * drz
    r10 = ey * drx - omega * v11
    r11 = ey * dry + omega * v01
    r12 = ey * drz
    r20 = ez * drx - omega * v12
    r21 = ez * dry + omega * v02
    r22 = ez * drz
    return (r00, r01, r02, r10, r11, r12, r20, r21, r22), (v00, v01, v02, v01, v11, v12, v02, v12, v22)


@njit(cache=True, inline="always")
def _in_air(x, y, z, h_air):
    """Below h_air above the polar radius (conservative: includes up to 21 km more at the equator)."""
    return math.sqrt(x * x + y * y + z * z) - WGS84_B_M < h_air


@njit(cache=True)
def gravity_1(x, j2, a):
    """Point-mass (+ J2 when j2) gravity at ECI position x[:3] into a[:3]; deriv's formula."""
    ax, ay, az, _, _, _ = _accel(x[0], x[1], x[2], 0.0, 0.0, 0.0, j2, False, 0.0, 0.0, 0.0)
    a[0] = ax
    a[1] = ay
    a[2] = az


@njit(cache=True)
def gravity_gradient_1(x, j2, G):
    """d(gravity)/d(r) (3, 3) of point mass + J2 at x[:3] into G; Vallado eq. 8-30 differentiated."""
    g = _gravity_gradient(x[0], x[1], x[2], j2)
    for i in range(3):
        for j in range(3):
            G[i, j] = g[3 * i + j]


@njit(cache=True)
def scratch():
    """Work array of the reference kernels xdot_1, drag_accel_1, accel_jacobian_fd_1 (layout _W_*);
    zeros: the guidance row and launch vectors deriv needs, unused."""
    return np.zeros(N_SCRATCH)


@njit(cache=True)
def xdot_1(t, x, cfg, inv_beta, w, out):
    """(v, a) of the unpowered ballistic model at (t, x) into out[:6]; a from flight.kernel.deriv
    itself (the reference for the tracker's scalar copy of its coast branch)."""
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
def xdot_fast_1(x, cfg, inv_beta, out):
    """xdot_1 as the propagation computes it (``_accel``); the tests hold it equal to xdot_1."""
    ax, ay, az, _, _, _ = _accel(
        x[0], x[1], x[2], x[3], x[4], x[5], cfg[K.C_J2] != 0.0, cfg[K.C_DRAG] != 0.0,
        cfg[K.C_SPHERE_R], cfg[K.C_OMEGA], inv_beta,
    )
    out[0] = x[3]
    out[1] = x[4]
    out[2] = x[5]
    out[3] = ax
    out[4] = ay
    out[5] = az


@njit(cache=True)
def in_air_1(x, mp):
    """Below h_air_m above the polar radius (conservative: includes up to 21 km more at the equator)."""
    return _in_air(x[0], x[1], x[2], mp[M_H_AIR])


@njit(cache=True)
def drag_accel_1(t, x, cfg, mp, w, a):
    """Drag acceleration of the model (deriv minus gravity) into a[:3]."""
    f = w[_W_DRAG_F:_W_DRAG_F + 6]
    g = w[_W_DRAG_G:_W_DRAG_G + 3]
    xdot_1(t, x, cfg, mp[M_INV_BETA], w, f)
    gravity_1(x, cfg[K.C_J2] != 0.0, g)
    for i in range(3):
        a[i] = f[3 + i] - g[i]


@njit(cache=True)
def accel_jacobian_1(t, x, cfg, mp, w, Gr, Gv):
    """d(a)/d(r) into Gr (3, 3) and d(a)/d(v) into Gv (3, 3) at (t, x), as the propagation's
    variational equations use them: the analytic gravity gradient, and in the air (below
    h_air_m) the analytic drag partials of ``_drag_partials`` (they agree with
    accel_jacobian_fd_1's central differences of deriv to ~1e-7 of the drag partials)."""
    g = _gravity_gradient(x[0], x[1], x[2], cfg[K.C_J2] != 0.0)
    for i in range(3):
        for j in range(3):
            Gr[i, j] = g[3 * i + j]
            Gv[i, j] = 0.0
    if cfg[K.C_DRAG] != 0.0 and in_air_1(x, mp):
        dr, dv = _drag_partials(x[0], x[1], x[2], x[3], x[4], x[5], cfg[K.C_SPHERE_R], cfg[K.C_OMEGA], mp[M_INV_BETA])
        for i in range(3):
            for j in range(3):
                Gr[i, j] += dr[3 * i + j]
                Gv[i, j] = dv[3 * i + j]


@njit(cache=True)
def accel_jacobian_fd_1(t, x, cfg, mp, w, Gr, Gv):
    """accel_jacobian_1 with the drag partials by central differences of deriv (1 m, 1 cm/s),
    the reference for the analytic ones."""
    gravity_gradient_1(x, cfg[K.C_J2] != 0.0, Gr)
    for i in range(3):
        for j in range(3):
            Gv[i, j] = 0.0
    if cfg[K.C_DRAG] != 0.0 and in_air_1(x, mp):
        xp = w[_W_FD_X:_W_FD_X + 6]
        ap = w[_W_FD_AP:_W_FD_AP + 3]
        am = w[_W_FD_AM:_W_FD_AM + 3]
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


@njit(cache=True, inline="always")
def _q_eff_s(boost, in_air, dx, dy, dz, drag, mp):
    """The white-acceleration spectral density at a point with drag acceleration (dx, dy, dz)."""
    q = mp[M_Q]
    if boost:
        q += mp[M_Q_BOOST]
    if drag and mp[M_DRAG_FRAC] > 0.0 and in_air:
        s = mp[M_DRAG_FRAC] * math.sqrt(dx * dx + dy * dy + dz * dz)
        q += s * s * mp[M_DRAG_TAU]
    return q


@njit(cache=True)
def _q_eff(x, boost, cfg, mp):
    """Process-noise spectral density q_eff (module docstring) at state x."""
    drag = cfg[K.C_DRAG] != 0.0
    ax, ay, az, gx, gy, gz = _accel(
        x[0], x[1], x[2], x[3], x[4], x[5], cfg[K.C_J2] != 0.0, drag, cfg[K.C_SPHERE_R], cfg[K.C_OMEGA],
        mp[M_INV_BETA],
    )
    return _q_eff_s(boost, in_air_1(x, mp), ax - gx, ay - gy, az - gz, drag, mp)


# Layout of the propagation work array (``propagation_work``): the 42-state s = (x, Phi
# row-major), the four RK4 stages and the stage argument
PW_S, PW_K1, PW_K2, PW_K3, PW_K4, PW_TMP = 0, 42, 84, 126, 168, 210
N_PW = 252


@njit(cache=True)
def _rhs(wb, src, dst, want_stm, j2, drag, sphere_r, omega, inv_beta, h_air):
    """Right-hand side of the mean (wb[src:src + 6]) and, with want_stm, of the variational
    equations Phi' = A Phi (wb[src + 6:src + 42], Phi row-major) into wb[dst:dst + 42].

    Returns (in the air, the drag acceleration (3)) at the point."""
    x = wb[src]
    y = wb[src + 1]
    z = wb[src + 2]
    vx = wb[src + 3]
    vy = wb[src + 4]
    vz = wb[src + 5]
    ax, ay, az, gx, gy, gz = _accel(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta)
    wb[dst] = vx
    wb[dst + 1] = vy
    wb[dst + 2] = vz
    wb[dst + 3] = ax
    wb[dst + 4] = ay
    wb[dst + 5] = az
    air = _in_air(x, y, z, h_air)
    if not want_stm:
        return air, ax - gx, ay - gy, az - gz
    g00, g01, g02, g10, g11, g12, g20, g21, g22 = _gravity_gradient(x, y, z, j2)
    for j in range(18):  # Phi_r' = Phi_v
        wb[dst + 6 + j] = wb[src + 24 + j]
    p = src + 6
    d = dst + 24
    if drag and air:
        dr, dv = _drag_partials(x, y, z, vx, vy, vz, sphere_r, omega, inv_beta)
        g00 += dr[0]
        g01 += dr[1]
        g02 += dr[2]
        g10 += dr[3]
        g11 += dr[4]
        g12 += dr[5]
        g20 += dr[6]
        g21 += dr[7]
        g22 += dr[8]
        v00, v01, v02, v10, v11, v12, v20, v21, v22 = dv
        for j in range(6):  # Phi_v' = G_r Phi_r + G_v Phi_v
            p0 = wb[p + j]
            p1 = wb[p + 6 + j]
            p2 = wb[p + 12 + j]
            q0 = wb[p + 18 + j]
            q1 = wb[p + 24 + j]
            q2 = wb[p + 30 + j]
            wb[d + j] = (g00 * p0 + v00 * q0) + (g01 * p1 + v01 * q1) + (g02 * p2 + v02 * q2)
            wb[d + 6 + j] = (g10 * p0 + v10 * q0) + (g11 * p1 + v11 * q1) + (g12 * p2 + v12 * q2)
            wb[d + 12 + j] = (g20 * p0 + v20 * q0) + (g21 * p1 + v21 * q1) + (g22 * p2 + v22 * q2)
    else:
        for j in range(6):  # Phi_v' = G_r Phi_r
            p0 = wb[p + j]
            p1 = wb[p + 6 + j]
            p2 = wb[p + 12 + j]
            wb[d + j] = g00 * p0 + g01 * p1 + g02 * p2
            wb[d + 6 + j] = g10 * p0 + g11 * p1 + g12 * p2
            wb[d + 12 + j] = g20 * p0 + g21 * p1 + g22 * p2
    return air, ax - gx, ay - gy, az - gz


@njit(cache=True)
def propagate_flat(t0, t1, boost, cfg, mp, want_stm, wb, base):
    """Fly the mean in wb[base:base + 6] (``PW_S``) from t0 to t1, in place; with want_stm, Phi
    (6, 6) = dx1/dx0 row-major into wb[base + 6:base + 42]. wb[base:base + N_PW] is the work.

    Returns the process noise over the interval as its three per-axis blocks (Q_pp, Q_pv, Q_vv):
    Q = [[Q_pp I, Q_pv I], [Q_pv I, Q_vv I]] (module docstring). boost: the motor burns (adds
    q_boost)."""
    j2 = cfg[K.C_J2] != 0.0
    drag = cfg[K.C_DRAG] != 0.0
    sphere_r = cfg[K.C_SPHERE_R]
    omega = cfg[K.C_OMEGA]
    inv_beta = mp[M_INV_BETA]
    h_air = mp[M_H_AIR]
    step_air = mp[M_MAX_STEP_AIR]
    step_vac = mp[M_MAX_STEP]
    n = 42 if want_stm else 6
    s = base + PW_S
    k1 = base + PW_K1
    k2 = base + PW_K2
    k3 = base + PW_K3
    k4 = base + PW_K4
    tmp = base + PW_TMP
    if want_stm:
        for i in range(6, 42):
            wb[s + i] = 0.0
        for i in range(6):
            wb[s + 6 + 7 * i] = 1.0
    qa = 0.0
    qb = 0.0
    qc = 0.0
    t = t0
    while t != t1:
        rem = t1 - t
        hl = step_air if _in_air(wb[s], wb[s + 1], wb[s + 2], h_air) else step_vac
        nst = math.ceil(abs(rem) / hl - 1e-9)
        if nst < 1:
            nst = 1
        h = rem / nst
        air, dx, dy, dz = _rhs(wb, s, k1, want_stm, j2, drag, sphere_r, omega, inv_beta, h_air)
        q = _q_eff_s(boost, air, dx, dy, dz, drag, mp)
        hh = 0.5 * h
        for i in range(n):
            wb[tmp + i] = wb[s + i] + hh * wb[k1 + i]
        _rhs(wb, tmp, k2, want_stm, j2, drag, sphere_r, omega, inv_beta, h_air)
        for i in range(n):
            wb[tmp + i] = wb[s + i] + hh * wb[k2 + i]
        _rhs(wb, tmp, k3, want_stm, j2, drag, sphere_r, omega, inv_beta, h_air)
        for i in range(n):
            wb[tmp + i] = wb[s + i] + h * wb[k3 + i]
        _rhs(wb, tmp, k4, want_stm, j2, drag, sphere_r, omega, inv_beta, h_air)
        h6 = h / 6.0
        for i in range(n):
            wb[s + i] += h6 * (wb[k1 + i] + 2.0 * wb[k2 + i] + 2.0 * wb[k3 + i] + wb[k4 + i])
        # constant-velocity composition of the white-acceleration noise (per axis)
        ah = abs(h)
        qa = qa + 2.0 * ah * qb + ah * ah * qc + q * ah * ah * ah / 3.0
        qb = qb + ah * qc + q * ah * ah / 2.0
        qc = qc + q * ah
        if nst == 1:
            t = t1
        else:
            t = t + h
    return qa, qb, qc


@njit(cache=True)
def propagation_work():
    """Work arrays for propagate_ws: (rows (6, 42): the flat work of propagate_flat, 3x3
    Jacobians and scratch, kept for the signature)."""
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
    wb = rows.reshape(N_PW)
    for i in range(6):
        wb[i] = x0[i]
    qa, qb, qc = propagate_flat(t0, t1, boost, cfg, mp, want_stm, wb, 0)
    for i in range(6):
        x1[i] = wb[i]
    if want_stm:
        for i in range(6):
            for j in range(6):
                Phi[i, j] = wb[6 + 6 * i + j]
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


@njit(cache=True, inline="always")
def _h_s(x0, x1, x2, t, s0, s1, s2, b00, b01, b02, b10, b11, b12, b20, b21, b22, omega, want_H):
    """Range, azimuth and elevation of ECI position (x0, x1, x2) at time t from a site at ECEF
    (s0, s1, s2) with ENU basis rows b (module docstring), and with want_H their gradients with
    respect to the position (three rows of 3; zeros without want_H): a 12-tuple."""
    th = omega * t
    c = math.cos(th)
    s = math.sin(th)
    dx = c * x0 + s * x1 - s0
    dy = -s * x0 + c * x1 - s1
    dz = x2 - s2
    e = b00 * dx + b01 * dy + b02 * dz
    n = b10 * dx + b11 * dy + b12 * dz
    u = b20 * dx + b21 * dy + b22 * dz
    rh2 = e * e + n * n
    rh = math.sqrt(rh2)
    rho2 = rh2 + u * u
    rho = math.sqrt(rho2)
    az = math.atan2(e, n)
    if az < 0.0:
        az += _TWO_PI
    el = math.asin(max(-1.0, min(1.0, u / rho)))
    if not want_H:
        return rho, az, el, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    # M = B R(t): d(enu)/d(r_eci), row i = (m_i0, m_i1, m_i2)
    m00 = b00 * c - b01 * s
    m01 = b00 * s + b01 * c
    m02 = b02
    m10 = b10 * c - b11 * s
    m11 = b10 * s + b11 * c
    m12 = b12
    m20 = b20 * c - b21 * s
    m21 = b20 * s + b21 * c
    m22 = b22
    # J = d(range, az, el)/d(e, n, u) times M
    j0, j1, j2 = e / rho, n / rho, u / rho
    r0 = j0 * m00 + j1 * m10 + j2 * m20
    r1 = j0 * m01 + j1 * m11 + j2 * m21
    r2 = j0 * m02 + j1 * m12 + j2 * m22
    j0, j1 = n / rh2, -e / rh2
    a0 = j0 * m00 + j1 * m10
    a1 = j0 * m01 + j1 * m11
    a2 = j0 * m02 + j1 * m12
    j0 = -e * u / (rho2 * rh)
    j1 = -n * u / (rho2 * rh)
    j2 = rh / rho2
    e0 = j0 * m00 + j1 * m10 + j2 * m20
    e1 = j0 * m01 + j1 * m11 + j2 * m21
    e2 = j0 * m02 + j1 * m12 + j2 * m22
    return rho, az, el, r0, r1, r2, a0, a1, a2, e0, e1, e2


@njit(cache=True)
def h_1(x, t, kind, site, B, omega, z, H, want_H):
    """Predicted measurement of state x at time t into z (m,), with want_H its Jacobian H (m, 6).

    Radar: (range_m, az_rad, el_rad); infrared: (az_rad, el_rad). Returns m.
    """
    rng, az, el, r0, r1, r2, a0, a1, a2, e0, e1, e2 = _h_s(
        x[0], x[1], x[2], t, site[0], site[1], site[2],
        B[0, 0], B[0, 1], B[0, 2], B[1, 0], B[1, 1], B[1, 2], B[2, 0], B[2, 1], B[2, 2], omega, want_H,
    )
    off = 0
    if kind == RADAR:
        z[0] = rng
        off = 1
    z[off] = az
    z[off + 1] = el
    m = off + 2
    if want_H:
        if kind == RADAR:
            H[0, 0] = r0
            H[0, 1] = r1
            H[0, 2] = r2
        H[off, 0] = a0
        H[off, 1] = a1
        H[off, 2] = a2
        H[off + 1, 0] = e0
        H[off + 1, 1] = e1
        H[off + 1, 2] = e2
        for i in range(m):
            H[i, 3] = 0.0
            H[i, 4] = 0.0
            H[i, 5] = 0.0
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
