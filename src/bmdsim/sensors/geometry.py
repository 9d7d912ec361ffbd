"""Sensor geometry: the noise-free measurement function h(x), its Jacobian, line-of-sight bases.

Conventions (all sensors):

- A site (radar antenna, or satellite) has an east-north-up (ENU) frame: the ENU frame of the
  geodetic point (site_lat_deg, site_lon_deg) (`bmdsim.earth.frames.enu_basis`), with its
  origin moved to the site's ECEF position ``site_ecef_m``. For a geostationary satellite the
  point is (0, satellite longitude) and "up" points away from the Earth, so the Earth lies
  around elevation -90 deg (about -81 to -90 deg for points on the Earth).
- Relative position d = r - site in ENU: (e, n, u).
- Range rho = |d| (m). Azimuth az = atan2(e, n) wrapped to [0, 2 pi): clockwise from north,
  east = pi/2. Elevation el = asin(u / rho) in [-pi/2, pi/2].
- A radar measures z = (rho, az, el); an infrared sensor z = (az, el, NaN) (no range).

Kind codes: 0 radar, 1 infrared (``bmdsim.sensors.spec.KIND_RADAR`` / ``KIND_INFRARED``).
"""

from __future__ import annotations

import numpy as np

from bmdsim.earth.frames import enu_basis
from bmdsim.constants import WGS84_A_M, WGS84_B_M

TWO_PI = 2.0 * np.pi


def wrap_2pi(angle_rad):
    """Angle wrapped to [0, 2 pi)."""
    a = np.mod(angle_rad, TWO_PI)
    return np.where(a >= TWO_PI, 0.0, a)  # mod can round up to 2 pi for tiny negatives


def wrap_pi(angle_rad):
    """Angle wrapped to [-pi, pi): use for azimuth differences."""
    return np.mod(np.asarray(angle_rad) + np.pi, TWO_PI) - np.pi


def site_enu(r_ecef_m, site_ecef_m, site_lat_deg, site_lon_deg):
    """East, north, up (m) of points r relative to a site; broadcasts over leading axes."""
    basis = enu_basis(site_lat_deg, site_lon_deg)
    d = np.asarray(r_ecef_m, dtype=float) - np.asarray(site_ecef_m, dtype=float)
    return np.einsum("...ij,...j->...i", basis, d)


def _range_az_el(enu):
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rho = np.sqrt(e * e + n * n + u * u)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.arcsin(np.clip(u / rho, -1.0, 1.0))
    return rho, wrap_2pi(np.arctan2(e, n)), el


def measure(kind, site_ecef_m, site_lat_deg, site_lon_deg, r_ecef_m):
    """Noise-free measurement z = h(r) of ECEF positions r from a site, shape (..., 3).

    kind: 0 radar -> (range_m, az_rad, el_rad); 1 infrared -> (az_rad, el_rad, NaN). kind, the
    site arrays and r broadcast against each other (kind and lat/lon over the leading axes,
    site_ecef_m and r_ecef_m with a trailing axis of 3). Conventions in the module docstring.
    """
    enu = site_enu(r_ecef_m, site_ecef_m, site_lat_deg, site_lon_deg)
    rho, az, el = _range_az_el(enu)
    k = np.broadcast_to(np.asarray(kind), rho.shape)
    radar = k == 0
    z0 = np.where(radar, rho, az)
    z1 = np.where(radar, az, el)
    z2 = np.where(radar, el, np.nan)
    return np.stack([z0, z1, z2], axis=-1)


def measure_jacobian(kind, site_ecef_m, site_lat_deg, site_lon_deg, r_ecef_m):
    """dz/dr of `measure` with respect to the ECEF position, shape (..., 3, 3).

    Rows follow z; an infrared row 2 is zero. In ENU (e, n, u), h = sqrt(e^2 + n^2):
    d rho = d / rho; d az = (n, -e, 0) / h^2; d el = (-e u, -n u, h^2) / (rho^2 h); then the
    ECEF Jacobian is J_enu @ B with B the ENU basis (rows e, n, u). Singular at the zenith.
    """
    basis = enu_basis(site_lat_deg, site_lon_deg)
    enu = np.einsum("...ij,...j->...i", basis, np.asarray(r_ecef_m, dtype=float) - np.asarray(site_ecef_m, dtype=float))
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    h2 = e * e + n * n
    h = np.sqrt(h2)
    rho2 = h2 + u * u
    rho = np.sqrt(rho2)
    z = np.zeros_like(e)
    d_rho = np.stack([e / rho, n / rho, u / rho], -1)
    d_az = np.stack([n / h2, -e / h2, z], -1)
    d_el = np.stack([-e * u / (rho2 * h), -n * u / (rho2 * h), h / rho2], -1)
    j_radar = np.stack([d_rho, d_az, d_el], -2)
    j_ir = np.stack([d_az, d_el, np.zeros_like(d_az)], -2)
    k = np.broadcast_to(np.asarray(kind), e.shape)[..., None, None]
    j_enu = np.where(k == 0, j_radar, j_ir)
    return np.einsum("...ij,...jk->...ik", j_enu, np.broadcast_to(basis, j_enu.shape))


def los_unit_ecef(az_rad, el_rad, site_lat_deg, site_lon_deg):
    """Unit line-of-sight vector in ECEF for an azimuth and elevation in a site's ENU frame."""
    az = np.asarray(az_rad, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    enu = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], -1)
    basis = enu_basis(site_lat_deg, site_lon_deg)
    return np.einsum("...ji,...j->...i", basis, enu)


def los_basis(az_rad, el_rad, site_lat_deg, site_lon_deg):
    """Orthonormal basis (..., 3, 3) in ECEF along a line of sight: rows (los, u_az, u_el).

    los: unit vector toward (az, el); u_az: unit vector of increasing azimuth (horizontal,
    perpendicular to los); u_el: unit vector of increasing elevation. A small angular error
    (d_az, d_el) moves the line of sight by cos(el) d_az along u_az and d_el along u_el, which
    is why a cross-range angle error sigma maps to an azimuth error sigma / cos(el).
    """
    az = np.asarray(az_rad, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    az, el = np.broadcast_arrays(az, el)
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    los = np.stack([ce * sa, ce * ca, se], -1)
    u_az = np.stack([ca, -sa, np.zeros_like(az)], -1)
    u_el = np.stack([-se * sa, -se * ca, ce], -1)
    enu_rows = np.stack([los, u_az, u_el], -2)
    basis = enu_basis(site_lat_deg, site_lon_deg)
    return np.einsum("...ij,...jk->...ik", enu_rows, np.broadcast_to(basis, enu_rows.shape))


def position_from_measurement(z, site_ecef_m, site_lat_deg, site_lon_deg):
    """ECEF position (..., 3) of a radar measurement z = (range_m, az_rad, el_rad): h^-1."""
    z = np.asarray(z, dtype=float)
    los = los_unit_ecef(z[..., 1], z[..., 2], site_lat_deg, site_lon_deg)
    return np.asarray(site_ecef_m, dtype=float) + z[..., 0:1] * los


def in_azimuth_sector(az_rad, boresight_rad, half_width_rad):
    """True where az is within half_width of boresight, wrapping at 2 pi (inclusive)."""
    return np.abs(wrap_pi(np.asarray(az_rad) - boresight_rad)) <= half_width_rad + 1e-12


def clears_earth(a_ecef_m, b_ecef_m):
    """True where the straight segment between points a and b does not pass inside the WGS-84 ellipsoid.

    The ellipsoid becomes the unit sphere under (x, y, z) -> (x / a, y / a, z / b); straight
    lines stay straight, so the test is the distance from the origin to the scaled segment.
    """
    s = np.array([1.0 / WGS84_A_M, 1.0 / WGS84_A_M, 1.0 / WGS84_B_M])
    a = np.asarray(a_ecef_m, dtype=float) * s
    b = np.asarray(b_ecef_m, dtype=float) * s
    d = b - a
    dd = np.einsum("...i,...i->...", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-np.einsum("...i,...i->...", a, d) / dd, 0.0, 1.0)
    closest = a + t[..., None] * d
    return np.einsum("...i,...i->...", closest, closest) >= 1.0
