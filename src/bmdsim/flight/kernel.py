"""The batched flight kernel: boost, free flight and reentry of N missiles in one call.

Equations of motion in the inertial frame of ``earth.frames`` (ECI pinned to ECEF at t = 0):

    r' = v
    v' = g_J2(r) + T(t, h) u(t) / m - (rho |v_rel| / 2) (C_D A / m) v_rel
    m' = -T_vac / (Isp_vac g0)          while a stage burns

- g_J2: point mass plus the J2 zonal term (Vallado, *Fundamentals of Astrodynamics and
  Applications*, 4th ed., eq. 8-30 in Cartesian form).
- T(h) = T_vac - (T_vac - T_sl) p(h) / p0: thrust rises from its sea-level to its vacuum value
  as the ambient pressure falls (Sutton & Biblarz, eq. 3-21, with the exit area folded in).
- u(t): the guidance law. The thrust points along the launch vertical until ``t_vert``, then
  pitches over at a constant rate toward the launch azimuth, reaching ``theta`` (from the vertical)
  at ``t_vert + t_pitch``; from there it turns at a constant rate to ``theta_end`` at the end of
  the last stage's burn ``t_burn`` (ballistic missiles hold ``theta_end = theta``, an inertial
  attitude hold; a space launcher turns on toward the horizontal to insert into orbit). The
  burnout flight-path angle is steered through ``theta``; the cutoff time ``t_cut`` ends thrust early (liquid motors),
  which is how a missile flies a minimum-energy trajectory shorter than its maximum range.
- Drag: during boost C_D(Mach) A of the stack (``flight.aero``); after burnout the reentry vehicle
  with its ballistic coefficient beta = m / (C_D A). v_rel is the velocity relative to the air,
  which turns with the Earth: v_rel = v - omega x r.

Integration: Dormand-Prince 5(4) with adaptive steps (Dormand & Prince, J. Comp. Appl. Math. 6,
1980; PI step control as in Hairer, Norsett & Wanner, *Solving ODEs I*, II.4, with Gustafsson's
predictive control outside the powered flight through the air). Every discontinuity
(pitch-program corners, staging, cutoff) is a step boundary. A powered step that starts above
``cfg[C_VACUUM_H]`` runs at the boost tolerances times ``cfg[C_VACUUM_FACTOR]``. Impact is the
root of the height above the ellipsoid (or sphere), found by secant (Illinois) iteration on
exact RK steps to 1 mm.
Outputs on a time grid come from cubic Hermite interpolation within accepted steps.

Each trajectory runs independently, in parallel over a numba ``prange``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from bmdsim.constants import G0_MPS2, J2_EARTH, MU_EARTH_M3_S2, WGS84_A_M, WGS84_E2
from bmdsim.earth.atmosphere import density_and_sound_speed
from bmdsim.earth.frames import height_m_1
from bmdsim.flight.aero import drag_coefficient

MAX_STAGES = 4

# Layout of the per-stage parameter array ``stages[n, s, :]``
S_PROP, S_DRY, S_THRUST, S_ISP, S_LOSS, S_AREA = range(6)
N_STAGE_FIELDS = 6
# Layout of ``guidance[n, :]``
G_AZ, G_TVERT, G_TPITCH, G_THETA, G_TCUT, G_THETA_END, G_TBURN, G_COS_THETA, G_SIN_THETA = range(9)
N_GUIDANCE_FIELDS = 9  # the last two are cos and sin of G_THETA, filled by _fly_one
# Layout of ``payload[n, :]``
P_MASS, P_BETA = range(2)
# Layout of ``cfg`` (shared by the batch)
(
    C_OMEGA, C_J2, C_DRAG, C_SPHERE_R, C_RTOL, C_ATOL, C_TMAX, C_ORBIT_H,
    C_RTOL_BOOST, C_ATOL_BOOST, C_ATOL_V, C_ATOL_V_BOOST, C_VACUUM_H, C_VACUUM_FACTOR,
) = range(14)
N_CFG = 14
# Layout of ``summary[n, :]``
O_STATUS, O_T_BURNOUT, O_T_IMPACT, O_APOGEE_H, O_T_APOGEE, O_NSTEPS, O_NREJECT, O_REC_FIRST, O_REC_LAST = range(9)
N_SUMMARY = 9  # O_REC_FIRST, O_REC_LAST: the first and last record rows written (NaN: none)

STATUS_IMPACT = 0
STATUS_ORBITAL = 1
STATUS_TIMEOUT = 2
STATUS_FAILED = 3

_PI_BETA = 0.04
_PI_EXPO1 = 0.2 - 0.75 * _PI_BETA
_PI_SAFE = 0.9
_PI_INV_SAFE = 1.0 / _PI_SAFE
_LN_1EM4 = math.log(1e-4)
_LN_1EM2 = math.log(1e-2)

_P0_PA = 101325.0
_GAMMA_AIR = 1.4
_K_J2 = 1.5 * J2_EARTH * WGS84_A_M * WGS84_A_M
_INV_GAMMA_P0 = 1.0 / (_GAMMA_AIR * _P0_PA)

# Dormand-Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
_A21 = 1.0 / 5.0
_A31, _A32 = 3.0 / 40.0, 9.0 / 40.0
_A41, _A42, _A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
_A51, _A52, _A53, _A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
_A61, _A62, _A63, _A64, _A65 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0
_B1, _B3, _B4, _B5, _B6 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
_E1, _E3, _E4, _E5, _E6, _E7 = (
    71.0 / 57600.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
)


@njit(cache=True, inline="always")
def height_of(x, y, z, sphere_r):
    """Height above the WGS-84 ellipsoid, or above a sphere of radius sphere_r when > 0.

    Rotation about z leaves it unchanged, so ECI coordinates serve as well as ECEF.
    """
    if sphere_r > 0.0:
        return math.sqrt(x * x + y * y + z * z) - sphere_r
    return height_m_1(x, y, z)


_B_OVER_A = math.sqrt(1.0 - WGS84_E2)
_E2 = WGS84_E2


@njit(cache=True, inline="always")
def _height_for_air(x, y, z, r, inv_r2, sphere_r):
    """Height for the air density: r minus the ellipsoid radius at the same geocentric latitude.

    Differs from the geodetic height by under a metre below 1000 km (the deflection of the
    vertical squared times the height), far inside the atmosphere model's own accuracy, at a
    fifth of the cost of the exact transformation. Events (impact) use the exact height.
    """
    if sphere_r > 0.0:
        return r - sphere_r
    return r - WGS84_A_M * _B_OVER_A / math.sqrt(1.0 - _E2 * (x * x + y * y) * inv_r2)


@njit(cache=True, inline="always")
def _rhs(t, x, yy, z, vx, vy, vz, m, cfg, thrust_vac, k_loss, mdot, area, inv_beta, gd, up0, dir0):
    """The acceleration and mass rate (ax, ay, az, dm) at (t, r, v, m): ``deriv`` in scalars.

    k_loss = thrust_loss / (gamma p0), so that the thrust is thrust_vac - k_loss rho a^2.
    """
    # one division and one square root for the whole gravity field (latency-bound chain)
    r2 = x * x + yy * yy + z * z
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    r = r2 * inv_r
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    if cfg[C_J2] != 0.0:
        k = _K_J2 * inv_r2
        zr2 = 5.0 * z * z * inv_r2
        g_xy = mu_r3 * (1.0 + k * (1.0 - zr2))
        g_z = mu_r3 * (1.0 + k * (3.0 - zr2))
    else:
        g_xy = mu_r3
        g_z = mu_r3
    ax = -g_xy * x
    ay = -g_xy * yy
    az = -g_z * z
    dm = 0.0
    rho = 0.0
    snd = 340.0
    if cfg[C_DRAG] != 0.0 and r < WGS84_A_M + 1.0e6:
        h = _height_for_air(x, yy, z, r, inv_r2, cfg[C_SPHERE_R])
        if h < 1.0e6:
            rho, snd = density_and_sound_speed(h)
    inv_m = 1.0
    if thrust_vac > 0.0:
        tv = gd[G_TVERT]
        tp = gd[G_TPITCH]
        if t <= tv:
            c, s = 1.0, 0.0
        elif t >= tv + tp:
            th = gd[G_THETA]
            if gd[G_THETA_END] != th and gd[G_TBURN] > tv + tp:
                w_end = min(1.0, (t - tv - tp) / (gd[G_TBURN] - tv - tp))
                th += w_end * (gd[G_THETA_END] - th)
                c, s = math.cos(th), math.sin(th)
            else:  # attitude hold: no trigonometry per call
                c, s = gd[G_COS_THETA], gd[G_SIN_THETA]
        else:
            th = gd[G_THETA] * (t - tv) / tp
            c, s = math.cos(th), math.sin(th)
        inv_m = 1.0 / m
        # thrust / m, with the ambient-pressure loss; rho last, it comes last (exp)
        a_t = thrust_vac * inv_m
        if rho > 0.0:
            a_t -= (k_loss * inv_m * snd * snd) * rho
        ax += a_t * (c * up0[0] + s * dir0[0])
        ay += a_t * (c * up0[1] + s * dir0[1])
        az += a_t * (c * up0[2] + s * dir0[2])
        dm = -mdot
    if rho > 0.0:
        w = cfg[C_OMEGA]
        rx = vx + w * yy
        ry = vy - w * x
        rz = vz
        vrel = math.sqrt(rx * rx + ry * ry + rz * rz)
        if thrust_vac > 0.0:
            k_d = drag_coefficient(vrel / snd) * area * inv_m
        else:
            k_d = inv_beta
        q = (0.5 * vrel * k_d) * rho
        ax -= q * rx
        ay -= q * ry
        az -= q * rz
    return ax, ay, az, dm


@njit(cache=True, inline="always")
def deriv(t, y, f, cfg, thrust_vac, thrust_loss, mdot, area, inv_beta, gd, up0, dir0):
    """Time derivative of the state y = (r, v, m) into f.

    thrust_vac > 0 means a motor burns (drag from C_D(M) * area); otherwise the body coasts and
    drag uses inv_beta = 1 / beta. gd is the guidance row, up0/dir0 the launch vertical and the
    horizontal unit vector toward the launch azimuth (ECI). The thrust is thrust_vac minus
    thrust_loss times the ambient pressure over p0.
    """
    ax, ay, az, dm = _rhs(
        t, y[0], y[1], y[2], y[3], y[4], y[5], y[6], cfg, thrust_vac, thrust_loss * _INV_GAMMA_P0,
        mdot, area, inv_beta, gd, up0, dir0,
    )
    f[0] = y[3]
    f[1] = y[4]
    f[2] = y[5]
    f[3] = ax
    f[4] = ay
    f[5] = az
    f[6] = dm


@njit(cache=True, inline="always")
def rk_step(t, y, f0, hstep, fnew, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0):
    """One Dormand-Prince step of size hstep from (t, y) with f0 = f(t, y).

    Writes the 5th-order solution to ynew, its derivative to fnew (first-same-as-last), and the
    embedded error estimate to err. tl is k_loss (see ``_rhs``). The stages live in scalars (the
    position rates are the stage velocities; the mass rate is constant within a segment).
    """
    h = hstep
    x0, y0, z0, u0, v0, w0, m0 = y[0], y[1], y[2], y[3], y[4], y[5], y[6]
    # stage 1 = f0
    p1, q1, r1 = f0[0], f0[1], f0[2]
    a1, b1, c1, d1 = f0[3], f0[4], f0[5], f0[6]
    # stage 2
    s = h * _A21
    x, yy, z = x0 + s * p1, y0 + s * q1, z0 + s * r1
    p2, q2, r2 = u0 + s * a1, v0 + s * b1, w0 + s * c1
    a2, b2, c2, d2 = _rhs(t + _C2 * h, x, yy, z, p2, q2, r2, m0 + s * d1, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    # stage 3
    x = x0 + h * (_A31 * p1 + _A32 * p2)
    yy = y0 + h * (_A31 * q1 + _A32 * q2)
    z = z0 + h * (_A31 * r1 + _A32 * r2)
    p3 = u0 + h * (_A31 * a1 + _A32 * a2)
    q3 = v0 + h * (_A31 * b1 + _A32 * b2)
    r3 = w0 + h * (_A31 * c1 + _A32 * c2)
    mm = m0 + h * (_A31 * d1 + _A32 * d2)
    a3, b3, c3, d3 = _rhs(t + _C3 * h, x, yy, z, p3, q3, r3, mm, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    # stage 4
    x = x0 + h * (_A41 * p1 + _A42 * p2 + _A43 * p3)
    yy = y0 + h * (_A41 * q1 + _A42 * q2 + _A43 * q3)
    z = z0 + h * (_A41 * r1 + _A42 * r2 + _A43 * r3)
    p4 = u0 + h * (_A41 * a1 + _A42 * a2 + _A43 * a3)
    q4 = v0 + h * (_A41 * b1 + _A42 * b2 + _A43 * b3)
    r4 = w0 + h * (_A41 * c1 + _A42 * c2 + _A43 * c3)
    mm = m0 + h * (_A41 * d1 + _A42 * d2 + _A43 * d3)
    a4, b4, c4, d4 = _rhs(t + _C4 * h, x, yy, z, p4, q4, r4, mm, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    # stage 5
    x = x0 + h * (_A51 * p1 + _A52 * p2 + _A53 * p3 + _A54 * p4)
    yy = y0 + h * (_A51 * q1 + _A52 * q2 + _A53 * q3 + _A54 * q4)
    z = z0 + h * (_A51 * r1 + _A52 * r2 + _A53 * r3 + _A54 * r4)
    p5 = u0 + h * (_A51 * a1 + _A52 * a2 + _A53 * a3 + _A54 * a4)
    q5 = v0 + h * (_A51 * b1 + _A52 * b2 + _A53 * b3 + _A54 * b4)
    r5 = w0 + h * (_A51 * c1 + _A52 * c2 + _A53 * c3 + _A54 * c4)
    mm = m0 + h * (_A51 * d1 + _A52 * d2 + _A53 * d3 + _A54 * d4)
    a5, b5, c5, d5 = _rhs(t + _C5 * h, x, yy, z, p5, q5, r5, mm, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    # stage 6
    x = x0 + h * (_A61 * p1 + _A62 * p2 + _A63 * p3 + _A64 * p4 + _A65 * p5)
    yy = y0 + h * (_A61 * q1 + _A62 * q2 + _A63 * q3 + _A64 * q4 + _A65 * q5)
    z = z0 + h * (_A61 * r1 + _A62 * r2 + _A63 * r3 + _A64 * r4 + _A65 * r5)
    p6 = u0 + h * (_A61 * a1 + _A62 * a2 + _A63 * a3 + _A64 * a4 + _A65 * a5)
    q6 = v0 + h * (_A61 * b1 + _A62 * b2 + _A63 * b3 + _A64 * b4 + _A65 * b5)
    r6 = w0 + h * (_A61 * c1 + _A62 * c2 + _A63 * c3 + _A64 * c4 + _A65 * c5)
    mm = m0 + h * (_A61 * d1 + _A62 * d2 + _A63 * d3 + _A64 * d4 + _A65 * d5)
    a6, b6, c6, d6 = _rhs(t + h, x, yy, z, p6, q6, r6, mm, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    # 5th-order solution (stage 2 has no weight)
    x = x0 + h * (_B1 * p1 + _B3 * p3 + _B4 * p4 + _B5 * p5 + _B6 * p6)
    yy = y0 + h * (_B1 * q1 + _B3 * q3 + _B4 * q4 + _B5 * q5 + _B6 * q6)
    z = z0 + h * (_B1 * r1 + _B3 * r3 + _B4 * r4 + _B5 * r5 + _B6 * r6)
    p7 = u0 + h * (_B1 * a1 + _B3 * a3 + _B4 * a4 + _B5 * a5 + _B6 * a6)
    q7 = v0 + h * (_B1 * b1 + _B3 * b3 + _B4 * b4 + _B5 * b5 + _B6 * b6)
    r7 = w0 + h * (_B1 * c1 + _B3 * c3 + _B4 * c4 + _B5 * c5 + _B6 * c6)
    mm = m0 + h * (_B1 * d1 + _B3 * d3 + _B4 * d4 + _B5 * d5 + _B6 * d6)
    a7, b7, c7, d7 = _rhs(t + h, x, yy, z, p7, q7, r7, mm, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    ynew[0], ynew[1], ynew[2], ynew[3], ynew[4], ynew[5], ynew[6] = x, yy, z, p7, q7, r7, mm
    fnew[0], fnew[1], fnew[2], fnew[3], fnew[4], fnew[5], fnew[6] = p7, q7, r7, a7, b7, c7, d7
    err[0] = h * (_E1 * p1 + _E3 * p3 + _E4 * p4 + _E5 * p5 + _E6 * p6 + _E7 * p7)
    err[1] = h * (_E1 * q1 + _E3 * q3 + _E4 * q4 + _E5 * q5 + _E6 * q6 + _E7 * q7)
    err[2] = h * (_E1 * r1 + _E3 * r3 + _E4 * r4 + _E5 * r5 + _E6 * r6 + _E7 * r7)
    err[3] = h * (_E1 * a1 + _E3 * a3 + _E4 * a4 + _E5 * a5 + _E6 * a6 + _E7 * a7)
    err[4] = h * (_E1 * b1 + _E3 * b3 + _E4 * b4 + _E5 * b5 + _E6 * b6 + _E7 * b7)
    err[5] = h * (_E1 * c1 + _E3 * c3 + _E4 * c4 + _E5 * c5 + _E6 * c6 + _E7 * c7)
    err[6] = 0.0


@njit(cache=True, inline="always")
def _error_norm(err, y, ynew, rtol, atol, atol_v):
    """RMS of the error scaled per component: positions by atol (m), velocities by atol_v (m/s)."""
    s = 0.0
    for i in range(6):
        a = atol if i < 3 else atol_v
        sc = a + rtol * max(abs(y[i]), abs(ynew[i]))
        e = err[i] / sc
        s += e * e
    return math.sqrt(s / 6.0)


@njit(cache=True)
def _hermite(y0, f0, y1, f1, hstep, tau, out):
    """Cubic Hermite interpolation of position and velocity at fraction tau of a step."""
    t2 = tau * tau
    t3 = t2 * tau
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + tau
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    for i in range(6):
        out[i] = h00 * y0[i] + h10 * hstep * f0[i] + h01 * y1[i] + h11 * hstep * f1[i]


@njit(cache=True)
def _integrate(
    t, y, f, t_end, hstep, cfg, tv, tl, md, ar, ib, gd, up0, dir0,
    rec, t_out0, dt_out, summ, work, allow_impact, rtol, atol, atol_v,
):
    """Integrate from t to t_end (inclusive), or to impact; returns (t, hstep, impacted).

    y and f (= f(t, y)) are updated in place. Impact is looked for only when allow_impact.
    Tracks the apogee in summ; writes grid outputs into rec.
    """
    fnew = work[6]
    ynew = work[7]
    err = work[8]
    ytmp = work[9]
    ftmp = work[10]
    sphere_r = cfg[C_SPHERE_R]
    h_old = height_of(y[0], y[1], y[2], sphere_r)
    nrec = rec.shape[0]
    # PI step-size control as in Hairer's DOPRI5 (Hairer, Norsett & Wanner, II.4 and IV.2):
    # h_new = h * safe * err^-(0.2 - 0.75 beta) * err_old^beta, growth within [0.2, 10],
    # and no growth right after a rejection
    ln_facold = _LN_1EM4
    rejected = False
    # Gustafsson's predictive control on top (Hairer & Wanner, Solving ODEs II, IV.8, (8.25)):
    # the error constant err / h^5 extrapolated from the last two accepted steps. It saves the
    # rejections where that constant trends (a burn's thrust over the falling mass; the air
    # thickening on reentry), but costs steps in the boost through the air, where the tables
    # behind drag and thrust make it jitter: it is off there.
    h_acc = -1.0  # last accepted step (-1: none yet in this segment) and log of its error
    ln_acc = 0.0
    powered = tv > 0.0
    h_vacuum = cfg[C_VACUUM_H] if powered else -1.0
    inv_factor = 1.0 / cfg[C_VACUUM_FACTOR]
    while t < t_end:
        last = False
        if t + hstep >= t_end:
            hstep = t_end - t
            last = True
        rk_step(t, y, f, hstep, fnew, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
        en = _error_norm(err, y, ynew, rtol, atol, atol_v)
        in_air = h_old < h_vacuum  # a powered step from inside the air (always False coasting)
        if powered and not in_air:
            # burning above the air: the boost tolerances relaxed (Tolerances.boost_vacuum_factor)
            en *= inv_factor
        # err^a * err_old^-b as one exp of logs (two pow calls cost as much as a derivative)
        ln_en = math.log(en) if en > 0.0 else -1.0e3
        fac11 = math.exp(_PI_EXPO1 * ln_en)
        if en > 1.0 and hstep > 1e-6:
            hstep /= min(5.0, fac11 / _PI_SAFE)
            summ[O_NREJECT] += 1
            rejected = True
            continue
        summ[O_NSTEPS] += 1
        t_new = t + hstep
        # the cheap height is within a metre of the exact one: exact only near the ground
        r_new = math.sqrt(ynew[0] * ynew[0] + ynew[1] * ynew[1] + ynew[2] * ynew[2])
        h_new = _height_for_air(ynew[0], ynew[1], ynew[2], r_new, 1.0 / (r_new * r_new), sphere_r)
        if h_new < 10.0:
            h_new = height_of(ynew[0], ynew[1], ynew[2], sphere_r)
        # apogee: radial velocity changes sign from + to - within the step
        rd0 = y[0] * y[3] + y[1] * y[4] + y[2] * y[5]
        rd1 = ynew[0] * ynew[3] + ynew[1] * ynew[4] + ynew[2] * ynew[5]
        if rd0 > 0.0 and rd1 <= 0.0:
            lo, hi = 0.0, 1.0
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                _hermite(y, f, ynew, fnew, hstep, mid, ytmp)
                if ytmp[0] * ytmp[3] + ytmp[1] * ytmp[4] + ytmp[2] * ytmp[5] > 0.0:
                    lo = mid
                else:
                    hi = mid
            _hermite(y, f, ynew, fnew, hstep, 0.5 * (lo + hi), ytmp)
            ha = height_of(ytmp[0], ytmp[1], ytmp[2], sphere_r)
            if ha > summ[O_APOGEE_H]:
                summ[O_APOGEE_H] = ha
                summ[O_T_APOGEE] = t + 0.5 * (lo + hi) * hstep
        impacted = False
        if allow_impact and h_old > 0.0 and h_new <= 0.0:
            # Illinois secant on the step size: exact RK steps from (t, y) until |h| < 1 mm
            a_s, fa = 0.0, h_old
            b_s, fb = hstep, h_new
            side = 0
            c_s = hstep
            for _ in range(60):
                c_s = b_s - fb * (b_s - a_s) / (fb - fa)
                rk_step(t, y, f, c_s, fnew, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
                fc = height_of(ynew[0], ynew[1], ynew[2], sphere_r)
                if abs(fc) < 1e-3:
                    break
                if fc > 0.0:
                    a_s, fa = c_s, fc
                    if side == 1:
                        fb *= 0.5
                    side = 1
                else:
                    b_s, fb = c_s, fc
                    if side == -1:
                        fa *= 0.5
                    side = -1
            hstep = c_s
            t_new = t + hstep
            impacted = True
        # grid outputs within (t, t_new]
        if dt_out > 0.0:
            j = int(math.ceil((t - t_out0) / dt_out - 1e-9))
            if j < 0:
                j = 0
            while j < nrec:
                tj = t_out0 + j * dt_out
                if tj > t_new + 1e-9:
                    break
                if tj >= t - 1e-9:
                    _hermite(y, f, ynew, fnew, hstep, (tj - t) / hstep if hstep > 0 else 1.0, ytmp)
                    for i in range(6):
                        rec[j, i] = ytmp[i]
                    if not (summ[O_REC_FIRST] <= j):  # NaN at first
                        summ[O_REC_FIRST] = j
                    if not (summ[O_REC_LAST] >= j):
                        summ[O_REC_LAST] = j
                j += 1
        for i in range(7):
            y[i] = ynew[i]
            f[i] = fnew[i]
        t = t_new
        h_old = h_new
        if impacted:
            return t, hstep, True
        if last:
            break
        fac = math.exp(_PI_EXPO1 * ln_en - _PI_BETA * ln_facold) * _PI_INV_SAFE  # h shrinks by this factor
        if h_acc > 0.0 and not in_air:
            fgus = (h_acc / hstep) * math.exp(0.2 * (2.0 * ln_en - ln_acc)) * _PI_INV_SAFE
            fgus = max(0.1, min(5.0, fgus))
            fac = max(fac, fgus)
        h_acc = hstep
        ln_acc = max(ln_en, _LN_1EM2)
        fac = max(0.1, min(5.0, fac))
        ln_facold = max(ln_en, _LN_1EM4)
        h_next = hstep / fac
        if rejected:
            h_next = min(h_next, hstep)
            rejected = False
        # recorded tracks are cubic Hermite between steps: shorter steps keep them on the orbit
        hstep = min(h_next, 120.0 if dt_out <= 0.0 else 30.0)
        if rd1 < 0.0 and h_new > 1.0e5 and cfg[C_DRAG] != 0.0:
            # descending toward the air: don't leap into it (each overshoot costs rejections)
            rdot = rd1 / math.sqrt(ynew[0] * ynew[0] + ynew[1] * ynew[1] + ynew[2] * ynew[2])
            hstep = min(hstep, max(1.0, 0.8 * (h_new - 8.0e4) / -rdot))
        if h_new < -1000.0:
            # fell through the ground without a clean crossing (failed lift-off)
            return t, hstep, True
    return t, hstep, False


@njit(cache=True)
def _fly_one(n, cfg, launch, stages, payload, guidance, summ, bo, imp, sep, rec, t_out0, dt_out):
    sphere_r = cfg[C_SPHERE_R]
    lat, lon, h0 = launch[n, 0], launch[n, 1], launch[n, 2]
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    if sphere_r > 0.0:
        rr = sphere_r + h0
        x0, y0, z0 = rr * cl * co, rr * cl * so, rr * sl
    else:
        e2 = WGS84_E2
        nn = WGS84_A_M / math.sqrt(1.0 - e2 * sl * sl)
        x0 = (nn + h0) * cl * co
        y0 = (nn + h0) * cl * so
        z0 = (nn * (1.0 - e2) + h0) * sl
    up0 = np.array([cl * co, cl * so, sl])
    east = np.array([-so, co, 0.0])
    north = np.array([-sl * co, -sl * so, cl])
    gd = guidance[n].copy()
    gd[G_COS_THETA] = math.cos(gd[G_THETA])
    gd[G_SIN_THETA] = math.sin(gd[G_THETA])
    azm = gd[G_AZ]
    dir0 = math.cos(azm) * north + math.sin(azm) * east
    w = cfg[C_OMEGA]
    m0 = payload[n, P_MASS]
    for s in range(MAX_STAGES):
        m0 += stages[n, s, S_PROP] + stages[n, s, S_DRY]
    y = np.array([x0, y0, z0, -w * y0, w * x0, 0.0, m0])
    f = np.zeros(7)
    work = np.zeros((11, 7))
    summ[O_APOGEE_H] = -1e30
    summ[O_NSTEPS] = 0.0
    summ[O_NREJECT] = 0.0
    summ[O_STATUS] = STATUS_FAILED
    t = 0.0
    hstep = 0.5
    t_cut = gd[G_TCUT]
    inv_beta = 1.0 / payload[n, P_BETA]
    cut = False
    t_bo = 0.0
    for s in range(MAX_STAGES):
        prop = stages[n, s, S_PROP]
        if prop <= 0.0 or cut:
            break
        thrust = stages[n, s, S_THRUST]
        mdot = thrust / (stages[n, s, S_ISP] * G0_MPS2)
        t_end = t + prop / mdot
        if t_end >= t_cut:
            t_end = t_cut
            cut = True
        # the pitch-program corners are step boundaries
        marks = (gd[G_TVERT], gd[G_TVERT] + gd[G_TPITCH], t_end)
        for tm in marks:
            if tm <= t or tm > t_end:
                continue
            deriv(t, y, f, cfg, thrust, stages[n, s, S_LOSS], mdot, stages[n, s, S_AREA], inv_beta, gd, up0, dir0)
            t, hstep, hit = _integrate(
                t, y, f, tm, hstep, cfg, thrust, stages[n, s, S_LOSS] * _INV_GAMMA_P0, mdot, stages[n, s, S_AREA],
                inv_beta, gd, up0, dir0, rec, t_out0, dt_out, summ, work, t > 5.0,
                cfg[C_RTOL_BOOST], cfg[C_ATOL_BOOST], cfg[C_ATOL_V_BOOST],
            )
            if hit:
                summ[O_STATUS] = STATUS_FAILED
                summ[O_T_IMPACT] = t
                return
        # staging: the spent stage separates
        sep[s, 0] = t
        for i in range(6):
            sep[s, 1 + i] = y[i]
        # what flies on: the payload and the stages above (exact, so no propellant residue
        # from the integration carries over; after a cutoff the next line is overridden)
        y[6] = payload[n, P_MASS] + _remaining(stages, n, s + 1)
        t_bo = t
    # burnout (or cutoff): the reentry vehicle flies on alone
    y[6] = payload[n, P_MASS]
    summ[O_T_BURNOUT] = t_bo
    bo[0] = t_bo
    for i in range(7):
        bo[1 + i] = y[i]
    _coast(t, y, max(hstep, 1.0), cfg, inv_beta, summ, imp, rec, t_out0, dt_out, work)


@njit(cache=True, inline="always")
def _is_orbital(y, cfg):
    """Perigee of the osculating orbit above cfg[C_ORBIT_H] (or escape): it will not come down."""
    rx, ry, rz, vx, vy, vz = y[0], y[1], y[2], y[3], y[4], y[5]
    rn = math.sqrt(rx * rx + ry * ry + rz * rz)
    energy = 0.5 * (vx * vx + vy * vy + vz * vz) - MU_EARTH_M3_S2 / rn
    if energy >= 0.0:
        return True
    sma = -MU_EARTH_M3_S2 / (2.0 * energy)
    hx = ry * vz - rz * vy
    hy = rz * vx - rx * vz
    hz = rx * vy - ry * vx
    ecc = math.sqrt(max(0.0, 1.0 - (hx * hx + hy * hy + hz * hz) / (MU_EARTH_M3_S2 * sma)))
    return sma * (1.0 - ecc) > WGS84_A_M + cfg[C_ORBIT_H]


@njit(cache=True)
def _coast(t, y, hstep, cfg, inv_beta, summ, imp, rec, t_out0, dt_out, work):
    """Unpowered flight from (t, y) to impact or cfg[C_TMAX]; fills summ and imp.

    A body already in orbit has STATUS_ORBITAL; it is flown on (to cfg[C_TMAX]) only when its
    track is being recorded.
    """
    orbital = _is_orbital(y, cfg)
    if orbital and dt_out <= 0.0:
        summ[O_STATUS] = STATUS_ORBITAL
        return
    f = np.zeros(7)
    gd = np.zeros(N_GUIDANCE_FIELDS)
    up0 = np.zeros(3)
    deriv(t, y, f, cfg, 0.0, 0.0, 0.0, 0.0, inv_beta, gd, up0, up0)
    t, hstep, hit = _integrate(
        t, y, f, cfg[C_TMAX], hstep, cfg, 0.0, 0.0, 0.0, 0.0, inv_beta, gd, up0, up0,
        rec, t_out0, dt_out, summ, work, True, cfg[C_RTOL], cfg[C_ATOL], cfg[C_ATOL_V],
    )
    if hit:
        summ[O_STATUS] = STATUS_IMPACT
        summ[O_T_IMPACT] = t
        for i in range(6):
            imp[i] = y[i]
    else:
        summ[O_STATUS] = STATUS_ORBITAL if orbital else STATUS_TIMEOUT


@njit(cache=True, parallel=True)
def coast_kernel(cfg, t0, state, beta, summary, impact, rec, t_out0, dt_out):
    """Free flight (and reentry) of N bodies from ECI states (N, 6) at times t0 (N,) to impact.

    beta (N,) is each body's ballistic coefficient (kg/m^2). Used for truth from a given
    burnout, for impact prediction from tracks, and for spent stages.
    """
    for n in prange(state.shape[0]):
        y = np.empty(7)
        for i in range(6):
            y[i] = state[n, i]
        y[6] = 1.0
        summ = summary[n]
        summ[O_APOGEE_H] = -1e30
        summ[O_NSTEPS] = 0.0
        summ[O_NREJECT] = 0.0
        summ[O_T_BURNOUT] = t0[n]
        work = np.zeros((11, 7))
        _coast(t0[n], y, 1.0, cfg, 1.0 / beta[n], summ, impact[n], rec[n], t_out0, dt_out, work)


@njit(cache=True)
def _remaining(stages, n, s0):
    """Mass of the stages from s0 up (propellant and structure)."""
    m = 0.0
    for s in range(s0, MAX_STAGES):
        m += stages[n, s, S_PROP] + stages[n, s, S_DRY]
    return m


@njit(cache=True, parallel=True)
def fly_kernel(cfg, launch, stages, payload, guidance, summary, burnout, impact, separation, rec, t_out0, dt_out):
    """Fly N trajectories; see ``flight.fly`` for the array layouts."""
    for n in prange(launch.shape[0]):
        _fly_one(
            n, cfg, launch, stages, payload, guidance, summary[n], burnout[n], impact[n],
            separation[n], rec[n], t_out0, dt_out,
        )
