"""US Standard Atmosphere 1976, 0 to 1000 km geometric altitude, for the flight kernels.

Sources: U.S. Standard Atmosphere, 1976 (NOAA-S/T 76-1562, NASA-TM-X-74335), through the
table ``bmdsim/data/us76_atmosphere.csv`` written by ``tools/make_atmosphere_table.py``:
0-81 km from ambiance (ICAO Standard Atmosphere 1993, identical to US76 there), 81-86 km from
the US76 lapse-rate equations, 86-1000 km from the US76 Table I pressures and densities with
hydrostatic interpolation along the US76 kinetic-temperature profile. That script's docstring
gives the details and the accuracy.

The table is read once at import. Lookups are O(1): the grid is two uniform segments (100 m
steps to 100 km, 2 km steps to 1000 km) and the row is ``int((h - h0) / dh)``. Density is
interpolated linearly in ln(rho), speed of sound linearly.

Outside the table:
- below 0 m the first table interval is continued down to -1 km (density with its scale
  height, 10.4 km; speed of sound with its slope, i.e. the tropospheric lapse rate) and both
  are held below -1 km;
- above 1000 km density falls with the density scale height of the top interval (262 km), so
  it stays positive and finite (it underflows to 0.0 only beyond ~190,000 km, or at +inf);
- speed of sound is held at its 86 km value (274.10 m/s) above 86 km: US76 defines none
  there, and in that free-molecular flow a Mach number only picks the hypersonic end of a
  drag curve (see the table script).
- a NaN altitude gives NaN.

Kernels ``density_kg_m3``, ``speed_of_sound_mps`` and ``density_and_sound_speed`` are numba
``njit`` scalar functions that other kernels can call; ``density`` and ``speed_of_sound`` are
their array wrappers for the edges. Numba freezes the table into every compiled kernel that
calls these, including their on-disk caches, and does not notice a new CSV: the table script
therefore deletes the numba cache files under src/bmdsim after writing a new table.
"""

from __future__ import annotations

import io
import math
from importlib import resources

import numpy as np
from numba import njit

_COLUMNS = ("altitude_m", "temperature_K", "pressure_Pa", "density_kg_m3", "speed_of_sound_mps")
_CSV_NAME = "us76_atmosphere.csv"
_REBUILD = "regenerate it with `.venv/bin/python tools/make_atmosphere_table.py`"

# Grid layout the kernels assume; checked against the file at import.
_DH_LOW_M = 100.0
_DH_HIGH_M = 2000.0
_H_BREAK_M = 100_000.0
_H_BOTTOM_M = 0.0
_H_TOP_M = 1_000_000.0
_H_FLOOR_M = -1000.0  # density is held below this


def _load_table():
    text = resources.files("bmdsim.data").joinpath(_CSV_NAME).read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    header = tuple(c.strip() for c in lines[0].split(","))
    if header != _COLUMNS:
        raise ValueError(
            f"bmdsim/data/{_CSV_NAME}: header is {','.join(header)!r}, expected "
            f"{','.join(_COLUMNS)!r}; {_REBUILD}"
        )
    data = np.loadtxt(io.StringIO("\n".join(lines[1:])), delimiter=",", dtype=np.float64, ndmin=2)
    z = data[:, 0]
    n_low = int(round((_H_BREAK_M - _H_BOTTOM_M) / _DH_LOW_M)) + 1
    n_high = int(round((_H_TOP_M - _H_BREAK_M) / _DH_HIGH_M))
    expected = np.concatenate([
        _H_BOTTOM_M + _DH_LOW_M * np.arange(n_low),
        _H_BREAK_M + _DH_HIGH_M * np.arange(1, n_high + 1),
    ])
    if z.shape != expected.shape or not np.allclose(z, expected, rtol=0.0, atol=1e-6):
        raise ValueError(
            f"bmdsim/data/{_CSV_NAME}: altitudes are not {_DH_LOW_M:g} m steps from "
            f"{_H_BOTTOM_M:g} to {_H_BREAK_M:g} m then {_DH_HIGH_M:g} m steps to {_H_TOP_M:g} m, "
            f"which the O(1) lookup needs; {_REBUILD}"
        )
    ok = np.all(np.isfinite(data)) and np.all(data[:, 1:] > 0.0) and np.all(np.diff(data[:, 3]) < 0.0)
    if not ok:
        raise ValueError(
            f"bmdsim/data/{_CSV_NAME}: values must be finite and positive and density must fall "
            f"with altitude; {_REBUILD}"
        )
    cols = []
    for k in range(data.shape[1]):
        c = np.ascontiguousarray(data[:, k])
        c.setflags(write=False)
        cols.append(c)
    return tuple(cols), n_low


(
    TABLE_ALTITUDE_M,
    TABLE_TEMPERATURE_K,
    TABLE_PRESSURE_PA,
    TABLE_DENSITY_KG_M3,
    TABLE_SPEED_OF_SOUND_MPS,
), _N_LOW = _load_table()

# Kernel globals: numba freezes these arrays and scalars into the compiled code.
_LN_RHO = np.log(TABLE_DENSITY_KG_M3)
_LN_RHO.setflags(write=False)
# Slopes of ln(rho) per metre at the nodes (centred differences; one-sided at the ends), for a
# cubic Hermite interpolant: ln(rho) is then continuous with its first derivative, so the drag
# force has no kinks at the 100 m nodes and adaptive integrators keep their long steps.
_DLN_RHO = np.empty_like(_LN_RHO)
_DLN_RHO[1:-1] = (_LN_RHO[2:] - _LN_RHO[:-2]) / (TABLE_ALTITUDE_M[2:] - TABLE_ALTITUDE_M[:-2])
_DLN_RHO[0] = (_LN_RHO[1] - _LN_RHO[0]) / (TABLE_ALTITUDE_M[1] - TABLE_ALTITUDE_M[0])
_DLN_RHO[-1] = (_LN_RHO[-1] - _LN_RHO[-2]) / (TABLE_ALTITUDE_M[-1] - TABLE_ALTITUDE_M[-2])
_DLN_RHO.setflags(write=False)
_A_MPS = TABLE_SPEED_OF_SOUND_MPS
_N = TABLE_ALTITUDE_M.shape[0]
_I_BREAK = _N_LOW - 1  # row of _H_BREAK_M
# Density scale heights of the first and the last table intervals, for extrapolation.
_H_SCALE_BOTTOM_M = _DH_LOW_M / (_LN_RHO[0] - _LN_RHO[1])
_H_SCALE_TOP_M = _DH_HIGH_M / (_LN_RHO[-2] - _LN_RHO[-1])


@njit(cache=True)
def density_and_sound_speed(h_m):
    """Density (kg/m^3) and speed of sound (m/s) at geometric altitude h_m (m); US Standard Atmosphere 1976.

    One table lookup for both; cubic Hermite (C1) in ln(density), linear in sound speed (module docstring
    for the sources and the behaviour outside 0-1000 km).
    """
    if h_m != h_m:
        return math.nan, math.nan
    if h_m < _H_BOTTOM_M:
        # The first interval continued down (same lapse rate, same scale height), then held.
        hc = max(h_m, _H_FLOOR_M)
        rho = math.exp(_LN_RHO[0] + (_H_BOTTOM_M - hc) / _H_SCALE_BOTTOM_M)
        return rho, _A_MPS[0] + (hc - _H_BOTTOM_M) / _DH_LOW_M * (_A_MPS[1] - _A_MPS[0])
    if h_m >= _H_TOP_M:
        return math.exp(_LN_RHO[_N - 1] - (h_m - _H_TOP_M) / _H_SCALE_TOP_M), _A_MPS[_N - 1]
    if h_m < _H_BREAK_M:
        x = (h_m - _H_BOTTOM_M) / _DH_LOW_M
        i = int(x)
        if i > _I_BREAK - 1:  # rounding just below the break
            i = _I_BREAK - 1
    else:
        x = (h_m - _H_BREAK_M) / _DH_HIGH_M
        i = int(x)
        if i > _N - 2 - _I_BREAK:  # rounding just below the top
            i = _N - 2 - _I_BREAK
        x += _I_BREAK
        i += _I_BREAK
    f = x - i
    dh = _DH_LOW_M if i < _I_BREAK else _DH_HIGH_M
    f2 = f * f
    f3 = f2 * f
    ln_rho = (
        (2.0 * f3 - 3.0 * f2 + 1.0) * _LN_RHO[i]
        + (f3 - 2.0 * f2 + f) * dh * _DLN_RHO[i]
        + (3.0 * f2 - 2.0 * f3) * _LN_RHO[i + 1]
        + (f3 - f2) * dh * _DLN_RHO[i + 1]
    )
    a = _A_MPS[i] + f * (_A_MPS[i + 1] - _A_MPS[i])
    return math.exp(ln_rho), a


@njit(cache=True)
def density_kg_m3(h_m):
    """Air density (kg/m^3) at geometric altitude h_m (m); US Standard Atmosphere 1976."""
    return density_and_sound_speed(h_m)[0]


@njit(cache=True)
def speed_of_sound_mps(h_m):
    """Speed of sound (m/s) at geometric altitude h_m (m); US76 below 86 km, held above."""
    return density_and_sound_speed(h_m)[1]


@njit(cache=True)
def _fill(h_flat, rho_out, a_out):
    for k in range(h_flat.shape[0]):
        rho_out[k], a_out[k] = density_and_sound_speed(h_flat[k])


def _both(h_m):
    h = np.asarray(h_m, dtype=np.float64)
    flat = np.ascontiguousarray(h).reshape(-1)
    rho = np.empty_like(flat)
    a = np.empty_like(flat)
    _fill(flat, rho, a)
    return rho.reshape(h.shape), a.reshape(h.shape)


def density(h_m):
    """Air density (kg/m^3) at geometric altitudes h_m (m), any shape; US Standard Atmosphere 1976.

    Same numbers as ``density_kg_m3`` element by element.
    """
    return _both(h_m)[0]


def speed_of_sound(h_m):
    """Speed of sound (m/s) at geometric altitudes h_m (m), any shape; US76, held above 86 km."""
    return _both(h_m)[1]
