"""Impact prediction from a state and covariance: consistent with the flight, honest spread."""

import numpy as np
import pytest

from bmdsim.assessment.impact import predict_impact, sample_states
from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place
from bmdsim.flight.fly import coast
from bmdsim.flight.shaping import shape
from bmdsim.threats.catalog import get_missile

KM = 1000.0


@pytest.fixture(scope="module")
def hs15_seattle():
    m = get_missile("hwasong-15")
    sohae, seattle = get_place("Sohae"), get_place("Seattle")
    s = shape([m], sohae.lat_deg, sohae.lon_deg, seattle.lat_deg, seattle.lon_deg, record_dt_s=1.0)
    return m, s.flight


def _state_at(flight, t_s):
    i = int(round(t_s))
    return flight.record_eci[0, i]


def test_zero_covariance_predicts_the_truth(hs15_seattle):
    # oracle: the truth impact of the same flight; the prediction flies the mean state with the
    # same physics at looser tolerances: within 100 m
    m, f = hs15_seattle
    t = 600.0
    x = _state_at(f, t)
    pred = predict_impact(t, x, np.zeros((6, 6)), m.payload.ballistic_coefficient_kg_m2, np.random.default_rng(1), n_samples=8)
    tlat, tlon = f.impact_lat_lon_deg
    d, _, _ = geodesy.inverse(pred.mean_lat_deg, pred.mean_lon_deg, tlat[0], tlon[0])
    assert float(d) < 100.0
    assert pred.mean_time_to_impact_s == pytest.approx(f.t_impact_s[0] - t, abs=0.5)
    assert pred.semi_major_km < 0.1


def test_ellipse_grows_with_velocity_uncertainty(hs15_seattle):
    # 1 m/s (1 sigma) of velocity error 20 minutes before impact spreads the impact by kilometres,
    # mostly along the track; 10 m/s by about ten times as much
    m, f = hs15_seattle
    t = 600.0
    x = _state_at(f, t)
    p1 = np.diag([100.0**2] * 3 + [1.0**2] * 3)
    p10 = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    rng = np.random.default_rng(7)
    a = predict_impact(t, x, p1, m.payload.ballistic_coefficient_kg_m2, rng, n_samples=400)
    b = predict_impact(t, x, p10, m.payload.ballistic_coefficient_kg_m2, rng, n_samples=400)
    assert 1.0 < a.semi_major_km < 50.0
    assert b.semi_major_km == pytest.approx(10 * a.semi_major_km, rel=0.35)
    assert a.semi_minor_km <= a.semi_major_km


def test_samples_have_the_stated_covariance():
    rng = np.random.default_rng(3)
    p = np.diag([1.0, 4.0, 9.0, 0.01, 0.04, 0.09])
    p[0, 1] = p[1, 0] = 1.0
    s = sample_states(np.zeros(6), p, 20000, rng)
    assert np.allclose(np.cov(s.T), p, atol=0.05 * np.sqrt(np.outer(np.diag(p), np.diag(p))).max())


def test_orbital_state_is_reported_orbital():
    # a circular orbit at 300 km: every sample stays up
    r = 6378137.0 + 300e3
    v = np.sqrt(3.986004418e14 / r)
    x = np.array([r, 0, 0, 0, v * np.cos(0.5), v * np.sin(0.5)])
    pred = predict_impact(0.0, x, np.diag([1.0] * 3 + [0.01] * 3), 1e4, np.random.default_rng(0), n_samples=16)
    assert pred.orbital_fraction == 1.0
    assert np.isnan(pred.mean_lat_deg)
