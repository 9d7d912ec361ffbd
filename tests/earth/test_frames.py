"""bmdsim.earth.frames against PROJ (pyproj), and frame invariants.

Oracles:
- PROJ's geodetic -> geocentric conversion (EPSG:4979 -> EPSG:4978), a closed form, exact to
  round-off. PROJ's reverse conversion is Bowring's one-step formula, good to about 1 mm only
  below ~300 km (2.4 cm at 2000 km), so at all heights our ECEF -> geodetic is checked by
  mapping the result back with PROJ's exact forward conversion.
- WGS-84 (NIMA TR8350.2): equatorial surface speed omega * a = 465.10 m/s.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from bmdsim.constants import OMEGA_EARTH_RAD_S, WGS84_A_M, WGS84_B_M
from bmdsim.earth import frames

METRE = 1.0
MILLIMETRE = 1e-3
KM = 1000.0

_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


def proj_ecef(lat_deg, lon_deg, h_m):
    x, y, z = _TO_ECEF.transform(lon_deg, lat_deg, h_m)
    return np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=-1)


def random_points(n, seed=0):
    """Uniform on the sphere of directions, heights -1 km .. 2000 km, poles included."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    h = rng.uniform(-1.0 * KM, 2000.0 * KM, n)
    lat[:6] = [90.0, -90.0, 90.0, -90.0, 0.0, 0.0]
    h[:6] = [-1.0 * KM, -1.0 * KM, 2000.0 * KM, 2000.0 * KM, -1.0 * KM, 2000.0 * KM]
    return lat, lon, h


def test_geodetic_to_ecef_matches_proj():
    lat, lon, h = random_points(20000)
    err = np.linalg.norm(frames.geodetic_to_ecef(lat, lon, h) - proj_ecef(lat, lon, h), axis=-1)
    assert err.max() < 1 * MILLIMETRE


def test_ecef_to_geodetic_round_trip_through_proj():
    lat, lon, h = random_points(20000, seed=1)
    r = proj_ecef(lat, lon, h)
    lat2, lon2, h2 = frames.ecef_to_geodetic(r)
    # Positions, not angles: longitude is undefined at the poles.
    assert np.linalg.norm(proj_ecef(lat2, lon2, h2) - r, axis=-1).max() < 1 * MILLIMETRE
    assert np.abs(h2 - h).max() < 1 * MILLIMETRE


def test_ecef_to_geodetic_matches_proj_reverse_below_300_km():
    lat, lon, h = random_points(20000, seed=2)
    h = np.minimum(h, 300.0 * KM)
    r = proj_ecef(lat, lon, h)
    lon_p, lat_p, h_p = _TO_ECEF.transform(r[:, 0], r[:, 1], r[:, 2], direction="INVERSE")
    lat2, _, h2 = frames.ecef_to_geodetic(r)
    assert np.abs(h2 - h_p).max() < 1 * MILLIMETRE
    # 1e-8 deg of latitude is 1.1 mm on the ground
    assert np.abs(lat2 - lat_p).max() < 1e-8


def test_poles_exact():
    for sign in (1.0, -1.0):
        lat, _, h = frames.ecef_to_geodetic(np.array([0.0, 0.0, sign * (WGS84_B_M + 1.0 * KM)]))
        assert lat == sign * 90.0
        assert h == pytest.approx(1.0 * KM, abs=1 * MILLIMETRE)


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-90.0, 90.0),
    lon=st.floats(-180.0, 180.0),
    h=st.floats(-1.0 * KM, 2000.0 * KM),
)
def test_round_trip_property(lat, lon, h):
    r = frames.geodetic_to_ecef(lat, lon, h)
    lat2, lon2, h2 = frames.ecef_to_geodetic(r)
    assert abs(h2 - h) < 1 * MILLIMETRE
    assert np.linalg.norm(frames.geodetic_to_ecef(lat2, lon2, h2) - r) < 1 * MILLIMETRE


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-90.0, 90.0), lon=st.floats(-180.0, 180.0), h=st.floats(-1.0 * KM, 2000.0 * KM))
def test_scalar_kernels_match_array_wrappers(lat, lon, h):
    x, y, z = frames.geodetic_to_ecef_1(math.radians(lat), math.radians(lon), h)
    r = frames.geodetic_to_ecef(lat, lon, h)
    assert np.allclose([x, y, z], r, rtol=0.0, atol=1e-6 * MILLIMETRE)
    la1, lo1, h1 = frames.ecef_to_geodetic_1(x, y, z)
    la2, lo2, h2 = frames.ecef_to_geodetic(r)
    # 1e-12 rad is 6 nm on the ground
    assert abs(la1 - math.radians(la2)) < 1e-12
    assert abs(math.remainder(lo1 - math.radians(lo2), 2 * math.pi)) < 1e-12
    assert abs(h1 - h2) < 1e-3 * MILLIMETRE
    assert abs(frames.height_m_1(x, y, z) - h2) < 1e-3 * MILLIMETRE


def test_eci_scalar_kernels_match_rotation_wrappers():
    rng = np.random.default_rng(3)
    r = rng.normal(size=(50, 3)) * 7000 * KM
    t = rng.uniform(0.0, 86400.0, 50)
    rot = frames.rotation_eci_to_ecef(t)
    for i in range(50):
        ecef = frames.eci_to_ecef_pos_1(*r[i], t[i])
        assert np.allclose(ecef, rot[i] @ r[i], rtol=0.0, atol=1e-3 * MILLIMETRE)
        back = frames.ecef_to_eci_pos_1(*ecef, t[i])
        assert np.allclose(back, r[i], rtol=0.0, atol=1e-3 * MILLIMETRE)


def test_eci_ecef_round_trip():
    rng = np.random.default_rng(4)
    r = rng.normal(size=(1000, 3)) * 7000 * KM
    v = rng.normal(size=(1000, 3)) * 7000.0
    t = rng.uniform(0.0, 10 * 86400.0, 1000)
    r_e, v_e = frames.eci_to_ecef(r, v, t)
    r_i, v_i = frames.ecef_to_eci(r_e, v_e, t)
    assert np.abs(r_i - r).max() < 1e-3 * MILLIMETRE
    assert np.abs(v_i - v).max() < 1e-9      # m/s


def test_ground_point_has_zero_ecef_velocity():
    lat, lon, _ = random_points(200, seed=5)
    r_ground = frames.geodetic_to_ecef(lat, lon, 0.0)
    t = np.linspace(0.0, 86400.0, 200)
    r_i, v_i = frames.ecef_to_eci(r_ground, np.zeros_like(r_ground), t)
    r_e, v_e = frames.eci_to_ecef(r_i, v_i, t)
    assert np.abs(v_e).max() < 1e-9          # m/s
    assert np.abs(r_e - r_ground).max() < 1e-3 * MILLIMETRE
    # On the equator the inertial speed is omega * a = 465.10 m/s (WGS-84 constants).
    _, v_eq = frames.ecef_to_eci(frames.geodetic_to_ecef(0.0, 30.0, 0.0), np.zeros(3), 1234.0)
    assert np.linalg.norm(v_eq) == pytest.approx(OMEGA_EARTH_RAD_S * WGS84_A_M, abs=1e-9)
    assert np.linalg.norm(v_eq) == pytest.approx(465.10, abs=0.01)


def test_inertial_point_returns_after_one_sidereal_rotation():
    r_i = np.array([7000 * KM, 1000 * KM, 500 * KM])
    period_s = 2 * math.pi / OMEGA_EARTH_RAD_S
    r0, _ = frames.eci_to_ecef(r_i, np.zeros(3), 0.0)
    r1, _ = frames.eci_to_ecef(r_i, np.zeros(3), period_s)
    rh, _ = frames.eci_to_ecef(r_i, np.zeros(3), period_s / 2)
    assert np.allclose(r0, r_i, atol=1 * MILLIMETRE)
    assert np.allclose(r1, r0, atol=1 * MILLIMETRE)
    assert np.allclose(rh[:2], -r0[:2], atol=1 * MILLIMETRE)


@pytest.mark.parametrize("lat,lon,h", [(39.0, 125.7, 0.0), (-89.9, 10.0, 500.0), (0.0, -179.0, -50.0)])
def test_az_el_range_sanity(lat, lon, h):
    up = frames.enu_to_ecef(np.array([0.0, 0.0, 300 * KM]), lat, lon, h)
    az, el, rng = frames.az_el_range(up, lat, lon, h)
    assert el == pytest.approx(90.0, abs=1e-9)
    assert rng == pytest.approx(300 * KM, abs=1 * MILLIMETRE)
    # A point just north, east, south, west at the site's height.
    for enu, az_expected in (([0, 1, 0], 0.0), ([1, 0, 0], 90.0), ([0, -1, 0], 180.0),
                             ([-1, 0, 0], 270.0)):
        p = frames.enu_to_ecef(np.array(enu, dtype=float) * 10 * KM, lat, lon, h)
        az, el, rng = frames.az_el_range(p, lat, lon, h)
        assert 0.0 <= az < 360.0
        assert abs((az - az_expected + 180.0) % 360.0 - 180.0) < 1e-9
        assert el == pytest.approx(0.0, abs=1e-9)
        assert rng == pytest.approx(10 * KM, abs=1 * MILLIMETRE)


def test_enu_basis_orthonormal_and_up_is_ellipsoid_normal():
    lat, lon, _ = random_points(500, seed=6)
    b = frames.enu_basis(lat, lon)
    assert np.abs(b @ np.swapaxes(b, -1, -2) - np.eye(3)).max() < 1e-12
    # Up is the normal: moving 1 km up changes geodetic height by 1 km and nothing else.
    r0 = frames.geodetic_to_ecef(lat, lon, 100.0)
    r1 = r0 + 1 * KM * b[..., 2, :]
    lat1, _, h1 = frames.ecef_to_geodetic(r1)
    assert np.abs(h1 - 100.0 - 1 * KM).max() < 1 * MILLIMETRE
    assert np.abs(lat1 - lat).max() < 1e-10


def test_enu_round_trip():
    rng = np.random.default_rng(7)
    enu = rng.normal(size=(100, 3)) * 1000 * KM
    r = frames.enu_to_ecef(enu, 35.96, 128.17, 400.0)
    assert np.abs(frames.ecef_to_enu(r, 35.96, 128.17, 400.0) - enu).max() < 1e-3 * MILLIMETRE


def test_eci_to_ecef_is_the_rotation_matrix_applied_bitwise():
    # eci_to_ecef skips forming R; its results are those of R @ r and R @ (v - omega x r) formed
    # with rotation_eci_to_ecef, einsum and np.cross, to the bit (signed zeros included)
    w = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])

    def dense(r, v, t):
        rot = frames.rotation_eci_to_ecef(t)
        r, v = np.asarray(r, dtype=float), np.asarray(v, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.einsum("...ij,...j->...i", rot, r), np.einsum("...ij,...j->...i", rot, v - np.cross(w, r))

    rng = np.random.default_rng(12)
    rec = rng.normal(0.0, 7000 * KM, (20, 50, 6))
    rec[..., 3:] *= 1e-3
    rec[3, 30:] = np.nan
    rec[4, 5] = 0.0
    rec[5, 6, :3] = -0.0
    rec[6, 7, 2] = np.inf
    t = np.arange(50.0) * 7.0
    vals = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -3e6, 5e-324]
    combo = np.array(np.meshgrid(vals, vals, vals)).reshape(3, -1).T
    cases = [
        (rec[..., :3], rec[..., 3:], np.broadcast_to(t, rec.shape[:-1])),   # FlightBatch.record_ecef
        (rec[..., :3], rec[..., 3:], t),
        (rec[0, 0, :3], rec[0, 0, 3:], 5.0),
        (rec[:, 0, :3], rec[:, 0, 3:], rng.uniform(0.0, 86400.0, 20)),
        (rec[0, 0, :3], rec[:, :, 3:], t),                                    # v broadcasts further than r
        (rec[:3, :3, :3], rec[:3, :3, 3:], rng.uniform(0.0, 1e6, (7, 3, 3))),
        (rec[0, :, :3].tolist(), rec[0, :, 3:], t.tolist()),
        (combo, combo[::-1], np.full(len(combo), 100.0)),
        (combo, combo, np.zeros(len(combo))),
        (np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)),
    ]
    for r, v, tt in cases:
        for got, want in zip(frames.eci_to_ecef(r, v, tt), dense(r, v, tt)):
            assert got.shape == want.shape and got.flags.c_contiguous
            assert np.array_equal(got, want, equal_nan=True)
            fin = ~np.isnan(want)
            assert np.array_equal(np.signbit(got[fin]), np.signbit(want[fin]))
