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
1980; step control as in Hairer, Norsett & Wanner, *Solving ODEs I*, II.4). Every discontinuity
(pitch-program corners, staging, cutoff) is a step boundary. Impact is the root of the height
above the ellipsoid (or sphere), found by secant (Illinois) iteration on exact RK steps to 1 mm.
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
    C_RTOL_BOOST, C_ATOL_BOOST, C_ATOL_V, C_ATOL_V_BOOST,
) = range(12)
N_CFG = 12
# Layout of ``summary[n, :]``
O_STATUS, O_T_BURNOUT, O_T_IMPACT, O_APOGEE_H, O_T_APOGEE, O_NSTEPS, O_NREJECT = range(7)
N_SUMMARY = 7

STATUS_IMPACT = 0
STATUS_ORBITAL = 1
STATUS_TIMEOUT = 2
STATUS_FAILED = 3

_PI_BETA = 0.04
_PI_EXPO1 = 0.2 - 0.75 * _PI_BETA
_PI_SAFE = 0.9

_P0_PA = 101325.0
_GAMMA_AIR = 1.4

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
def deriv(t, y, f, cfg, thrust_vac, thrust_loss, mdot, area, inv_beta, gd, up0, dir0):
    """Time derivative of the state y = (r, v, m) into f.

    thrust_vac > 0 means a motor burns (drag from C_D(M) * area); otherwise the body coasts and
    drag uses inv_beta = 1 / beta. gd is the guidance row, up0/dir0 the launch vertical and the
    horizontal unit vector toward the launch azimuth (ECI).
    """
    x, yy, z = y[0], y[1], y[2]
    vx, vy, vz = y[3], y[4], y[5]
    m = y[6]
    # one division and one square root for the whole gravity field (latency-bound chain)
    r2 = x * x + yy * yy + z * z
    inv_r2 = 1.0 / r2
    inv_r = math.sqrt(inv_r2)
    r = r2 * inv_r
    mu_r3 = MU_EARTH_M3_S2 * inv_r2 * inv_r
    ax = -mu_r3 * x
    ay = -mu_r3 * yy
    az = -mu_r3 * z
    if cfg[C_J2] != 0.0:
        k = 1.5 * J2_EARTH * (WGS84_A_M * WGS84_A_M) * inv_r2
        zr2 = 5.0 * z * z * inv_r2
        ax += -mu_r3 * x * k * (1.0 - zr2)
        ay += -mu_r3 * yy * k * (1.0 - zr2)
        az += -mu_r3 * z * k * (3.0 - zr2)
    dm = 0.0
    h = -1.0
    rho = 0.0
    snd = 340.0
    if cfg[C_DRAG] != 0.0 and r < WGS84_A_M + 1.0e6:
        h = _height_for_air(x, yy, z, r, inv_r2, cfg[C_SPHERE_R])
        if h < 1.0e6:
            rho, snd = density_and_sound_speed(h)
    if thrust_vac > 0.0:
        thrust = thrust_vac
        if rho > 0.0:
            p = rho * snd * snd / _GAMMA_AIR
            thrust = thrust_vac - thrust_loss * p / _P0_PA
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
        a_t = thrust * inv_m
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
        q = 0.5 * rho * vrel * k_d
        ax -= q * rx
        ay -= q * ry
        az -= q * rz
    f[0] = vx
    f[1] = vy
    f[2] = vz
    f[3] = ax
    f[4] = ay
    f[5] = az
    f[6] = dm


@njit(cache=True, inline="always")
def rk_step(t, y, f0, hstep, k, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0):
    """One Dormand-Prince step of size hstep from (t, y) with f0 = f(t, y).

    Writes the 5th-order solution to ynew, its derivative to k[6] (first-same-as-last), and the
    embedded error estimate to err.
    """
    n = 7
    tmp = k[5]  # scratch row, overwritten in order below
    for i in range(n):
        tmp[i] = y[i] + hstep * _A21 * f0[i]
    deriv(t + _C2 * hstep, tmp, k[0], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        tmp[i] = y[i] + hstep * (_A31 * f0[i] + _A32 * k[0, i])
    deriv(t + _C3 * hstep, tmp, k[1], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        tmp[i] = y[i] + hstep * (_A41 * f0[i] + _A42 * k[0, i] + _A43 * k[1, i])
    deriv(t + _C4 * hstep, tmp, k[2], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        tmp[i] = y[i] + hstep * (_A51 * f0[i] + _A52 * k[0, i] + _A53 * k[1, i] + _A54 * k[2, i])
    deriv(t + _C5 * hstep, tmp, k[3], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        tmp[i] = y[i] + hstep * (
            _A61 * f0[i] + _A62 * k[0, i] + _A63 * k[1, i] + _A64 * k[2, i] + _A65 * k[3, i]
        )
    deriv(t + hstep, tmp, k[4], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        ynew[i] = y[i] + hstep * (_B1 * f0[i] + _B3 * k[1, i] + _B4 * k[2, i] + _B5 * k[3, i] + _B6 * k[4, i])
    deriv(t + hstep, ynew, k[6], cfg, tv, tl, md, ar, ib, gd, up0, dir0)
    for i in range(n):
        err[i] = hstep * (
            _E1 * f0[i] + _E3 * k[1, i] + _E4 * k[2, i] + _E5 * k[3, i] + _E6 * k[4, i] + _E7 * k[6, i]
        )


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
    k = work[0:7]
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
    facold = 1e-4
    rejected = False
    while t < t_end:
        last = False
        if t + hstep >= t_end:
            hstep = t_end - t
            last = True
        rk_step(t, y, f, hstep, k, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
        en = _error_norm(err, y, ynew, rtol, atol, atol_v)
        fac11 = en ** _PI_EXPO1
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
                _hermite(y, f, ynew, k[6], hstep, mid, ytmp)
                if ytmp[0] * ytmp[3] + ytmp[1] * ytmp[4] + ytmp[2] * ytmp[5] > 0.0:
                    lo = mid
                else:
                    hi = mid
            _hermite(y, f, ynew, k[6], hstep, 0.5 * (lo + hi), ytmp)
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
                rk_step(t, y, f, c_s, k, ynew, err, cfg, tv, tl, md, ar, ib, gd, up0, dir0)
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
                    _hermite(y, f, ynew, k[6], hstep, (tj - t) / hstep if hstep > 0 else 1.0, ytmp)
                    for i in range(6):
                        rec[j, i] = ytmp[i]
                j += 1
        for i in range(7):
            y[i] = ynew[i]
            f[i] = k[6, i]
        t = t_new
        h_old = h_new
        if impacted:
            return t, hstep, True
        if last:
            break
        fac = fac11 / facold**_PI_BETA / _PI_SAFE  # h shrinks by this factor
        fac = max(0.1, min(5.0, fac))
        facold = max(en, 1e-4)
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
                t, y, f, tm, hstep, cfg, thrust, stages[n, s, S_LOSS], mdot, stages[n, s, S_AREA],
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
