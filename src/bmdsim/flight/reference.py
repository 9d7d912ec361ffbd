"""A reference integrator: the kernel's own equations of motion under scipy's solve_ivp.

Used as the second method in cross-checks (tests) and as the baseline of
``benchmarks/trajectories.py``. Slow (a Python call per derivative): one trajectory at a time.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp


def fly_scipy(cfg, lat_deg, lon_deg, stages, payload, gd, rtol, atol):
    """One trajectory with solve_ivp (DOP853), segment by segment as the kernel does it.

    Arguments are one row of the kernel's arrays; returns (t_impact_s, r_impact_eci_m).
    """
    from bmdsim.constants import G0_MPS2, WGS84_A_M, WGS84_E2
    from bmdsim.flight import kernel as K

    if cfg[K.C_SPHERE_R] > 0:
        raise ValueError("the reference integrator launches from the ellipsoid only")
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    nn = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sl * sl)
    r0 = np.array([nn * cl * co, nn * cl * so, nn * (1.0 - WGS84_E2) * sl])
    up0 = np.array([cl * co, cl * so, sl])
    east = np.array([-so, co, 0.0])
    north = np.array([-sl * co, -sl * so, cl])
    dir0 = math.cos(gd[K.G_AZ]) * north + math.sin(gd[K.G_AZ]) * east
    w = cfg[K.C_OMEGA]
    m0 = payload[K.P_MASS] + stages[:, K.S_PROP].sum() + stages[:, K.S_DRY].sum()
    y = np.array([r0[0], r0[1], r0[2], -w * r0[1], w * r0[0], 0.0, m0])
    inv_beta = 1.0 / payload[K.P_BETA]
    t = 0.0

    def rhs_factory(thrust, loss, mdot, area):
        def rhs(tt, yy):
            f = np.empty(7)
            K.deriv(tt, yy, f, cfg, thrust, loss, mdot, area, inv_beta, gd, up0, dir0)
            return f

        return rhs

    for s in range(K.MAX_STAGES):
        prop = stages[s, K.S_PROP]
        if prop <= 0:
            break
        thrust = stages[s, K.S_THRUST]
        mdot = thrust / (stages[s, K.S_ISP] * G0_MPS2)
        t_end = t + prop / mdot
        cut = t_end >= gd[K.G_TCUT]
        if cut:
            t_end = gd[K.G_TCUT]
        rhs = rhs_factory(thrust, stages[s, K.S_LOSS], mdot, stages[s, K.S_AREA])
        for tm in (gd[K.G_TVERT], gd[K.G_TVERT] + gd[K.G_TPITCH], t_end):
            if tm <= t or tm > t_end:
                continue
            sol = solve_ivp(rhs, (t, tm), y, method="DOP853", rtol=rtol, atol=atol)
            y = sol.y[:, -1].copy()
            t = tm
        y[6] = payload[K.P_MASS] + stages[s + 1 :, K.S_PROP].sum() + stages[s + 1 :, K.S_DRY].sum()
        if cut:
            break
    y[6] = payload[K.P_MASS]
    rhs = rhs_factory(0.0, 0.0, 0.0, 0.0)
    sphere_r = cfg[K.C_SPHERE_R]

    def hit(tt, yy):
        return K.height_of(yy[0], yy[1], yy[2], sphere_r)

    hit.terminal = True
    hit.direction = -1
    sol = solve_ivp(rhs, (t, cfg[K.C_TMAX]), y, method="DOP853", rtol=rtol, atol=atol, events=hit)
    t_imp = float(sol.t_events[0][0])
    r_imp = sol.y_events[0][0][:3]
    return t_imp, r_imp


def impact_ecef(t_s, r_eci, omega):
    th = omega * t_s
    c, s = math.cos(th), math.sin(th)
    return np.array([c * r_eci[0] + s * r_eci[1], -s * r_eci[0] + c * r_eci[1], r_eci[2]])
