"""Write src/bmdsim/data/us76_atmosphere.csv: the US Standard Atmosphere 1976, 0 to 1000 km.

Build-time only: run it as ``.venv/bin/python tools/make_atmosphere_table.py`` after changing
anything here, and commit the CSV it writes. The runtime (bmdsim.earth.atmosphere) reads the
CSV and never imports ambiance.

Sources
-------
[US76]  U.S. Standard Atmosphere, 1976. NOAA-S/T 76-1562, NASA-TM-X-74335, U.S. Government
        Printing Office, Washington D.C., October 1976.
[AMB]   ambiance 1.3 (A. Dettmann), the ICAO Standard Atmosphere 1993, which is identical to
        [US76] from 0 to 80 km (ICAO Doc 7488/3); valid to 81,020 m.

How each altitude band is made
------------------------------
0 - 81 km     [AMB] at every grid altitude.
81 - 86 km    [US76] lower-atmosphere equations continued from the [AMB] state at 81 km: molecular-scale
              temperature T_M falls at 2.0 K/km' of geopotential altitude up to H = 84.852 km'
              (Z = 86 km), pressure follows the lapse-rate barometric equation, density is
              p M0 / (R* T_M). The kinetic temperature is T_M (M/M0) with the M/M0 ratios
              [US76] tabulates for 80-86 km. The ln p mismatch to the published 86 km pressure (0.01 %) is
              spread linearly over 81-86 km so the profile is continuous.
86 - 1000 km  [US76] Table I pressure and density at 20 levels: the 16 levels used by the
              "Unofficial Australian Standard Atmosphere 2000" and reproduced widely, plus 90, 95, 110 and 120 km, where the mean molecular weight bends as
              atomic oxygen appears. Between levels the pressure is integrated
              hydrostatically, d ln p / dZ = -g M / (R* T), with the defining kinetic
              temperature profile of [US76] (closed forms: 186.8673 K to 91 km, elliptical to
              110 km, +12 K/km to 120 km, exponential to 1000 K), g = g0 (r0/(r0+Z))^2,
              and M = rho R* T / p interpolated between the levels by a monotone cubic
              (PCHIP). The ln p mismatch at the next level (printed; at most 1 %, at 95-100 km,
              where [US76]'s own O flux terms make the total pressure non-hydrostatic) is
              spread linearly over the interval, so every published level is reproduced
              exactly. Density is p M / (R* T). This follows the curvature of ln rho set by
              T(Z), which plain log-linear interpolation between the levels would miss by up
              to 7 % (at 140 km). Held-out [US76] values at 91, 140, 180, 350 and 450 km are
              reproduced within 0.35 % (tests/earth/test_atmosphere.py).

Speed of sound above 86 km
--------------------------
[US76] defines the speed of sound only below 86 km, as sqrt(gamma R* T_M / M0). Above, this
table holds it at the 86 km value, 274.10 m/s. Reason: above ~90 km the mean free path
(0.02 m at 90 km, 3 m at 120 km, hundreds of metres above 200 km) reaches the size of a missile,
the flow is transitional to free-molecular and a continuum Mach number describes nothing; for
drag it only has to select the hypersonic end of the drag curve, which any re-entry or boost
speed (> 1 km/s, i.e. Mach > 3.6) does with either convention. Holding it constant keeps Mach
monotone in speed at every altitude and needs no choice of gamma for a partly atomic gas.
Computing sqrt(gamma R* T / M) with the kinetic T and falling M instead would give ~550 m/s
at 150 km and ~1.7 km/s at 1000 km (with gamma = 5/3 for the atomic gas it would be higher
still); those are not measured quantities in [US76] either.

Grid
----
Two uniform segments so the runtime finds the row with index = int(h / dh):
0 - 100 km every 100 m (log-linear density within 0.1 % of [AMB], linear sound speed within
0.07 m/s even across the lapse-rate kinks), then 100 - 1000 km every 2 km.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from ambiance import Atmosphere
from scipy.interpolate import PchipInterpolator

ROOT = Path(__file__).resolve().parents[1]
OUT_CSV = ROOT / "src" / "bmdsim" / "data" / "us76_atmosphere.csv"
RUNTIME_MODULE = ROOT / "src" / "bmdsim" / "earth" / "atmosphere.py"

# [US76] constants.
G0_MPS2 = 9.80665
R_STAR_J_KMOL_K = 8314.32
M0_KG_KMOL = 28.9644
R0_M = 6356766.0  # effective Earth radius for geopotential altitude
GAMMA = 1.4

# Grid (see module docstring).
H_BREAK_M = 100_000.0
DH_LOW_M = 100.0
DH_HIGH_M = 2_000.0
H_TOP_M = 1_000_000.0
H_AMBIANCE_MAX_M = 81_000.0
H_86_M = 86_000.0

# [US76]: M/M0 from 80 to 86 km geometric, every 0.5 km.
M_RATIO_Z_M = np.arange(80_000.0, 86_001.0, 500.0)
M_RATIO = np.array([
    1.000000, 0.999996, 0.999989, 0.999971, 0.999941, 0.999909, 0.999870,
    0.999829, 0.999786, 0.999741, 0.999694, 0.999641, 0.999579,
])

# [US76] Table I, geometric altitude (km), pressure (Pa), density (kg/m^3): the 16 levels of
# UASA 2000 plus 90, 95, 110 and 120 km, where the mean molecular weight bends (O appears).
US76_LEVELS = np.array([
    # Z_km, p_Pa, rho_kg_m3
    [86.0, 3.7338e-1, 6.958e-6],
    [90.0, 1.8359e-1, 3.416e-6],
    [95.0, 7.5966e-2, 1.393e-6],
    [100.0, 3.2011e-2, 5.604e-7],
    [110.0, 7.1042e-3, 9.708e-8],
    [115.0, 4.0096e-3, 4.289e-8],
    [120.0, 2.5382e-3, 2.222e-8],
    [130.0, 1.2505e-3, 8.152e-9],
    [150.0, 4.5422e-4, 2.076e-9],
    [175.0, 1.7936e-4, 6.339e-10],
    [200.0, 8.4736e-5, 2.541e-10],
    [250.0, 2.4767e-5, 6.073e-11],
    [300.0, 8.7704e-6, 1.916e-11],
    [400.0, 1.4518e-6, 2.803e-12],
    [500.0, 3.0236e-7, 5.215e-13],
    [600.0, 8.2130e-8, 1.137e-13],
    [700.0, 3.1908e-8, 3.070e-14],
    [800.0, 1.7036e-8, 1.136e-14],
    [900.0, 1.0873e-8, 5.759e-15],
    [1000.0, 7.5138e-9, 3.561e-15],
])

# [US76] Table I at a level not used to build the table (91 km): printed as a check.
US76_CHECK_RHO = {91.0: 2.860e-6}


def geopotential_m(z_m):
    """Geopotential altitude H = r0 Z / (r0 + Z) ([US76])."""
    return R0_M * z_m / (R0_M + z_m)


def kinetic_temperature_k(z_m):
    """[US76] kinetic temperature above 86 km (geometric Z in metres)."""
    z_km = np.asarray(z_m, dtype=float) / 1000.0
    t = np.empty_like(z_km)
    r0_km = R0_M / 1000.0
    a = z_km < 91.0
    t[a] = 186.8673
    b = (z_km >= 91.0) & (z_km < 110.0)
    t[b] = 263.1905 - 76.3232 * np.sqrt(1.0 - ((z_km[b] - 91.0) / -19.9429) ** 2)
    c = (z_km >= 110.0) & (z_km < 120.0)
    t[c] = 240.0 + 12.0 * (z_km[c] - 110.0)
    d = z_km >= 120.0
    xi = (z_km[d] - 120.0) * (r0_km + 120.0) / (r0_km + z_km[d])
    t[d] = 1000.0 - 640.0 * np.exp(-0.01875 * xi)
    return t


def gravity_mps2(z_m):
    """[US76] gravity at geometric altitude Z: g0 (r0 / (r0 + Z))^2."""
    return G0_MPS2 * (R0_M / (R0_M + z_m)) ** 2


def lower_band(z_m):
    """0 - 81 km from ambiance: (T_K, p_Pa, rho, a_mps)."""
    atm = Atmosphere(z_m)
    return atm.temperature, atm.pressure, atm.density, atm.speed_of_sound


def bridge_band(z_m):
    """81 - 86 km: [US76] layer 71-84.852 km' continued from the ambiance state at 81 km."""
    t81, p81, _, _ = (float(v[0]) for v in lower_band(np.array([H_AMBIANCE_MAX_M])))
    lapse = -2.0e-3  # K/m' ([US76] Table 4)
    h81 = geopotential_m(H_AMBIANCE_MAX_M)
    h = geopotential_m(z_m)
    tm = t81 + lapse * (h - h81)
    ln_p = math.log(p81) - G0_MPS2 * M0_KG_KMOL / (R_STAR_J_KMOL_K * lapse) * np.log(tm / t81)
    # Pin to the published 86 km pressure; the mismatch is rounding in Table I.
    tm86 = t81 + lapse * (geopotential_m(H_86_M) - h81)
    ln_p86 = math.log(p81) - G0_MPS2 * M0_KG_KMOL / (R_STAR_J_KMOL_K * lapse) * math.log(tm86 / t81)
    mismatch = math.log(US76_LEVELS[0, 1]) - ln_p86
    frac = (z_m - H_AMBIANCE_MAX_M) / (H_86_M - H_AMBIANCE_MAX_M)
    p = np.exp(ln_p + mismatch * frac)
    rho = p * M0_KG_KMOL / (R_STAR_J_KMOL_K * tm)
    a = np.sqrt(GAMMA * R_STAR_J_KMOL_K * tm / M0_KG_KMOL)
    return tm, p, rho, a, mismatch


def upper_band(z_m, step_m=10.0):
    """86 - 1000 km: hydrostatic interpolation between the [US76] Table I levels."""
    lev_z_m = US76_LEVELS[:, 0] * 1000.0
    lev_p = US76_LEVELS[:, 1]
    lev_rho = US76_LEVELS[:, 2]
    lev_m = lev_rho * R_STAR_J_KMOL_K * kinetic_temperature_k(lev_z_m) / lev_p
    # Shape-preserving (monotone) cubic in M: M falls smoothly as O, then He, take over.
    m_of_z = PchipInterpolator(lev_z_m, lev_m)
    ln_p_out = np.full(np.shape(z_m), np.nan)
    mismatches = []
    for i in range(len(lev_z_m) - 1):
        za, zb = lev_z_m[i], lev_z_m[i + 1]
        n = int(round((zb - za) / step_m))
        zf = np.linspace(za, zb, n + 1)
        m = m_of_z(zf)
        f = gravity_mps2(zf) * m / (R_STAR_J_KMOL_K * kinetic_temperature_k(zf))
        # cumulative trapezoid of d ln p / dZ
        steps = 0.5 * (f[1:] + f[:-1]) * np.diff(zf)
        ln_p = math.log(lev_p[i]) - np.concatenate([[0.0], np.cumsum(steps)])
        mismatch = math.log(lev_p[i + 1]) - ln_p[-1]
        mismatches.append((za / 1000.0, zb / 1000.0, mismatch))
        ln_p += mismatch * (zf - za) / (zb - za)
        sel = (z_m >= za) & (z_m <= zb)
        ln_p_out[sel] = np.interp(z_m[sel], zf, ln_p)
    t = kinetic_temperature_k(z_m)
    p = np.exp(ln_p_out)
    m = m_of_z(z_m)
    rho = p * m / (R_STAR_J_KMOL_K * t)
    return t, p, rho, mismatches


def build():
    """The whole table: (z_m, T_K, p_Pa, rho, a_mps) and a list of diagnostics lines."""
    z = np.concatenate([
        np.arange(0.0, H_BREAK_M + 0.5 * DH_LOW_M, DH_LOW_M),
        np.arange(H_BREAK_M + DH_HIGH_M, H_TOP_M + 0.5 * DH_HIGH_M, DH_HIGH_M),
    ])
    t = np.empty_like(z)
    p = np.empty_like(z)
    rho = np.empty_like(z)
    a = np.empty_like(z)

    low = z <= H_AMBIANCE_MAX_M
    t[low], p[low], rho[low], a[low] = lower_band(z[low])

    mid = (z > H_AMBIANCE_MAX_M) & (z < H_86_M)
    t_m, p[mid], rho[mid], a[mid], bridge_mismatch = bridge_band(z[mid])
    t[mid] = t_m

    # Kinetic temperature T = T_M M/M0 over 80-86 km ([US76] M/M0 ratios).
    top = (z >= 80_000.0) & (z < H_86_M)
    t[top] *= np.interp(z[top], M_RATIO_Z_M, M_RATIO)

    up = z >= H_86_M
    t[up], p[up], rho[up], mismatches = upper_band(z[up])
    a86 = math.sqrt(GAMMA * R_STAR_J_KMOL_K * kinetic_temperature_k(np.array([H_86_M]))[0]
                    / (M0_KG_KMOL * M_RATIO[-1]))
    a[up] = a86

    notes = [f"81-86 km bridge: ln p mismatch at 86 km {bridge_mismatch:+.2e}"]
    for za, zb, mm in mismatches:
        notes.append(f"{za:6.0f}-{zb:6.0f} km: hydrostatic ln p mismatch {mm:+.2e}")
    # What plain log-linear interpolation between the published levels would have given.
    lev_z = US76_LEVELS[:, 0] * 1000.0
    naive = np.exp(np.interp(z[up], lev_z, np.log(US76_LEVELS[:, 2])))
    worst = np.argmax(np.abs(naive / rho[up] - 1.0))
    err = (naive[worst] / rho[up][worst] - 1) * 100
    notes.append(f"log-linear between levels instead: worst {err:+.1f} % at {z[up][worst] / 1000:.0f} km")
    for z_km, rho_pub in US76_CHECK_RHO.items():
        got = np.interp(z_km * 1000.0, z, np.log(rho))
        notes.append(f"check {z_km:6.1f} km: rho {math.exp(got):.4e} vs Table I {rho_pub:.3e} "
                     f"({(math.exp(got) / rho_pub - 1) * 100:+.2f} %)")
    return z, t, p, rho, a, notes


HEADER = """\
# US Standard Atmosphere 1976, geometric altitude 0 - 1000 km.
# Generated by tools/make_atmosphere_table.py (its docstring has the method); do not edit.
# Sources: U.S. Standard Atmosphere, 1976, NOAA-S/T 76-1562 / NASA-TM-X-74335 (US76).
#   0-81 km: ambiance 1.3 (ICAO Standard Atmosphere 1993, identical to US76 below 80 km).
#   81-86 km: US76 lapse-rate equations continued from 81 km; kinetic T = T_M M/M0 (US76).
#   86-1000 km: US76 Table I p and rho at 20 levels, hydrostatic interpolation along the
#   US76 kinetic temperature profile.
# Speed of sound above 86 km is held at the 86 km value (US76 defines it only below 86 km).
# Grid: 100 m steps to 100 km, then 2 km steps. Temperature is the kinetic temperature.
altitude_m,temperature_K,pressure_Pa,density_kg_m3,speed_of_sound_mps
"""


def main():
    z, t, p, rho, a, notes = build()
    assert np.all(np.isfinite(rho)) and np.all(np.diff(rho) < 0.0), "density must fall with altitude"
    lines = [HEADER.rstrip("\n")]
    for row in zip(z, t, p, rho, a):
        lines.append(f"{row[0]:.1f},{row[1]:.4f},{row[2]:.8e},{row[3]:.8e},{row[4]:.4f}")
    OUT_CSV.parent.mkdir(parents=True, exist_ok=True)
    OUT_CSV.write_text("\n".join(lines) + "\n")
    # Numba froze the old table into every cached kernel that calls the atmosphere (its cache
    # only tracks each kernel's own source file): drop those caches; they rebuild on next use.
    stale = list((ROOT / "src" / "bmdsim").rglob("__pycache__/*.nb[ic]"))
    for f in stale:
        f.unlink()
    if RUNTIME_MODULE.exists():
        os.utime(RUNTIME_MODULE)
    print(f"wrote {OUT_CSV.relative_to(ROOT)}: {len(z)} rows; removed {len(stale)} numba cache files")
    for line in notes:
        print("  " + line)


if __name__ == "__main__":
    main()
