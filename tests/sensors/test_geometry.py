"""Sensor geometry: the measurement function h(x), its Jacobian, LOS bases, the Earth-blocking test.

Oracles: bmdsim.earth.frames.az_el_range (itself tested against pyproj) for range, azimuth and
elevation; central finite differences for the Jacobian; the round trip h^-1(h(x)) = x; plain
geometry for the Earth-blocking test (a point at the antipode is behind the Earth).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmdsim.constants import WGS84_A_M
from bmdsim.earth.frames import az_el_range, geodetic_to_ecef
from bmdsim.sensors import GEO_RADIUS_M, clears_earth, los_basis, los_unit_ecef, measure, measure_jacobian
from bmdsim.sensors.geometry import position_from_measurement, wrap_pi

METRE = 1.0
MICRORAD = 1e-6

lat = st.floats(-80, 80)
lon = st.floats(-180, 179.9)


def _point(rng, n, site_lat, site_lon):
    lat_ = site_lat + rng.uniform(-15, 15, n)
    lon_ = site_lon + rng.uniform(-20, 20, n)
    return geodetic_to_ecef(np.clip(lat_, -89, 89), lon_, rng.uniform(50e3, 1500e3, n))


def test_radar_measure_matches_frames_az_el_range():
    rng = np.random.default_rng(1)
    site_lat, site_lon, site_h = 40.89, 140.32, 20.0
    site = geodetic_to_ecef(site_lat, site_lon, site_h)
    r = _point(rng, 500, site_lat, site_lon)
    z = measure(0, site, site_lat, site_lon, r)
    az, el, rho = az_el_range(r, site_lat, site_lon, site_h)
    assert np.allclose(z[:, 0], rho, atol=1e-6 * METRE)
    assert np.allclose(np.abs(wrap_pi(z[:, 1] - np.radians(az))), 0, atol=1e-12)
    assert np.allclose(z[:, 2], np.radians(el), atol=1e-12)
    assert np.all((z[:, 1] >= 0) & (z[:, 1] < 2 * np.pi))


def test_infrared_measure_from_geo_looks_down():
    # the sub-satellite point is at nadir (el = -pi/2); Korea is 6-8 deg off nadir from 100-150 E
    sat_lon = 126.0
    sat = np.array([GEO_RADIUS_M * np.cos(np.radians(sat_lon)), GEO_RADIUS_M * np.sin(np.radians(sat_lon)), 0.0])
    z = measure(1, sat, 0.0, sat_lon, geodetic_to_ecef(0.0, sat_lon, 0.0))
    assert z[1] == pytest.approx(-np.pi / 2, abs=1e-9) and np.isnan(z[2])
    z = measure(1, sat, 0.0, sat_lon, geodetic_to_ecef(39.0, 125.7, 10e3))
    assert np.degrees(z[1]) == pytest.approx(-83.6, abs=0.5)   # off-nadir ~6.4 deg
    # a point north (and a little west) of the sub-satellite point: the line of sight's horizontal
    # part points north in the satellite's ENU frame, a little west of it
    assert -0.05 < wrap_pi(z[0]) < 0.0


def test_mixed_kinds_broadcast():
    site = geodetic_to_ecef(40.0, 140.0, 0.0)
    r = geodetic_to_ecef(40.0, 135.0, 300e3)
    z = measure(np.array([0, 1]), np.stack([site, site]), 40.0, 140.0, np.stack([r, r]))
    assert z[0, 1] == z[1, 0] and z[0, 2] == z[1, 1] and np.isnan(z[1, 2])


@settings(max_examples=60, deadline=None)
@given(lat, lon, st.integers(0, 1))
def test_jacobian_matches_finite_differences(site_lat, site_lon, kind):
    rng = np.random.default_rng(abs(int(site_lat * 1000 + site_lon)))
    site = geodetic_to_ecef(site_lat, site_lon, 100.0)
    r = _point(rng, 4, site_lat, site_lon)
    jac = measure_jacobian(kind, site, site_lat, site_lon, r)
    h = 1.0  # m; h(x) is smooth on the 100 km scale
    for j in range(3):
        dr = np.zeros(3)
        dr[j] = h
        zp = measure(kind, site, site_lat, site_lon, r + dr)
        zm = measure(kind, site, site_lat, site_lon, r - dr)
        d = zp - zm
        d[..., 1 - kind] = wrap_pi(d[..., 1 - kind])  # the azimuth column
        num = np.nan_to_num(d / (2 * h))
        assert np.allclose(jac[..., j], num, rtol=1e-5, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lat, lon, st.floats(1e3, 4e6), st.floats(0, 2 * np.pi - 1e-9), st.floats(-1.5, 1.5))
def test_round_trip_position_from_measurement(site_lat, site_lon, rho, az, el):
    site = geodetic_to_ecef(site_lat, site_lon, 0.0)
    z = np.array([rho, az, el])
    r = position_from_measurement(z, site, site_lat, site_lon)
    z2 = measure(0, site, site_lat, site_lon, r)
    assert z2[0] == pytest.approx(rho, rel=1e-9)
    assert z2[2] == pytest.approx(el, abs=1e-9)
    assert abs(wrap_pi(z2[1] - az)) * np.cos(el) < 1e-9


@given(lat, lon, st.floats(0, 2 * np.pi), st.floats(-1.5, 1.5))
def test_los_basis_is_orthonormal_and_follows_the_angles(site_lat, site_lon, az, el):
    b = los_basis(az, el, site_lat, site_lon)
    assert np.allclose(b @ b.T, np.eye(3), atol=1e-12)
    assert np.allclose(b[0], los_unit_ecef(az, el, site_lat, site_lon), atol=1e-15)
    d = 1e-7
    assert np.allclose((los_unit_ecef(az, el + d, site_lat, site_lon) - b[0]) / d, b[2], atol=1e-6)
    assert np.allclose((los_unit_ecef(az + d, el, site_lat, site_lon) - b[0]) / d, np.cos(el) * b[1], atol=1e-6)


def test_clears_earth():
    sat = np.array([GEO_RADIUS_M, 0.0, 0.0])
    assert clears_earth(sat, geodetic_to_ecef(0.0, 0.0, 1e3))
    assert not clears_earth(sat, geodetic_to_ecef(0.0, 180.0, 1e3))      # antipode: behind the Earth
    assert not clears_earth(sat, geodetic_to_ecef(0.0, 100.0, 100e3))     # 100 deg away, low: hidden
    assert clears_earth(sat, geodetic_to_ecef(0.0, 80.0, 100e3))          # limb angle from GEO is ~81 deg
    a = geodetic_to_ecef(0.0, 0.0, 10e3)
    b = geodetic_to_ecef(0.0, 40.0, 10e3)
    assert not clears_earth(a, b)                                         # chord through the Earth
    assert clears_earth(np.array([2 * WGS84_A_M, 0, 0]), np.array([0, 2 * WGS84_A_M, 0]))
