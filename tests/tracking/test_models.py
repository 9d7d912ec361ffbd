"""Motion and measurement models of the trackers against independent derivatives and frames.

Oracles: central finite differences of the flight kernel's own acceleration and of the flown
mean (for the analytic gravity gradient and the variational equations); ``earth.frames``
(numpy, independent of the numba kernels) for the measurement geometry.
"""

import numpy as np
import pytest

from bmdsim.earth import frames
from bmdsim.flight.fly import EarthModel
from bmdsim.tracking import INFRARED, RADAR, MotionModel, acceleration_jacobian, measure, transition
from bmdsim.tracking.models import wrap_pi

METRE = 1.0
MRAD = 1e-3

# an ICBM-like state over the Sea of Japan (ECI = ECEF at t = 0), 600 km up, 6.5 km/s
X0 = np.array([-3.40e6, 3.55e6, 4.95e6, -4500.0, -3500.0, 2800.0])
SHARIKI = frames.geodetic_to_ecef(40.89, 140.32, 0.0)
GEO = frames.geodetic_to_ecef(0.0, 140.0, 35786e3)


def _fd_accel(model, x, t, h_r=10.0, h_v=0.1):
    """Central differences of the model acceleration (flight kernel deriv) at x."""
    from bmdsim.tracking.models import scratch, xdot_1

    cfg, mp = model.cfg(), model.params()
    w = scratch()
    J = np.zeros((3, 6))
    for j in range(6):
        step = h_r if j < 3 else h_v
        fp, fm = np.empty(6), np.empty(6)
        xp = x.copy()
        xp[j] += step
        xdot_1(t, xp, cfg, mp[0], w, fp)
        xp[j] = x[j] - step
        xdot_1(t, xp, cfg, mp[0], w, fm)
        J[:, j] = (fp[3:] - fm[3:]) / (2 * step)
    return J


@pytest.mark.parametrize("j2", [False, True])
def test_gravity_gradient_matches_finite_differences(j2):
    # oracle: central differences of flight.kernel.deriv (no drag: 600 km)
    model = MotionModel(earth=EarthModel(j2=j2, drag=False))
    gr, gv = acceleration_jacobian(X0, 0.0, model=model)
    fd = _fd_accel(model, X0, 0.0)
    # gradient ~2.4e-6 /s^2; FD truncation (10 m)^2 * mu / r^5 ~ 1e-17, rounding ~1e-15
    np.testing.assert_allclose(gr[0], fd[:, :3], rtol=0, atol=1e-13)
    assert np.all(gv == 0.0)


def test_drag_partials_match_finite_differences_in_the_air():
    # 60 km up, descending at 6 km/s: drag ~ 30 m/s^2 with beta 2000
    r = frames.geodetic_to_ecef(45.0, 230.0, 60e3)
    up = r / np.linalg.norm(r)
    east = np.cross([0, 0, 1.0], up)
    east /= np.linalg.norm(east)
    v = 6000.0 * (np.cos(np.radians(25)) * east - np.sin(np.radians(25)) * up)
    x = np.concatenate([r, v])
    model = MotionModel()
    gr, gv = acceleration_jacobian(x, 0.0, model=model)
    fd = _fd_accel(model, x, 0.0, h_r=5.0, h_v=0.05)
    # dominant terms: d(a_drag)/dv ~ 2|a|/v ~ 1e-2 /s, d(a_drag)/dr ~ |a|/H ~ 4e-3 /s^2;
    # the table's piecewise log-linear density makes FD agree to ~1 % of those
    np.testing.assert_allclose(gv[0], fd[:, 3:], rtol=0, atol=2e-4)
    np.testing.assert_allclose(gr[0], fd[:, :3], rtol=0, atol=1e-4)


@pytest.mark.parametrize("dt", [1.0, 7.3, 60.0])
def test_stm_matches_finite_differences_of_the_flown_mean(dt):
    # oracle: central differences of the flown mean x1(x0) (same RK4 grid for all)
    model = MotionModel()
    x1, phi, q = transition(X0, 100.0, 100.0 + dt, model=model)
    steps = np.array([1.0, 1.0, 1.0, 1e-3, 1e-3, 1e-3])
    fd = np.zeros((6, 6))
    for j in range(6):
        xp = np.tile(X0, (2, 1))
        xp[0, j] += steps[j]
        xp[1, j] -= steps[j]
        y, _, _ = transition(xp, 100.0, 100.0 + dt, model=model)
        fd[:, j] = (y[0] - y[1]) / (2 * steps[j])
    # position columns: 1 m steps -> rounding 1e-9 m / 1 m; velocity columns: 1e-3 m/s steps
    np.testing.assert_allclose(phi[0][:, :3], fd[:, :3], rtol=0, atol=1e-7)
    np.testing.assert_allclose(phi[0][:, 3:], fd[:, 3:], rtol=0, atol=1e-5 * max(dt, 1.0))
    # the process noise is the constant-velocity white-acceleration one: Q_vv = q dt
    assert q[0, 3, 3] == pytest.approx(model.q_m2_s3 * dt, rel=1e-12)
    assert q[0, 0, 0] == pytest.approx(model.q_m2_s3 * dt**3 / 3, rel=1e-12)


def test_mean_propagation_matches_the_truth_integrator():
    # oracle: flight.fly.coast (adaptive Dormand-Prince, tight tolerances) from the same state
    from bmdsim.flight.fly import Tolerances, coast

    model = MotionModel()
    b = coast(0.0, X0[:3], X0[3:], model.beta_kg_m2, record_dt_s=100.0, tolerances=Tolerances(rtol=1e-12, atol_m=1e-6))
    x1, _, _ = transition(X0, 0.0, 500.0, model=model)
    # RK4 with 2 s steps: local error ~ h^5 omega^5 r / 120 ~ 1e-8 m, 250 steps
    np.testing.assert_allclose(x1[0, :3], b.record_eci[0, 5, :3], rtol=0, atol=1e-3 * METRE)
    np.testing.assert_allclose(x1[0, 3:], b.record_eci[0, 5, 3:], rtol=0, atol=1e-5)


def test_radar_measurement_matches_frames_az_el_range():
    # oracle: earth.frames.az_el_range (numpy) after rotating ECI to ECEF at t
    t = 345.6
    z, H = measure(X0, t, RADAR, SHARIKI)
    r_ecef, _ = frames.eci_to_ecef(X0[:3], X0[3:], t)
    az, el, rng = frames.az_el_range(r_ecef, 40.89, 140.32, 0.0)
    assert z[0, 0] == pytest.approx(rng, abs=1e-6 * METRE)
    assert z[0, 1] == pytest.approx(np.radians(az), abs=1e-12)
    assert z[0, 2] == pytest.approx(np.radians(el), abs=1e-12)


def test_infrared_measurement_uses_the_satellite_enu_frame():
    t = 12.0
    z, H = measure(X0, t, INFRARED, GEO)
    r_ecef, _ = frames.eci_to_ecef(X0[:3], X0[3:], t)
    lat, lon, _ = frames.ecef_to_geodetic(GEO)
    az, el, _ = frames.az_el_range(r_ecef, lat, lon, frames.ecef_to_geodetic(GEO)[2])
    assert z[0, 0] == pytest.approx(np.radians(az), abs=1e-12)
    assert z[0, 1] == pytest.approx(np.radians(el), abs=1e-12)
    assert np.isnan(z[0, 2]) and np.all(H[0, 2] == 0.0)
    assert z[0, 1] < 0  # looking down at the Earth from GEO


@pytest.mark.parametrize("kind,site", [(RADAR, SHARIKI), (INFRARED, GEO)])
def test_measurement_jacobian_matches_finite_differences(kind, site):
    t = 50.0
    _, H = measure(X0, t, kind, site)
    m = 3 if kind == RADAR else 2
    fd = np.zeros((m, 6))
    for j in range(3):
        xp, xm = X0.copy(), X0.copy()
        xp[j] += 1.0
        xm[j] -= 1.0
        dz = measure(xp, t, kind, site)[0][0, :m] - measure(xm, t, kind, site)[0][0, :m]
        a = 1 if kind == RADAR else 0
        dz[a] = wrap_pi(dz[a])
        fd[:, j] = dz / 2.0
    # range row ~1, angle rows ~1e-6 /m (radar) and 3e-8 /m (GEO)
    np.testing.assert_allclose(H[0, :m, :3], fd[:, :3], rtol=1e-6, atol=1e-14)
    assert np.all(H[0, :m, 3:] == 0.0)


def test_wrap_pi_range():
    a = np.array([np.pi, -np.pi, 3 * np.pi, 0.1, -0.1, 2 * np.pi - 1e-9])
    w = np.array([wrap_pi(v) for v in a])
    assert np.all(w > -np.pi) and np.all(w <= np.pi)
    np.testing.assert_allclose(np.cos(w), np.cos(a), atol=1e-12)
