"""Motion and measurement models of the trackers against independent derivatives and frames.

Oracles: central finite differences of the flight kernel's own acceleration and of the flown
mean (for the analytic gravity gradient and the variational equations); the variational
equations integrated with the mean's RK4 stages (for the closed-form vacuum STM and the air
STM's own RK4 steps); ``earth.atmosphere`` (for the density and its slope); ``earth.frames``
(numpy, independent of the numba kernels) for the measurement geometry.
"""

import numpy as np
import pytest

from bmdsim.earth import frames
from bmdsim.flight.fly import EarthModel
from bmdsim.earth.atmosphere import density_and_sound_speed
from bmdsim.tracking import INFRARED, RADAR, MotionModel, acceleration_jacobian, measure, transition
from bmdsim.tracking.models import _density_slope, wrap_pi

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


def _state(h_m, lat, lon, gamma_deg, speed):
    """ECI (= ECEF at t = 0) state at geodetic height h_m, flight-path angle gamma below the horizon."""
    r = frames.geodetic_to_ecef(lat, lon, h_m)
    up = r / np.linalg.norm(r)
    east = np.cross([0, 0, 1.0], up)
    east /= np.linalg.norm(east)
    v = speed * (np.cos(np.radians(gamma_deg)) * east - np.sin(np.radians(gamma_deg)) * up)
    return np.concatenate([r, v])


def _block_error(phi, ref, h):
    """Largest difference of two STMs in the blocks' units: position-position and
    velocity-velocity as they are, position-velocity over h, velocity-position times h."""
    d = np.abs(phi - ref)
    return max(d[:3, :3].max(), d[3:, 3:].max(), d[:3, 3:].max() / h, d[3:, :3].max() * h)


VACUUM_STATES = [X0] + [
    _state(h, lat, lon, g, speed)
    for h, speed in ((250e3, 7000.0), (1200e3, 5500.0))
    for lat, lon, g in ((45.0, 230.0, 25.0), (-20.0, 10.0, -40.0), (80.0, 100.0, 5.0), (0.0, 0.0, 0.0))
]


@pytest.mark.parametrize("dt", [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 60.0])
def test_vacuum_closed_form_stm_matches_the_variational_equations(dt):
    # oracle: the variational equations integrated with the mean's RK4 stages (stm_chunk_s = 0;
    # their own error, (|A| h)^5 / 120 at h = 2 s, is ~1e-15). Bound (models docstring): the
    # J2 share of dG/dt left out of the second Magnus term, <= 1e-8 (h / 10 s)^3 in the blocks'
    # units over one run (up to 10 s); 60 s is six runs multiplied.
    ref = MotionModel(stm_chunk_s=0.0)
    bound = 1e-8 * (dt / 10.0) ** 3 + 1e-13 if dt <= 10.0 else 1e-6
    for x in VACUUM_STATES:
        x1, phi, q = transition(x, 100.0, 100.0 + dt)
        x1r, phir, qr = transition(x, 100.0, 100.0 + dt, model=ref)
        assert np.array_equal(x1, x1r) and np.array_equal(q, qr)  # the mean and Q do not depend on it
        assert _block_error(phi[0], phir[0], dt) < bound


AIR_STATES = [
    _state(h, lat, lon, g, speed)
    for h, g, speed in ((30e3, 25.0, 3000.0), (45e3, 40.0, 6000.0), (61e3, 25.0, 5000.0), (61e3, -30.0, 5000.0),
                        (80e3, 25.0, 7000.0), (100e3, -20.0, 6500.0))
    for lat, lon in ((80.0, 100.0), (40.0, 140.0))
]


@pytest.mark.parametrize("dt", [0.25, 0.5, 1.0, 2.0])
def test_air_stm_steps_match_the_variational_equations(dt):
    # oracle: the variational equations integrated with the mean's RK4 stages (stm_step_air_s =
    # 0), which are themselves within ~2e-8 of a 0.01-s integration here. The STM's own RK4
    # steps of 0.5 s with A at their ends and Hermite midpoint: measured <= 3.5e-7 in the
    # blocks' units over these states (drag up to ~40 m/s^2); bound 1e-6, a millionth of the
    # transition, next to a drag known to ~30 %.
    ref = MotionModel(stm_step_air_s=0.0)
    for x in AIR_STATES:
        x1, phi, q = transition(x, 0.0, dt)
        x1r, phir, qr = transition(x, 0.0, dt, model=ref)
        assert np.array_equal(x1, x1r) and np.array_equal(q, qr)
        assert _block_error(phi[0], phir[0], dt) < 1e-6


def test_density_slope_is_the_atmosphere_density_and_its_derivative():
    # oracle: earth.atmosphere.density_and_sound_speed (equal bit for bit) and central
    # differences of it (0.01 m; away from the table's nodes, where the interpolant's second
    # derivative jumps; below the floor the density is held)
    rng = np.random.default_rng(8)
    heights = np.concatenate([
        [-2500.0, -999.0, -500.0, 0.0, 37.5, 50e3, 99_999.0, 100e3, 100_001.0, 150e3, 999e3, 1e6, 1.3e6],
        rng.uniform(-900.0, 1.2e6, 300),
    ])
    for h in heights:
        rho, slope = _density_slope(h)
        assert rho == density_and_sound_speed(h)[0]
        if h % 100.0 < 0.02 or h % 100.0 > 99.98 or abs(h + 1000.0) < 0.02:
            continue
        d = 0.01
        fd = (density_and_sound_speed(h + d)[0] - density_and_sound_speed(h - d)[0]) / (2 * d)
        assert slope == pytest.approx(fd, rel=1e-5, abs=1e-9 * rho)
    assert _density_slope(-5000.0)[1] == 0.0  # held below -1 km


def test_mean_propagation_matches_the_truth_integrator():
    # oracle: flight.fly.coast (adaptive Dormand-Prince, tight tolerances) from the same state
    from bmdsim.flight.fly import Tolerances, coast

    model = MotionModel(h_drag_top_m=1e6)  # the truth's air, to 1000 km
    b = coast(0.0, X0[:3], X0[3:], model.beta_kg_m2, record_dt_s=100.0, tolerances=Tolerances(rtol=1e-12, atol_m=1e-6))
    x1, _, _ = transition(X0, 0.0, 500.0, model=model)
    # RK4 with 2 s steps: local error ~ h^5 omega^5 r / 120 ~ 1e-8 m, 250 steps
    np.testing.assert_allclose(x1[0, :3], b.record_eci[0, 5, :3], rtol=0, atol=1e-3 * METRE)
    np.testing.assert_allclose(x1[0, 3:], b.record_eci[0, 5, 3:], rtol=0, atol=1e-5)


def test_no_drag_above_h_drag_top_changes_a_midcourse_prediction_by_centimetres():
    # oracle: the same model with the truth's air (to 1000 km). From 260 km climbing at 7 km/s,
    # 300 s (to ~1,700 km): drag above 250 km is below 7.4e-7 m/s^2 (0.5 a t^2 = 3.3 cm)
    x = _state(260e3, 40.0, 130.0, gamma_deg=-30.0, speed=7000.0)
    full = MotionModel(h_drag_top_m=1e6)
    x1, phi, q = transition(x, 0.0, 300.0)
    x1f, phif, qf = transition(x, 0.0, 300.0, model=full)
    dr = np.linalg.norm(x1[0, :3] - x1f[0, :3])
    assert 1e-4 * METRE < dr < 0.05 * METRE  # the cut acts, and costs centimetres
    assert np.linalg.norm(x1[0, 3:] - x1f[0, 3:]) < 5e-4
    assert _block_error(phi[0], phif[0], 300.0) < 1e-10  # through the mean only (no drag partials above h_air_m)
    assert np.array_equal(q, qf)  # the drag noise is only below h_air_m (150 km)
    # below 250 km nothing changes
    x = _state(80e3, 40.0, 130.0, gamma_deg=-30.0, speed=7000.0)
    assert np.array_equal(transition(x, 0.0, 2.0)[0], transition(x, 0.0, 2.0, model=full)[0])


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
