"""Reference frames on the WGS-84 Earth: geodetic, ECEF, ECI, ENU.

ECI here is the inertial frame that coincides with ECEF at the scenario epoch (t = 0) and
does not rotate: the Earth turns under it about z at OMEGA_EARTH_RAD_S. Nothing in bmdsim
needs sidereal time or precession, so the frame is pinned to the epoch instead of to the stars.

Kernels are numba ``njit`` scalar functions (usable inside other kernels) with array wrappers
that broadcast over leading axes, state on the last axis.

Geodetic from ECEF: the closed form of H. Vermeille, "Direct transformation from geocentric
coordinates to geodetic coordinates", Journal of Geodesy 76 (2002) 451-454; exact (no
iteration) everywhere outside a small region around the Earth's centre.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bmdsim.constants import OMEGA_EARTH_RAD_S, WGS84_A_M, WGS84_E2

_A = WGS84_A_M
_E2 = WGS84_E2
_E4 = WGS84_E2 * WGS84_E2


@njit(cache=True, fastmath=False)
def geodetic_to_ecef_1(lat_rad, lon_rad, h_m):
    """Geodetic latitude, longitude (rad), ellipsoidal height (m) to ECEF (m)."""
    s = math.sin(lat_rad)
    c = math.cos(lat_rad)
    n = _A / math.sqrt(1.0 - _E2 * s * s)
    x = (n + h_m) * c * math.cos(lon_rad)
    y = (n + h_m) * c * math.sin(lon_rad)
    z = (n * (1.0 - _E2) + h_m) * s
    return x, y, z


@njit(cache=True, fastmath=False)
def ecef_to_geodetic_1(x, y, z):
    """ECEF (m) to geodetic latitude, longitude (rad) and height (m); Vermeille (2002)."""
    rho2 = x * x + y * y
    p = rho2 / (_A * _A)
    q = (1.0 - _E2) / (_A * _A) * z * z
    r = (p + q - _E4) / 6.0
    s = _E4 * p * q / (4.0 * r * r * r)
    t = (1.0 + s + math.sqrt(s * (2.0 + s))) ** (1.0 / 3.0)
    u = r * (1.0 + t + 1.0 / t)
    v = math.sqrt(u * u + _E4 * q)
    w = _E2 * (u + v - q) / (2.0 * v)
    k = math.sqrt(u + v + w * w) - w
    rho = math.sqrt(rho2)
    d = k * rho / (k + _E2)
    dz = math.sqrt(d * d + z * z)
    lat = 2.0 * math.atan2(z, d + dz)
    h = (k + _E2 - 1.0) / k * dz
    lon = math.atan2(y, x)
    return lat, lon, h


@njit(cache=True, fastmath=False)
def height_m_1(x, y, z):
    """Height above the WGS-84 ellipsoid (m) of an ECEF point; the cheap half of Vermeille."""
    rho2 = x * x + y * y
    p = rho2 / (_A * _A)
    q = (1.0 - _E2) / (_A * _A) * z * z
    r = (p + q - _E4) / 6.0
    s = _E4 * p * q / (4.0 * r * r * r)
    t = (1.0 + s + math.sqrt(s * (2.0 + s))) ** (1.0 / 3.0)
    u = r * (1.0 + t + 1.0 / t)
    v = math.sqrt(u * u + _E4 * q)
    w = _E2 * (u + v - q) / (2.0 * v)
    k = math.sqrt(u + v + w * w) - w
    d = k * math.sqrt(rho2) / (k + _E2)
    return (k + _E2 - 1.0) / k * math.sqrt(d * d + z * z)


@njit(cache=True)
def eci_to_ecef_pos_1(x, y, z, t_s):
    """Rotate an ECI position into ECEF at time t_s after the epoch."""
    th = OMEGA_EARTH_RAD_S * t_s
    c = math.cos(th)
    s = math.sin(th)
    return c * x + s * y, -s * x + c * y, z


@njit(cache=True)
def ecef_to_eci_pos_1(x, y, z, t_s):
    """Rotate an ECEF position into ECI at time t_s after the epoch."""
    th = OMEGA_EARTH_RAD_S * t_s
    c = math.cos(th)
    s = math.sin(th)
    return c * x - s * y, s * x + c * y, z


# ---------------------------------------------------------------- array wrappers (edges)

def geodetic_to_ecef(lat_deg, lon_deg, h_m=0.0):
    """Arrays of geodetic degrees and metres to ECEF positions, shape (..., 3)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    h = np.asarray(h_m, dtype=float)
    lat, lon, h = np.broadcast_arrays(lat, lon, h)
    s = np.sin(lat)
    n = _A / np.sqrt(1.0 - _E2 * s * s)
    return np.stack(
        [(n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon), (n * (1.0 - _E2) + h) * s],
        axis=-1,
    )


def ecef_to_geodetic(r_ecef_m):
    """ECEF positions (..., 3) to (lat_deg, lon_deg, h_m) arrays; Vermeille (2002)."""
    r = np.asarray(r_ecef_m, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    rho2 = x * x + y * y
    p = rho2 / (_A * _A)
    q = (1.0 - _E2) / (_A * _A) * z * z
    rr = (p + q - _E4) / 6.0
    s = _E4 * p * q / (4.0 * rr**3)
    t = np.cbrt(1.0 + s + np.sqrt(s * (2.0 + s)))
    u = rr * (1.0 + t + 1.0 / t)
    v = np.sqrt(u * u + _E4 * q)
    w = _E2 * (u + v - q) / (2.0 * v)
    k = np.sqrt(u + v + w * w) - w
    d = k * np.sqrt(rho2) / (k + _E2)
    dz = np.sqrt(d * d + z * z)
    lat = 2.0 * np.arctan2(z, d + dz)
    h = (k + _E2 - 1.0) / k * dz
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), h


def rotation_eci_to_ecef(t_s):
    """Rotation matrices (..., 3, 3) taking ECI vectors to ECEF at times t_s."""
    th = OMEGA_EARTH_RAD_S * np.asarray(t_s, dtype=float)
    c, s = np.cos(th), np.sin(th)
    z, o = np.zeros_like(th), np.ones_like(th)
    return np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1), np.stack([z, z, o], -1)], -2)


@njit(cache=True)
def _rotate_to_ecef(r, v, c, s, out, with_omega):
    """out = R(t) (v - omega x r) (with_omega) or R(t) r, on (A, B, 3) arrays with c, s (A, B).

    The arithmetic is the one the einsum/cross formulation of `eci_to_ecef` performs, term by
    term (including the products with the zero entries of R and omega), so results are bitwise
    the same, signed zeros included: row i of R is (R_i0, R_i1, R_i2) and einsum sums
    0 + ((R_i0 x + R_i2 z) + R_i1 y); omega x r = (0 z - w y, w x - 0 z, 0 y - 0 x) as np.cross
    computes it.
    """
    w = OMEGA_EARTH_RAD_S
    for a in range(out.shape[0]):
        for b in range(out.shape[1]):
            cc = c[a, b]
            ss = s[a, b]
            ms = -ss
            x = r[a, b, 0]
            y = r[a, b, 1]
            z = r[a, b, 2]
            if with_omega:
                x, y, z = (
                    v[a, b, 0] - (0.0 * z - w * y),
                    v[a, b, 1] - (w * x - 0.0 * z),
                    v[a, b, 2] - (0.0 * y - 0.0 * x),
                )
            out[a, b, 0] = 0.0 + ((cc * x + 0.0 * z) + ss * y)
            out[a, b, 1] = 0.0 + ((ms * x + 0.0 * z) + cc * y)
            out[a, b, 2] = 0.0 + ((0.0 * x + 1.0 * z) + 0.0 * y)


def _as_2d_lead(a, shape, tail):
    """a broadcast to shape + tail, its leading axes folded into two (a view where numpy can)."""
    b = np.broadcast_to(a, shape + tail)
    lead = (1, 1) if len(shape) == 0 else (int(np.prod(shape[:-1], dtype=np.int64)), shape[-1])
    return b.reshape(lead + tail)


def _cos_sin_omega_t(t, shape):
    """cos and sin of omega t, broadcast to shape, evaluated once per distinct (unbroadcast) time."""
    tb = np.broadcast_to(t, shape)
    tc = tb[tuple(slice(0, 1) if st == 0 else slice(None) for st in tb.strides)]
    th = OMEGA_EARTH_RAD_S * tc
    return _as_2d_lead(np.cos(th), shape, ()), _as_2d_lead(np.sin(th), shape, ())


def eci_to_ecef(r_eci_m, v_eci_mps, t_s):
    """ECI position and velocity to ECEF; v_ecef = R (v_eci - omega x r_eci).

    R = `rotation_eci_to_ecef`(t_s); the result is the same as forming R and applying it, but
    without building the (..., 3, 3) matrices, and with one cos/sin per distinct time when t_s
    is a broadcast view (a batch recorded on one time grid).
    """
    r = np.asarray(r_eci_m, dtype=float)
    v = np.asarray(v_eci_mps, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if r.shape[-1:] != (3,) or v.shape[-1:] != (3,):
        raise ValueError(f"r_eci_m and v_eci_mps need a last axis of 3, got {r.shape} and {v.shape}")
    shape_r = np.broadcast_shapes(t.shape, r.shape[:-1])
    shape_v = np.broadcast_shapes(shape_r, v.shape[:-1])
    c, s = _cos_sin_omega_t(t, shape_v)
    r_e = np.empty(shape_r + (3,))
    v_e = np.empty(shape_v + (3,))
    if shape_r == shape_v:
        cr, sr = c, s
    else:
        cr, sr = _cos_sin_omega_t(t, shape_r)
    r2 = _as_2d_lead(r, shape_r, (3,))
    _rotate_to_ecef(r2, r2, cr, sr, r_e.reshape(cr.shape + (3,)), False)
    _rotate_to_ecef(_as_2d_lead(r, shape_v, (3,)), _as_2d_lead(v, shape_v, (3,)), c, s, v_e.reshape(c.shape + (3,)), True)
    return r_e, v_e


def ecef_to_eci(r_ecef_m, v_ecef_mps, t_s):
    """ECEF position and velocity to ECI; v_eci = R^T v_ecef + omega x r_eci."""
    rot = rotation_eci_to_ecef(t_s)
    r = np.asarray(r_ecef_m, dtype=float)
    v = np.asarray(v_ecef_mps, dtype=float)
    w = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])
    r_i = np.einsum("...ji,...j->...i", rot, r)
    v_i = np.einsum("...ji,...j->...i", rot, v) + np.cross(w, r_i)
    return r_i, v_i


def enu_basis(lat_deg, lon_deg):
    """East, north, up unit vectors in ECEF at geodetic (lat, lon): array (..., 3, 3), rows e, n, u."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    e = np.stack([-so, co, np.zeros_like(so)], -1)
    n = np.stack([-sl * co, -sl * so, cl], -1)
    u = np.stack([cl * co, cl * so, sl], -1)
    return np.stack([e, n, u], -2)


def ecef_to_enu(r_ecef_m, site_lat_deg, site_lon_deg, site_h_m=0.0):
    """ECEF points to east/north/up (m) relative to a site."""
    site = geodetic_to_ecef(site_lat_deg, site_lon_deg, site_h_m)
    basis = enu_basis(site_lat_deg, site_lon_deg)
    d = np.asarray(r_ecef_m, dtype=float) - site
    return np.einsum("...ij,...j->...i", basis, d)


def enu_to_ecef(enu_m, site_lat_deg, site_lon_deg, site_h_m=0.0):
    """East/north/up (m) relative to a site to ECEF points."""
    site = geodetic_to_ecef(site_lat_deg, site_lon_deg, site_h_m)
    basis = enu_basis(site_lat_deg, site_lon_deg)
    return site + np.einsum("...ji,...j->...i", basis, np.asarray(enu_m, dtype=float))


def az_el_range(r_ecef_m, site_lat_deg, site_lon_deg, site_h_m=0.0):
    """Azimuth (deg from north, clockwise), elevation (deg) and slant range (m) from a site."""
    enu = ecef_to_enu(r_ecef_m, site_lat_deg, site_lon_deg, site_h_m)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rng = np.sqrt(e * e + n * n + u * u)
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arcsin(np.clip(u / rng, -1.0, 1.0)))
    return az, el, rng
