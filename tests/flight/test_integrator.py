"""The numeric integrator against closed forms and invariants (vacuum, sphere, no rotation)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmdsim.constants import MU_EARTH_M3_S2
from bmdsim.earth import geodesy
from bmdsim.flight import kepler
from bmdsim.flight.fly import EarthModel, Tolerances, coast

METRE = 1.0
R_SPHERE_M = 6371.0e3  # ../shared/reference/min_energy.json constants
VACUUM_SPHERE = EarthModel(rotating=False, j2=False, drag=False, sphere_radius_m=R_SPHERE_M)
VACUUM_SPHERE_J2 = EarthModel(rotating=False, j2=True, drag=False, sphere_radius_m=R_SPHERE_M)
# The invariant checks ask for 1e-9 relative over 40 minutes: a tolerance a decade tighter than
# the default (which keeps impacts within metres, benchmarks/trajectories.py, and conserves
# energy to about 5e-9).
PRECISE = Tolerances(rtol=1e-11, atol_m=1e-4)


def surface_state(lat_deg, lon_deg, az_deg, speed_mps, gamma_deg, radius_m=R_SPHERE_M):
    """ECI state on the sphere's surface with a speed, azimuth and flight-path angle."""
    lat, lon, az, g = np.radians([lat_deg, lon_deg, az_deg, gamma_deg])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.cross(up, east)
    v = speed_mps * (np.sin(g) * up + np.cos(g) * (np.cos(az) * north + np.sin(az) * east))
    return radius_m * up, v


def invariants(r, v):
    energy = 0.5 * np.sum(v * v, -1) - MU_EARTH_M3_S2 / np.linalg.norm(r, axis=-1)
    return energy, np.cross(r, v)


def test_min_energy_10000_km_matches_analytic_range(reference_dir):
    # oracle: min_energy.json row 10,000 km (BMW 6.2); the issue asks for 100 m
    me = kepler.min_energy(10000e3, radius_m=R_SPHERE_M)
    r, v = surface_state(0.0, 0.0, 0.0, me["burnout_speed_mps"], me["flight_path_angle_deg"])
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE)
    assert b.impacted[0]
    assert b.ground_range_m[0] == pytest.approx(10000e3, abs=100 * METRE)
    assert b.t_impact_s[0] == pytest.approx(me["coast_time_s"], abs=0.05)
    assert b.apogee_h_m[0] == pytest.approx(me["apogee_altitude_m"], abs=10 * METRE)
    # the event puts the impact on the surface to well under 1 m
    assert abs(np.linalg.norm(b.impact_r_eci_m[0]) - R_SPHERE_M) < 1e-2 * METRE


@pytest.mark.parametrize("row", range(7))
def test_every_min_energy_row_numerically(reference_dir, row):
    # oracle: min_energy.json rows, ranges as printed; integrator within 100 m and 0.05 s
    table = json.loads((reference_dir / "min_energy.json").read_text())
    rng_km, v_kms, g_deg, apo_km, coast_min = table["rows"][row]
    me = kepler.min_energy(rng_km * 1e3, radius_m=R_SPHERE_M)
    r, v = surface_state(20.0, 130.0, 60.0, me["burnout_speed_mps"], me["flight_path_angle_deg"])
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE)
    assert b.ground_range_m[0] == pytest.approx(rng_km * 1e3, abs=100 * METRE)
    assert b.t_impact_s[0] / 60 == pytest.approx(coast_min, abs=0.005)
    assert b.apogee_h_m[0] / 1e3 == pytest.approx(apo_km, abs=0.5)


def test_energy_and_angular_momentum_over_40_minutes():
    # invariants in vacuum without J2, to 1e-9 relative over a flight of more than 40 minutes
    r, v = surface_state(39.0, 125.0, 45.0, 7300.0, 35.0)
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE, tolerances=PRECISE)
    assert b.t_impact_s[0] > 40 * 60
    e0, h0 = invariants(r, v)
    e1, h1 = invariants(b.impact_r_eci_m[0], b.impact_v_eci_mps[0])
    assert abs(e1 - e0) / abs(e0) < 1e-9
    assert np.linalg.norm(h1 - h0) / np.linalg.norm(h0) < 1e-9


def test_polar_angular_momentum_with_j2():
    # J2 is axially symmetric: h_z is conserved, the other components are not
    r, v = surface_state(39.0, 125.0, 45.0, 7300.0, 35.0)
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE_J2, tolerances=PRECISE)
    _, h0 = invariants(r, v)
    _, h1 = invariants(b.impact_r_eci_m[0], b.impact_v_eci_mps[0])
    assert abs(h1[2] - h0[2]) / np.linalg.norm(h0) < 1e-9
    assert np.linalg.norm(h1[:2] - h0[:2]) / np.linalg.norm(h0) > 1e-6  # J2 is really on


@settings(max_examples=30, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-180, 180),
    az=st.floats(0, 360),
    speed=st.floats(2500, 7600),
    gamma=st.floats(10, 80),
)
def test_invariants_hold_for_any_ballistic_flight(lat, lon, az, speed, gamma):
    r, v = surface_state(lat, lon, az, speed, gamma)
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE, tolerances=PRECISE)
    assert b.impacted[0]
    e0, h0 = invariants(r, v)
    e1, h1 = invariants(b.impact_r_eci_m[0], b.impact_v_eci_mps[0])
    assert abs(e1 - e0) / abs(e0) < 1e-9
    assert np.linalg.norm(h1 - h0) / np.linalg.norm(h0) < 1e-9
    # and the range agrees with the closed form for this Q and flight-path angle
    q = speed**2 * R_SPHERE_M / MU_EARTH_M3_S2
    psi = kepler.range_angle(q, np.radians(gamma))
    ilat, ilon = b.impact_lat_lon_deg
    d = geodesy.great_circle_distance_m(lat, lon, ilat[0], ilon[0], radius_m=R_SPHERE_M)
    assert float(d) == pytest.approx(psi * R_SPHERE_M, abs=1.0 * METRE)


def test_recorded_track_is_on_the_ellipse():
    # Hermite-interpolated samples between steps keep the orbit's energy to 1e-6
    me = kepler.min_energy(8000e3, radius_m=R_SPHERE_M)
    r, v = surface_state(0.0, 0.0, 90.0, me["burnout_speed_mps"], me["flight_path_angle_deg"])
    b = coast(0.0, r, v, 1e4, earth=VACUUM_SPHERE, record_dt_s=1.0)
    rec = b.record_eci[0]
    ok = ~np.isnan(rec[:, 0])
    e0, _ = invariants(r, v)
    e, _ = invariants(rec[ok, :3], rec[ok, 3:])
    assert np.max(np.abs(e - e0) / abs(e0)) < 1e-6
    assert ok.sum() == int(np.floor(b.t_impact_s[0])) + 1


def test_impact_is_on_the_ellipsoid_to_a_millimetre():
    # event detection on the full model: the impact point's geodetic height is zero to 1 mm
    from bmdsim.earth import frames
    from bmdsim.flight.fly import fly, guidance_array, stack_missiles
    from bmdsim.threats.catalog import get_missile

    m = get_missile("hwasong-15")
    ms = [m] * 6
    st, pl = stack_missiles(ms)
    b = fly(39.66, 124.705, st, pl, guidance_array(ms, np.linspace(0, 300, 6), np.linspace(30, 70, 6)))
    assert b.impacted.all()
    _, _, h = frames.ecef_to_geodetic(b.impact_r_ecef_m)
    assert np.max(np.abs(h)) < 1e-3 * METRE


def test_record_is_nan_before_the_start_and_after_the_impact():
    # bodies starting at different times share one record grid: each row of a body is its state
    # from its start to its impact, NaN outside (the buffer is filled only where it is kept)
    me = kepler.min_energy(3000e3, radius_m=R_SPHERE_M)
    r, v = surface_state(0.0, 0.0, 90.0, me["burnout_speed_mps"], me["flight_path_angle_deg"])
    t0 = np.array([0.0, 37.5, 120.0])
    b = coast(t0, np.repeat(r[None], 3, 0), np.repeat(v[None], 3, 0), 1e4, earth=VACUUM_SPHERE, record_dt_s=2.0)
    t = b.t_record_s
    for k in range(3):
        ok = ~np.isnan(b.record_eci[k, :, 0])
        inside = (t >= t0[k] - 1e-9) & (t <= b.t_impact_s[k] + 1e-9)
        np.testing.assert_array_equal(ok, inside)
        assert np.isnan(b.record_eci[k, ~inside]).all()
    # the same flight shifted in time: the same states at the same time since start
    np.testing.assert_allclose(b.record_eci[2, 60:70], b.record_eci[0, 0:10], rtol=0, atol=1e-3)


def test_take_repeats_bodies():
    me = kepler.min_energy(3000e3, radius_m=R_SPHERE_M)
    r, v = surface_state(0.0, 0.0, 90.0, me["burnout_speed_mps"], me["flight_path_angle_deg"])
    b = coast([0.0, 50.0], np.stack([r, r]), np.stack([v, v]), 1e4, earth=VACUUM_SPHERE, record_dt_s=5.0)
    t = b.take([1, 0, 1])
    assert len(t) == 3
    np.testing.assert_array_equal(t.t_impact_s, b.t_impact_s[[1, 0, 1]])
    np.testing.assert_array_equal(t.record_eci[2], b.record_eci[1])
    np.testing.assert_array_equal(t.impact_lat_lon_deg[0], b.impact_lat_lon_deg[0][[1, 0, 1]])
