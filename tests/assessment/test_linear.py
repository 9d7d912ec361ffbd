"""Linearised impact prediction (assessment.linear), the campaign engine's predictor.

Oracles: the closed-form Kepler impact against the numeric integrator on a vacuum sphere (two
methods, one answer); the linearised prediction against the sampled one
(``assessment.impact.predict_impact``, 4000 samples) on a real Hwasong-15 track at four epochs.
"""

from __future__ import annotations

import numpy as np
import pytest

from bmdsim.assessment.impact import predict_impact
from bmdsim.assessment.linear import _QUAD, kepler_impact_1, predict_impacts
from bmdsim.assessment.policy import Policy
from bmdsim.constants import OMEGA_EARTH_RAD_S, R_MEAN_M
from bmdsim.earth import geodesy
from bmdsim.earth.geography import TerritoryIndex, resolve_protected
from bmdsim.earth.places import get_place
from bmdsim.engine.assess import assess_threat, fly_truth
from bmdsim.flight.fly import EarthModel, Tolerances, coast
from bmdsim.sensors import catalog as sensor_catalog
from bmdsim.threats.catalog import get_missile


def test_quadrature_is_a_standard_normal_plane():
    assert _QUAD.shape[1] == 2 and np.all(np.isfinite(_QUAD))
    np.testing.assert_allclose(_QUAD.mean(axis=0), 0.0, atol=1e-12)  # centred net: symmetric
    np.testing.assert_allclose(np.cov(_QUAD.T), np.eye(2), atol=0.01)


@pytest.mark.parametrize("omega", [0.0, OMEGA_EARTH_RAD_S])
def test_kepler_impact_equals_the_integrator_on_a_vacuum_sphere(omega):
    """Closed form (conic meets the sphere; the Earth turns meanwhile) vs the DP5 kernel."""
    earth = EarthModel(rotating=omega > 0, j2=False, drag=False, sphere_radius_m=R_MEAN_M)
    rng = np.random.default_rng(4)
    n = 12
    # burnout-like states: 300-600 km up, 4-7 km/s, climbing at 10-45 degrees
    h = rng.uniform(300e3, 600e3, n)
    v = rng.uniform(4000, 7000, n)
    g = np.radians(rng.uniform(10, 45, n))
    az = rng.uniform(0, 2 * np.pi, n)
    lat = np.radians(rng.uniform(-60, 60, n))
    lon = rng.uniform(-np.pi, np.pi, n)
    up = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    east = np.column_stack([-np.sin(lon), np.cos(lon), np.zeros(n)])
    north = np.cross(up, east)
    r = up * (R_MEAN_M + h)[:, None]
    vel = v[:, None] * (np.sin(g)[:, None] * up + np.cos(g)[:, None] * (np.sin(az)[:, None] * east + np.cos(az)[:, None] * north))
    t0 = rng.uniform(0, 500, n)
    b = coast(t0, r, vel, 1e9, earth=earth, tolerances=Tolerances(rtol=1e-11, atol_m=1e-3))
    assert b.impacted.all()
    out = np.empty(4)
    for k in range(n):
        kepler_impact_1(r[k], vel[k], t0[k], R_MEAN_M, omega, out)
        assert out[3] == pytest.approx(b.t_impact_s[k] - t0[k], abs=0.01)  # s
        np.testing.assert_allclose(out[:3], b.impact_r_ecef_m[k], atol=5.0)  # m


@pytest.fixture(scope="module")
def alaska_track():
    sensors = list(sensor_catalog().values())
    truth = fly_truth(get_missile("hwasong-15"), get_place("Sohae"), get_place("Anchorage"), "min-energy", None)
    policy = Policy(protect=["USA"])
    a = assess_threat(truth, sensors, policy, np.random.default_rng(3))
    return a.track, TerritoryIndex(resolve_protected(["USA"])), a.decision.declared_at_s


def test_linearised_prediction_agrees_with_the_sampled_one(alaska_track):
    """Mean within 1 km, 2-sigma axes within 8 %, orientation within 4 degrees, P(USA) within 0.03."""
    track, index, decided = alaska_track
    times = [200.0, 250.0, float(decided), 600.0]
    x, p = track.state_at(0, np.array(times))
    lin, fb = predict_impacts(times, x, p, track.model.beta_kg_m2, territory_index=index, record_dt_s=2.0)
    assert fb.record_eci is not None and fb.impacted.all()
    for k, t in enumerate(times):
        s = predict_impact(t, x[k], p[k], track.model.beta_kg_m2, np.random.default_rng(k), n_samples=4000, territory_index=index)
        lk = lin[k]
        d = float(geodesy.inverse(s.mean_lat_deg, s.mean_lon_deg, lk.mean_lat_deg, lk.mean_lon_deg)[0])
        assert d < 1000.0, (t, d)
        assert lk.semi_major_km == pytest.approx(s.semi_major_km, rel=0.08), t
        assert lk.semi_minor_km == pytest.approx(s.semi_minor_km, rel=0.08), t
        assert abs((lk.orientation_deg - s.orientation_deg + 90) % 180 - 90) < 4.0, t
        assert lk.mean_time_to_impact_s == pytest.approx(s.mean_time_to_impact_s, abs=5.0)
        assert lk.p_impact["USA"] == pytest.approx(s.p_impact["USA"], abs=0.03)
        assert lk.orbital_fraction == s.orbital_fraction == 0.0
