"""Motion and measurement models of the trackers: numba kernels over one track, array wrappers.

Motion model (6 states, x = (r_eci_m, v_eci_mps), no ballistic-coefficient state)
------------------------------------------------------------------------------------
- Acceleration: ``flight.kernel.deriv`` with no thrust, i.e. the unpowered ballistic model of the
  truth flights: point mass + J2 gravity, US76 drag with a *nominal* ballistic coefficient
  ``beta_kg_m2`` (air turning with the Earth). The 7th state (1/beta) is not estimated; the
  drag error this leaves is covered by process noise (below). The propagation evaluates deriv's
  coast branch as a copy on scalars (``_accel``; the tests hold it equal to deriv), with one
  difference: no air at or above ``h_drag_top_m`` (250 km; deriv's air reaches 1000 km). Above
  250 km drag is at most 7.4e-7 m/s^2 (US76 density 6.1e-11 kg/m^3 there, 7 km/s, beta 2000
  kg/m^2), ~1 % of the unmodelled acceleration (~1e-4 m/s^2, below) that the process noise
  stands for; over 300 s it moves a track by at most 0.5 a t^2 = 3 cm, where that noise
  alone spreads the position by sqrt(q t^3 / 3) = 30 m (q_m2_s3 = 1e-4). Leaving it out saves
  the density lookup (an exp) in every acceleration between 250 and 1000 km, ~6 % of the
  tracker's time over a full ICBM flight.
- Mean: classic 4th-order Runge-Kutta, steps of at most ``max_step_s`` (2 s) in vacuum and
  ``max_step_air_s`` (0.25 s) below ``h_air_m`` (150 km above the polar radius, a conservative
  test that needs no geodetic height), equal steps within each such run.
- State-transition matrix Phi, A = [[0, I], [G_r, G_v]] the Jacobian of (v, a). G_r is the
  analytic gradient of point-mass + J2 gravity (Vallado, *Fundamentals of Astrodynamics and
  Applications*, 4th ed., sec. 8.6, the Cartesian J2 acceleration of eq. 8-30 differentiated);
  in the air (below h_air_m) the partials of the drag acceleration a_d = -(rho |u| / 2 beta) u,
  u = v - omega x r, are added, analytic, the density's height derivative that of the
  atmosphere table's interpolant from the same lookup as the density (``_drag_partials``,
  ``_density_slope``; they agree with central differences of deriv, ``accel_jacobian_fd_1``, to
  ~1e-6 of themselves).

  * In the air (drag on): the variational equations Phi' = A(t) Phi, A along the mean, by
    classic RK4 steps of their own over runs of the mean's steps of at most ``stm_step_air_s``
    (0.5 s: two of the mean's 0.25-s steps), with A at the run's two ends and at the midpoint
    of its cubic Hermite interpolant (states and accelerations of the ends; the end's A is the
    next run's start). Against the variational equations integrated with the mean's own RK4
    stages (``stm_step_air_s = 0``, four evaluations of A per 0.25 s), on states 30-100 km up
    over 0.25-2 s (tests): within ~4e-7 in the blocks' units (1, h, 1/h), where that reference
    is itself within ~2e-8 of a 0.01-s integration; a small error next to the drag's (beta
    uncertain by ~30 %).
  * In vacuum (G_v = 0, G_r = G symmetric): a closed form from one gravity gradient (Magnus
    expansion of Phi' = A(t) Phi over the interval h, Blanes, Casas, Oteo & Ros, "The Magnus
    expansion and some of its applications", Phys. Rep. 470, 2009, sec. 2). First term: the
    mean of A, whose only non-constant block is G; taken at the interval's midpoint (cubic
    Hermite position of the two ends, off by ~1e-6 m at 10 s) it is exact to O(h^3 d2G/dt2),
    and exp([[0, h I], [h G, 0]]) = [[C, S], [D, C]] with C = I + G h^2/2 + G^2 h^4/24,
    S = h (I + G h^2/6 + G^2 h^4/120), D = h (G + G^2 h^2/6) up to G^3 h^6/720 (< 1e-13 at
    h = 10 s: |G| <= 2 mu / r^3 ~ 3e-6 /s^2). Second term: -(h^3/12) dG/dt in the position-
    position block and +(h^3/12) dG/dt in the velocity-velocity block (derived from the
    commutator [A(t1), A(t2)] = diag(G(t2) - G(t1), G(t1) - G(t2))), with dG/dt of point-mass
    gravity (~1e-8 /s^3 for an ICBM; 2e-7 at h = 10 s if left out). What remains is mostly
    J2's share of dG/dt: against the variational equations (``stm_chunk_s = 0``) on ICBM
    states 250-1,200 km up (tests), <= ~1e-8 (h / 10 s)^3 in the blocks' units (1, h, 1/h):
    3e-12 at 1 s. The form spans runs of whole RK4 steps of at most ``stm_chunk_s`` (10 s; one
    step if that is longer), and the runs' matrices are multiplied (60 s: <= ~3e-7).
- Work: the propagation keeps Phi and the work of its pieces in one flat array
  (``propagate_flat``, layout PW_*) and computes on scalars (the mean: ``_rk4_mean``): numba
  reference-counts every array a kernel receives or slices (an atomic operation), which would
  cost more than the arithmetic.
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
from bmdsim.earth import atmosphere as _atm
from bmdsim.earth import frames
from bmdsim.earth.atmosphere import density_and_sound_speed
from bmdsim.errors import BmdsimInputError
from bmdsim.flight import kernel as K
from bmdsim.flight.fly import FULL_EARTH, EarthModel, Tolerances, _cfg

RADAR = 0
INFRARED = 1

# Layout of the model parameter array ``mp`` (see MotionModel)
(
    M_INV_BETA, M_Q, M_Q_BOOST, M_DRAG_FRAC, M_DRAG_TAU, M_MAX_STEP, M_MAX_STEP_AIR, M_H_AIR, M_STM_CHUNK,
    M_STM_STEP_AIR, M_H_DRAG_TOP,
) = range(11)
N_MP = 11

_H_AIR_TOP_M = 1.0e6  # flight.kernel.deriv's top of the air
_FD_R_M = 1.0  # central-difference steps of accel_jacobian_fd_1 (the reference drag partials)
_FD_V_MPS = 0.01
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
    stm_chunk_s: longest run of vacuum RK4 steps whose state-transition matrix is taken in closed
        form from one gravity gradient (module docstring); 0: the variational equations there.
    stm_step_air_s: longest step of the variational equations' own RK4 in the air, over runs of
        the mean's steps (module docstring); 0: integrated with the mean's stages there.
    h_drag_top_m: no drag at or above this height (the truth flights' air ends at 1000 km, which
        any larger value gives; module docstring). The default, 250 km, leaves out at most
        7.4e-7 m/s^2 of drag (US76 density 6.1e-11 kg/m^3, 7 km/s, beta 2000 kg/m^2), against the
        ~1e-4 m/s^2 of unmodelled acceleration that q_m2_s3 stands for, and saves the density
        lookup (an exp) in every acceleration between 250 and 1000 km.
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
    stm_chunk_s: float = 10.0
    stm_step_air_s: float = 0.5
    h_drag_top_m: float = 250e3

    def __post_init__(self):
        for name in ("beta_kg_m2", "max_step_s", "max_step_air_s"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise BmdsimInputError(name, v, "must be a positive finite number")
        for name in ("q_m2_s3", "q_boost_m2_s3", "drag_sigma_frac", "drag_tau_s", "h_air_m", "stm_chunk_s",
                     "stm_step_air_s", "h_drag_top_m"):
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
        mp[M_STM_CHUNK] = self.stm_chunk_s
        mp[M_STM_STEP_AIR] = self.stm_step_air_s
        mp[M_H_DRAG_TOP] = min(self.h_drag_top_m, _H_AIR_TOP_M)
        return mp


DEFAULT_MODEL = MotionModel()


# ---------------------------------------------------------------------------- motion kernels
#
# The propagation runs on scalars and one flat work array (``propagation_work``): numba reference-
# counts every array a kernel receives or slices (an atomic operation each), which would cost more
# than the arithmetic of these 6-state kernels.


@njit(cache=True, inline="always")
def _accel_rho(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, want_slope):
    """(ax, ay, az, gx, gy, gz, rho, drho_dh) of the unpowered ballistic model, g its gravity
    alone, rho the air density used (0: none) and, with want_slope, its height derivative
    (``_density_slope``; 0 without): flight.kernel.deriv's coast branch on scalars, its
    operations in its order (as of commit e0559b5; the tests hold the two equal to rounding),
    its top of the air (1000 km) replaced by h_top (``h_drag_top_m``, at most 1000 km)."""
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
    drho = 0.0
    if drag and r < WGS84_A_M + h_top:
        h = K._height_for_air(x, y, z, r, inv_r2, sphere_r)
        if h < h_top:
            if want_slope:
                rho, drho = _density_slope(h)
            else:
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
    return ax, ay, az, gx, gy, gz, rho, drho


@njit(cache=True, inline="always")
def _accel(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top):
    """(ax, ay, az, gx, gy, gz) of the unpowered ballistic model, g its gravity alone
    (``_accel_rho`` without the density)."""
    ax, ay, az, gx, gy, gz, _, _ = _accel_rho(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, False)
    return ax, ay, az, gx, gy, gz


@njit(cache=True, inline="always")
def _density_slope(h_m):
    """(rho, d(rho)/dh) at height h_m below 1000 km: ``atmosphere.density_and_sound_speed``'s
    density, the same operations in the same order (equal bit for bit; the tests hold them
    equal), and the analytic derivative of its interpolant (cubic Hermite in ln(rho) on the
    table; the continuations below 0 m and the hold below -1 km) from the same table lookup.
    NaN height: NaN."""
    if h_m != h_m:
        return math.nan, math.nan
    if h_m < _atm._H_BOTTOM_M:
        hc = max(h_m, _atm._H_FLOOR_M)
        rho = math.exp(_atm._LN_RHO[0] + (_atm._H_BOTTOM_M - hc) / _atm._H_SCALE_BOTTOM_M)
        return rho, (-rho / _atm._H_SCALE_BOTTOM_M if h_m > _atm._H_FLOOR_M else 0.0)
    if h_m >= _atm._H_TOP_M:
        rho = math.exp(_atm._LN_RHO[_atm._N - 1] - (h_m - _atm._H_TOP_M) / _atm._H_SCALE_TOP_M)
        return rho, -rho / _atm._H_SCALE_TOP_M
    if h_m < _atm._H_BREAK_M:
        x = (h_m - _atm._H_BOTTOM_M) / _atm._DH_LOW_M
        i = int(x)
        if i > _atm._I_BREAK - 1:
            i = _atm._I_BREAK - 1
    else:
        x = (h_m - _atm._H_BREAK_M) / _atm._DH_HIGH_M
        i = int(x)
        if i > _atm._N - 2 - _atm._I_BREAK:
            i = _atm._N - 2 - _atm._I_BREAK
        x += _atm._I_BREAK
        i += _atm._I_BREAK
    f = x - i
    dh = _atm._DH_LOW_M if i < _atm._I_BREAK else _atm._DH_HIGH_M
    f2 = f * f
    f3 = f2 * f
    l0 = _atm._LN_RHO[i]
    d0 = _atm._DLN_RHO[i]
    l1 = _atm._LN_RHO[i + 1]
    d1 = _atm._DLN_RHO[i + 1]
    ln_rho = (
        (2.0 * f3 - 3.0 * f2 + 1.0) * l0
        + (f3 - 2.0 * f2 + f) * dh * d0
        + (3.0 * f2 - 2.0 * f3) * l1
        + (f3 - f2) * dh * d1
    )
    dln = ((6.0 * f2 - 6.0 * f) * (l0 - l1)) / dh + (3.0 * f2 - 4.0 * f + 1.0) * d0 + (3.0 * f2 - 2.0 * f) * d1
    rho = math.exp(ln_rho)
    return rho, rho * dln


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
def _air_density(x, y, z, sphere_r, h_top):
    """(rho, d(rho)/dh) of the model's air at ECI position (x, y, z) (drag on); zero at or above
    the air's top h_top (``h_drag_top_m``; flight.kernel.deriv's is 1000 km). One table lookup
    (``_density_slope``)."""
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    r = r2 * math.sqrt(inv_r2)
    if not r < WGS84_A_M + h_top:
        return 0.0, 0.0
    h = K._height_for_air(x, y, z, r, inv_r2, sphere_r)
    if not h < h_top:
        return 0.0, 0.0
    return _density_slope(h)


@njit(cache=True, inline="always")
def _drag_partials(x, y, z, vx, vy, vz, rho, drho_dh, sphere_r, omega, inv_beta):
    """Partials of the drag acceleration a_d = -(rho |u| / 2 beta) u, u = v - omega x r, at a
    point where the air has density rho and height derivative drho_dh (``_air_density``):
    (d(a_d)/d(r) row-major 9, d(a_d)/d(v) row-major 9), analytic (the density's gradient is
    drho_dh times the gradient of the air height, ``_height_grad``)."""
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    hx, hy, hz = _height_grad(x, y, z, r2 * math.sqrt(inv_r2), inv_r2, sphere_r)
    drx, dry, drz = drho_dh * hx, drho_dh * hy, drho_dh * hz
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
    ax, ay, az, _, _, _ = _accel(x[0], x[1], x[2], 0.0, 0.0, 0.0, j2, False, 0.0, 0.0, 0.0, 0.0)
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
def xdot_fast_1(x, cfg, inv_beta, h_top, out):
    """xdot_1 as the propagation computes it (``_accel``), no air at or above h_top
    (``h_drag_top_m``); with h_top = 1e6 (deriv's top of the air) the tests hold it equal to
    xdot_1."""
    ax, ay, az, _, _, _ = _accel(
        x[0], x[1], x[2], x[3], x[4], x[5], cfg[K.C_J2] != 0.0, cfg[K.C_DRAG] != 0.0,
        cfg[K.C_SPHERE_R], cfg[K.C_OMEGA], inv_beta, h_top,
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
        rho, drho = _air_density(x[0], x[1], x[2], cfg[K.C_SPHERE_R], mp[M_H_DRAG_TOP])
        dr, dv = _drag_partials(
            x[0], x[1], x[2], x[3], x[4], x[5], rho, drho, cfg[K.C_SPHERE_R], cfg[K.C_OMEGA], mp[M_INV_BETA],
        )
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
        mp[M_INV_BETA], mp[M_H_DRAG_TOP],
    )
    return _q_eff_s(boost, in_air_1(x, mp), ax - gx, ay - gy, az - gz, drag, mp)


# Layout of the propagation work array (``propagation_work``): the 42-state s = (x, Phi
# row-major), the four RK4 stages and the stage argument of the variational steps (also the work
# of _close_chunk)
PW_S, PW_K1, PW_K2, PW_K3, PW_K4, PW_TMP = 0, 42, 84, 126, 168, 210
N_PW = 252
# ... and, over the stages' space, the work of the air segments (_close_air): their start, end
# and mid points (state 6, acceleration 3, G_r and G_v row-major 9 + 9 each), and the RK4 sum,
# argument and stage of Phi (36 each)
PW_AS, PW_AE, PW_AM, PW_ASUM, PW_AY, PW_AK = 42, 69, 96, 123, 159, 195


@njit(cache=True)
def _rhs(wb, src, dst, want_stm, j2, drag, sphere_r, omega, inv_beta, h_top, h_air):
    """Right-hand side of the mean (wb[src:src + 6]) and, with want_stm, of the variational
    equations Phi' = A Phi (wb[src + 6:src + 42], Phi row-major) into wb[dst:dst + 42].

    Returns (in the air, the drag acceleration (3)) at the point."""
    x = wb[src]
    y = wb[src + 1]
    z = wb[src + 2]
    vx = wb[src + 3]
    vy = wb[src + 4]
    vz = wb[src + 5]
    air = _in_air(x, y, z, h_air)
    slope = want_stm and drag and air
    ax, ay, az, gx, gy, gz, rho, drho = _accel_rho(
        x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, slope,
    )
    wb[dst] = vx
    wb[dst + 1] = vy
    wb[dst + 2] = vz
    wb[dst + 3] = ax
    wb[dst + 4] = ay
    wb[dst + 5] = az
    if not want_stm:
        return air, ax - gx, ay - gy, az - gz
    g00, g01, g02, g10, g11, g12, g20, g21, g22 = _gravity_gradient(x, y, z, j2)
    for j in range(18):  # Phi_r' = Phi_v
        wb[dst + 6 + j] = wb[src + 24 + j]
    p = src + 6
    d = dst + 24
    if slope:
        dr, dv = _drag_partials(x, y, z, vx, vy, vz, rho, drho, sphere_r, omega, inv_beta)
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


@njit(cache=True, inline="always")
def _rk4_mean(x, y, z, vx, vy, vz, h, j2, drag, sphere_r, omega, inv_beta, h_top):
    """One classic RK4 step of the mean alone, on scalars: the same operations in the same order
    as propagate_flat's 42-state step makes on the mean's 6 components (equal bit for bit).
    Returns the new state (6) and the drag acceleration (3) at the step's start."""
    a1x, a1y, a1z, g1x, g1y, g1z = _accel(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top)
    hh = 0.5 * h
    x2, y2, z2 = x + hh * vx, y + hh * vy, z + hh * vz
    u2, v2, w2 = vx + hh * a1x, vy + hh * a1y, vz + hh * a1z
    a2x, a2y, a2z, _, _, _ = _accel(x2, y2, z2, u2, v2, w2, j2, drag, sphere_r, omega, inv_beta, h_top)
    x3, y3, z3 = x + hh * u2, y + hh * v2, z + hh * w2
    u3, v3, w3 = vx + hh * a2x, vy + hh * a2y, vz + hh * a2z
    a3x, a3y, a3z, _, _, _ = _accel(x3, y3, z3, u3, v3, w3, j2, drag, sphere_r, omega, inv_beta, h_top)
    x4, y4, z4 = x + h * u3, y + h * v3, z + h * w3
    u4, v4, w4 = vx + h * a3x, vy + h * a3y, vz + h * a3z
    a4x, a4y, a4z, _, _, _ = _accel(x4, y4, z4, u4, v4, w4, j2, drag, sphere_r, omega, inv_beta, h_top)
    h6 = h / 6.0
    return (
        x + h6 * (vx + 2.0 * u2 + 2.0 * u3 + u4),
        y + h6 * (vy + 2.0 * v2 + 2.0 * v3 + v4),
        z + h6 * (vz + 2.0 * w2 + 2.0 * w3 + w4),
        vx + h6 * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + h6 * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        vz + h6 * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
        a1x - g1x, a1y - g1y, a1z - g1z,
    )


@njit(cache=True)
def _close_chunk(wb, s, tmp, ident, h, x0, y0, z0, u0, v0, w0, x1, y1, z1, u1, v1, w1, j2):
    """Multiply Phi (wb[s + 6:s + 42], row-major; the identity if ident) from the left by the
    closed-form transition matrix of a vacuum interval of length h flown from (x0..w0) to
    (x1..w1) (module docstring):

        Phi_h = [[C - E, S], [D, C + E]],  C = I + G h^2/2 + G^2 h^4/24,
                S = h (I + G h^2/6 + G^2 h^4/120),  D = h (G + G^2 h^2/6),  E = (h^3 / 12) dG/dt,

    G the gravity gradient at the interval's midpoint, from the cubic Hermite interpolant of
    the two ends: r_mid = (r0 + r1)/2 + h (v0 - v1)/8; dG/dt that of point-mass gravity there,
    along the mean velocity (r1 - r0) / h. wb[tmp:tmp + 42] is work."""
    xm = 0.5 * (x0 + x1) + 0.125 * h * (u0 - u1)
    ym = 0.5 * (y0 + y1) + 0.125 * h * (v0 - v1)
    zm = 0.5 * (z0 + z1) + 0.125 * h * (w0 - w1)
    g = _gravity_gradient(xm, ym, zm, j2)
    # point mass: dG_ij/dt = mu r^-5 (3 (v_i x_j + x_i v_j) - 15 (x.v) x_i x_j / r^2 + 3 (x.v) d_ij)
    inv_h = 1.0 / h
    vxm, vym, vzm = (x1 - x0) * inv_h, (y1 - y0) * inv_h, (z1 - z0) * inv_h
    r2 = xm * xm + ym * ym + zm * zm
    inv_r2 = 1.0 / r2
    e = h * h * h / 12.0 * MU_EARTH_M3_S2 * inv_r2 * inv_r2 * math.sqrt(inv_r2)
    sv = xm * vxm + ym * vym + zm * vzm
    f = 15.0 * sv * inv_r2
    pm = (xm, ym, zm)
    vm = (vxm, vym, vzm)
    h2 = h * h
    ca = 0.5 * h2
    cb = h2 * h2 / 24.0
    sa = h * h2 / 6.0
    sb = h * h2 * h2 / 120.0
    da = h * h2 / 6.0
    for i in range(3):
        for j in range(3):
            gg = g[3 * i] * g[j] + g[3 * i + 1] * g[3 + j] + g[3 * i + 2] * g[6 + j]  # (G^2)_ij
            gij = g[3 * i + j]
            c = ca * gij + cb * gg
            sij = sa * gij + sb * gg
            eij = e * (3.0 * (vm[i] * pm[j] + pm[i] * vm[j]) - f * pm[i] * pm[j])
            if i == j:
                c += 1.0
                sij += h
                eij += e * 3.0 * sv
            # blocks 00, 11 (C -+ E), 01 (S), 10 (D)
            o = tmp + 6 * i + j
            wb[o] = c - eij
            wb[o + 21] = c + eij
            wb[o + 3] = sij
            wb[o + 18] = h * gij + da * gg
    p = s + 6
    if ident:
        for i in range(36):
            wb[p + i] = wb[tmp + i]
        return
    for i in range(6):  # Phi <- Phi_h Phi, one row of the product at a time (rows of Phi_h at tmp)
        a0, a1, a2 = wb[tmp + 6 * i], wb[tmp + 6 * i + 1], wb[tmp + 6 * i + 2]
        a3, a4, a5 = wb[tmp + 6 * i + 3], wb[tmp + 6 * i + 4], wb[tmp + 6 * i + 5]
        for j in range(6):
            wb[tmp + 36 + j] = (
                a0 * wb[p + j] + a1 * wb[p + 6 + j] + a2 * wb[p + 12 + j]
                + a3 * wb[p + 18 + j] + a4 * wb[p + 24 + j] + a5 * wb[p + 30 + j]
            )
        for j in range(6):
            wb[tmp + 6 * i + j] = wb[tmp + 36 + j]  # row i of Phi_h is no longer needed
    for i in range(36):
        wb[p + i] = wb[tmp + i]


@njit(cache=True, inline="always")
def _store_point(wb, dst, x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, h_air):
    """State, acceleration and A's lower blocks G_r, G_v (``accel_jacobian_1``: drag partials
    below h_air_m) at a point into wb[dst:dst + 27] (layout of PW_AS)."""
    slope = drag and _in_air(x, y, z, h_air)
    ax, ay, az, _, _, _, rho, drho = _accel_rho(x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, slope)
    wb[dst], wb[dst + 1], wb[dst + 2], wb[dst + 3], wb[dst + 4], wb[dst + 5] = x, y, z, vx, vy, vz
    wb[dst + 6], wb[dst + 7], wb[dst + 8] = ax, ay, az
    g = _gravity_gradient(x, y, z, j2)
    for i in range(9):
        wb[dst + 9 + i] = g[i]
        wb[dst + 18 + i] = 0.0
    if slope:
        dr, dv = _drag_partials(x, y, z, vx, vy, vz, rho, drho, sphere_r, omega, inv_beta)
        for i in range(9):
            wb[dst + 9 + i] += dr[i]
            wb[dst + 18 + i] = dv[i]


@njit(cache=True, inline="always")
def _a_times(wb, a, src, dst):
    """wb[dst:dst + 36] = A wb[src:src + 36] (6 x 6 row-major), A = [[0, I], [G_r, G_v]] with G_r,
    G_v at wb[a:a + 18]."""
    for j in range(18):
        wb[dst + j] = wb[src + 18 + j]
    for i in range(3):
        r = a + 3 * i
        g0, g1, g2 = wb[r], wb[r + 1], wb[r + 2]
        v0, v1, v2 = wb[r + 9], wb[r + 10], wb[r + 11]
        for j in range(6):
            wb[dst + 18 + 6 * i + j] = (
                (g0 * wb[src + j] + v0 * wb[src + 18 + j]) + (g1 * wb[src + 6 + j] + v1 * wb[src + 24 + j])
                + (g2 * wb[src + 12 + j] + v2 * wb[src + 30 + j])
            )


@njit(cache=True)
def _close_air(wb, base, h, x1, y1, z1, u1, v1, w1, j2, drag, sphere_r, omega, inv_beta, h_top, h_air):
    """One classic RK4 step of the variational equations Phi' = A(t) Phi (Phi at wb[base + 6:base
    + 42]) over an air segment of length h, from the point stored at PW_AS to the state (x1..w1):
    A at the two ends and at the midpoint of the segment's cubic Hermite interpolant (positions
    from the ends' states, velocities from their accelerations). The end point is stored as the
    next segment's start."""
    p = base + PW_S + 6
    a0 = base + PW_AS
    a1 = base + PW_AE
    am = base + PW_AM
    acc = base + PW_ASUM
    y = base + PW_AY
    k = base + PW_AK
    _store_point(wb, a1, x1, y1, z1, u1, v1, w1, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
    hm = 0.125 * h
    xm = 0.5 * (wb[a0] + x1) + hm * (wb[a0 + 3] - u1)
    ym = 0.5 * (wb[a0 + 1] + y1) + hm * (wb[a0 + 4] - v1)
    zm = 0.5 * (wb[a0 + 2] + z1) + hm * (wb[a0 + 5] - w1)
    um = 0.5 * (wb[a0 + 3] + u1) + hm * (wb[a0 + 6] - wb[a1 + 6])
    vm = 0.5 * (wb[a0 + 4] + v1) + hm * (wb[a0 + 7] - wb[a1 + 7])
    wm = 0.5 * (wb[a0 + 5] + w1) + hm * (wb[a0 + 8] - wb[a1 + 8])
    _store_point(wb, am, xm, ym, zm, um, vm, wm, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
    hh = 0.5 * h
    _a_times(wb, a0 + 9, p, k)  # k1
    for i in range(36):
        wb[acc + i] = wb[k + i]
        wb[y + i] = wb[p + i] + hh * wb[k + i]
    _a_times(wb, am + 9, y, k)  # k2
    for i in range(36):
        wb[acc + i] += 2.0 * wb[k + i]
        wb[y + i] = wb[p + i] + hh * wb[k + i]
    _a_times(wb, am + 9, y, k)  # k3
    for i in range(36):
        wb[acc + i] += 2.0 * wb[k + i]
        wb[y + i] = wb[p + i] + h * wb[k + i]
    _a_times(wb, a1 + 9, y, k)  # k4
    h6 = h / 6.0
    for i in range(36):
        wb[p + i] += h6 * (wb[acc + i] + wb[k + i])
    for i in range(27):
        wb[a0 + i] = wb[a1 + i]


_VARIATIONAL, _VACUUM, _AIR = 0, 1, 2  # how propagate_flat takes Phi over a step


@njit(cache=True)
def propagate_flat(t0, t1, boost, cfg, mp, want_stm, wb, base):
    """Fly the mean in wb[base:base + 6] (``PW_S``) from t0 to t1, in place; with want_stm, Phi
    (6, 6) = dx1/dx0 row-major into wb[base + 6:base + 42]. wb[base:base + N_PW] is the work.

    The mean: RK4 (module docstring). Phi (module docstring): in vacuum (or with drag off), the
    closed form of ``_close_chunk`` over runs of RK4 steps of at most ``stm_chunk_s`` together;
    in the air (drag on), the variational equations' own RK4 steps (``_close_air``) over runs
    of the mean's steps of at most ``stm_step_air_s``; either at 0: the variational equations
    integrated with the mean's stages (42 states) there. The pieces are multiplied.

    Returns the process noise over the interval as its three per-axis blocks (Q_pp, Q_pv, Q_vv):
    Q = [[Q_pp I, Q_pv I], [Q_pv I, Q_vv I]] (module docstring). boost: the motor burns (adds
    q_boost)."""
    j2 = cfg[K.C_J2] != 0.0
    drag = cfg[K.C_DRAG] != 0.0
    sphere_r = cfg[K.C_SPHERE_R]
    omega = cfg[K.C_OMEGA]
    inv_beta = mp[M_INV_BETA]
    h_top = mp[M_H_DRAG_TOP]
    h_air = mp[M_H_AIR]
    step_air = mp[M_MAX_STEP_AIR]
    step_vac = mp[M_MAX_STEP]
    chunk_max = mp[M_STM_CHUNK] * (1.0 + 1e-12)
    seg_max = mp[M_STM_STEP_AIR] * (1.0 + 1e-12)
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
    ident = True  # Phi is (still) the identity
    # the mean, on scalars; the open vacuum chunk starts at (c*) and is clen long; the open air
    # segment is slen long from the point at PW_AS; seg_start: PW_AS holds the current state's
    # point (the end of the segment just closed)
    x, y, z, vx, vy, vz = wb[s], wb[s + 1], wb[s + 2], wb[s + 3], wb[s + 4], wb[s + 5]
    cx, cy, cz, cu, cv, cw = x, y, z, vx, vy, vz
    clen = 0.0
    slen = 0.0
    seg_start = False
    qa = 0.0
    qb = 0.0
    qc = 0.0
    t = t0
    while t != t1:
        rem = t1 - t
        air = _in_air(x, y, z, h_air)
        hl = step_air if air else step_vac
        nst = math.ceil(abs(rem) / hl - 1e-9)
        if nst < 1:
            nst = 1
        h = rem / nst
        mode = _VARIATIONAL
        if want_stm:
            if drag and air:
                if seg_max > 0.0:
                    mode = _AIR
            elif chunk_max > 0.0:
                mode = _VACUUM
            if clen != 0.0 and (mode != _VACUUM or abs(clen + h) > chunk_max):
                _close_chunk(wb, s, tmp, ident, clen, cx, cy, cz, cu, cv, cw, x, y, z, vx, vy, vz, j2)
                ident = False
                clen = 0.0
            if slen != 0.0 and (mode != _AIR or abs(slen + h) > seg_max):
                _close_air(wb, base, slen, x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
                ident = False
                slen = 0.0
                seg_start = True
        if want_stm and mode == _VARIATIONAL:
            wb[s], wb[s + 1], wb[s + 2], wb[s + 3], wb[s + 4], wb[s + 5] = x, y, z, vx, vy, vz
            air, dx, dy, dz = _rhs(wb, s, k1, True, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
            hh = 0.5 * h
            for i in range(42):
                wb[tmp + i] = wb[s + i] + hh * wb[k1 + i]
            _rhs(wb, tmp, k2, True, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
            for i in range(42):
                wb[tmp + i] = wb[s + i] + hh * wb[k2 + i]
            _rhs(wb, tmp, k3, True, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
            for i in range(42):
                wb[tmp + i] = wb[s + i] + h * wb[k3 + i]
            _rhs(wb, tmp, k4, True, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
            h6 = h / 6.0
            for i in range(42):
                wb[s + i] += h6 * (wb[k1 + i] + 2.0 * wb[k2 + i] + 2.0 * wb[k3 + i] + wb[k4 + i])
            x, y, z, vx, vy, vz = wb[s], wb[s + 1], wb[s + 2], wb[s + 3], wb[s + 4], wb[s + 5]
            ident = False
            seg_start = False
        else:
            if mode == _VACUUM:
                if clen == 0.0:
                    cx, cy, cz, cu, cv, cw = x, y, z, vx, vy, vz
                clen += h
            elif mode == _AIR:
                if slen == 0.0 and not seg_start:
                    _store_point(
                        wb, base + PW_AS, x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, h_air,
                    )
                slen += h
            x, y, z, vx, vy, vz, dx, dy, dz = _rk4_mean(
                x, y, z, vx, vy, vz, h, j2, drag, sphere_r, omega, inv_beta, h_top,
            )
            seg_start = False
        q = _q_eff_s(boost, air, dx, dy, dz, drag, mp)
        # constant-velocity composition of the white-acceleration noise (per axis)
        ah = abs(h)
        qa = qa + 2.0 * ah * qb + ah * ah * qc + q * ah * ah * ah / 3.0
        qb = qb + ah * qc + q * ah * ah / 2.0
        qc = qc + q * ah
        if nst == 1:
            t = t1
        else:
            t = t + h
    if clen != 0.0:
        _close_chunk(wb, s, tmp, ident, clen, cx, cy, cz, cu, cv, cw, x, y, z, vx, vy, vz, j2)
    if slen != 0.0:
        _close_air(wb, base, slen, x, y, z, vx, vy, vz, j2, drag, sphere_r, omega, inv_beta, h_top, h_air)
    wb[s], wb[s + 1], wb[s + 2], wb[s + 3], wb[s + 4], wb[s + 5] = x, y, z, vx, vy, vz
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
