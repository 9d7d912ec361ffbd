"""The tracker's fast kernels against their references.

- the scalar ballistic acceleration of the propagation against ``flight.kernel.deriv`` itself;
- the analytic drag partials against central differences of deriv (the partials before them);
- the analytic gradient of the air height against central differences of the flight kernel's;
- the flat-array EKF predict and update against dense numpy (Phi P Phi^T + Q, Joseph form),
  and the update against an extended-precision Joseph form from priors up to 1e12 times the
  posterior (the optimal-gain form below det(S) / det(R) = JOSEPH_ABOVE, the Joseph form above);
- one work array reused over a sequence of predicts and updates against fresh calls;
- ``track``: every output row written, independent of input order, ENU bases per site run.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from bmdsim.earth import frames
from bmdsim.flight import kernel as K
from bmdsim.flight.fly import EarthModel
from bmdsim.tracking import INFRARED, RADAR, MotionModel, simulate_measurements, track, transition
from bmdsim.tracking import filters as F
from bmdsim.tracking import models as M
from bmdsim.tracking.track import _site_bases

SHARIKI = frames.geodetic_to_ecef(40.89, 140.32, 0.0)
GEO = frames.geodetic_to_ecef(0.0, 140.0, 35786e3)
EARTHS = [EarthModel(), EarthModel(j2=False), EarthModel(drag=False), EarthModel(sphere_radius_m=6371e3)]


def _state(h_m, lat=45.0, lon=230.0, gamma_deg=25.0, speed=5000.0):
    """ECI (= ECEF at t = 0) state at geodetic height h_m, flight-path angle gamma below the horizon."""
    r = frames.geodetic_to_ecef(lat, lon, h_m)
    up = r / np.linalg.norm(r)
    east = np.cross([0, 0, 1.0], up)
    east /= np.linalg.norm(east)
    v = speed * (np.cos(np.radians(gamma_deg)) * east - np.sin(np.radians(gamma_deg)) * up)
    return np.concatenate([r, v])


STATES = [
    _state(h, lat, lon, g)
    for h in (30.05e3, 61.35e3, 99.95e3, 140.05e3, 600e3, 1100e3)
    for lat, lon, g in ((45.0, 230.0, 25.0), (-20.0, 10.0, -40.0), (80.0, 100.0, 5.0))
]


@pytest.mark.parametrize("earth", EARTHS)
def test_scalar_acceleration_is_the_flight_kernels(earth):
    # oracle: flight.kernel.deriv (through xdot_1); the propagation's copy of its coast branch
    cfg, mp = MotionModel(earth=earth).cfg(), MotionModel(earth=earth).params()
    w = M.scratch()
    for x in STATES:
        ref, fast = np.empty(6), np.empty(6)
        M.xdot_1(0.0, x, cfg, mp[M.M_INV_BETA], w, ref)
        M.xdot_fast_1(x, cfg, mp[M.M_INV_BETA], 1e6, fast)  # deriv's air, to 1000 km
        assert np.array_equal(fast[:3], x[3:])
        # equal up to rounding (the same operations as deriv at e0559b5: equal bit for bit then)
        np.testing.assert_allclose(fast[3:], ref[3:], rtol=0, atol=1e-14 * np.linalg.norm(ref[3:]))


@pytest.mark.parametrize("earth", [EarthModel(), EarthModel(sphere_radius_m=6371e3)])
def test_analytic_drag_partials_match_finite_differences_of_deriv(earth):
    # oracle: accel_jacobian_fd_1, central differences (1 m, 1 cm/s) of deriv minus gravity, the
    # partials the propagation used before. Heights between the density table's knots (100 m):
    # within 1 m of a knot both are central differences across a jump of the second derivative.
    model = MotionModel(earth=earth)
    cfg, mp = model.cfg(), model.params()
    n_air = 0
    for x in STATES:
        ga, va, gf, vf, g0 = (np.zeros((3, 3)) for _ in range(5))
        M.accel_jacobian_1(0.0, x, cfg, mp, M.scratch(), ga, va)
        M.accel_jacobian_fd_1(0.0, x, cfg, mp, M.scratch(), gf, vf)
        M.gravity_gradient_1(x, True, g0)
        if not M.in_air_1(x, mp):
            assert np.array_equal(ga, gf) and np.all(va == 0.0) and np.all(vf == 0.0)
            continue
        n_air += 1
        dr_a, dr_f = ga - g0, gf - g0
        # FD rounding: ulp(g) / 2 m ~ 1e-15 /s^2 against partials down to ~1e-12 at 140 km
        np.testing.assert_allclose(dr_a, dr_f, rtol=0, atol=1e-5 * np.abs(dr_f).max() + 2e-15)
        np.testing.assert_allclose(va, vf, rtol=0, atol=1e-5 * np.abs(vf).max() + 1e-13)
    assert n_air >= 9  # 140 km counts as air only near the poles (h_air is above the polar radius)


@pytest.mark.parametrize("sphere_r", [0.0, 6371e3])
def test_height_gradient_matches_finite_differences(sphere_r):
    for x in STATES:
        p = x[:3]
        r2 = float(p @ p)
        g = np.array(M._height_grad(p[0], p[1], p[2], np.sqrt(r2), 1.0 / r2, sphere_r))
        fd = np.empty(3)
        for j in range(3):
            hp, hm = p.copy(), p.copy()
            hp[j] += 10.0
            hm[j] -= 10.0
            fp = K._height_for_air(hp[0], hp[1], hp[2], np.linalg.norm(hp), 1.0 / (hp @ hp), sphere_r)
            fm = K._height_for_air(hm[0], hm[1], hm[2], np.linalg.norm(hm), 1.0 / (hm @ hm), sphere_r)
            fd[j] = (fp - fm) / 20.0
        np.testing.assert_allclose(g, fd, rtol=0, atol=1e-8)


def _spd(rng, scale):
    a = rng.normal(size=(6, 6))
    return (a @ a.T + 6 * np.eye(6)) * np.outer(scale, scale) / 12.0


POS_VEL_SIGMA = np.array([300.0, 300.0, 300.0, 30.0, 30.0, 30.0])


def _rel_P(a, b):
    s = np.sqrt(np.diag(b))
    return (np.abs(a - b) / np.outer(s, s)).max()


@pytest.mark.parametrize("h_m", [61.35e3, 600e3])
def test_flat_ekf_prediction_is_phi_p_phi_t_plus_q(h_m):
    # oracle: transition() (the same propagation, checked against finite differences of the
    # flown mean in test_models.py) and dense numpy algebra
    rng = np.random.default_rng(3)
    x = _state(h_m)
    P = _spd(rng, POS_VEL_SIGMA)
    x1, phi, Q = transition(x, 0.0, 1.0)
    xe, Pe = F.ekf_predict(x, P, 0.0, 1.0)
    assert np.array_equal(xe[0], x1[0])
    ref = phi[0] @ P @ phi[0].T + Q[0]
    assert _rel_P(Pe[0], ref) < 1e-13
    assert np.array_equal(Pe[0], Pe[0].T)


@pytest.mark.parametrize("kind,site", [(RADAR, SHARIKI), (INFRARED, GEO)])
def test_flat_ekf_update_is_the_dense_joseph_form(kind, site):
    # oracle: dense numpy EKF update with the Joseph form, H from measure()
    rng = np.random.default_rng(4)
    x = _state(600e3)
    P = _spd(rng, POS_VEL_SIGMA)
    R = np.diag([10.0**2, 1e-4**2, 1e-4**2]) if kind == RADAR else np.diag([3e-5**2, 3e-5**2, 0.0])
    m = 3 if kind == RADAR else 2
    t = 37.0
    z = simulate_measurements(x + rng.normal(size=6) * POS_VEL_SIGMA, t, kind, site, R, rng)[0]
    zp, H = M.measure(x, t, kind, site)
    zp, H = zp[0, :m], H[0, :m]
    nu = z[:m] - zp
    a = 1 if kind == RADAR else 0
    nu[a] = (nu[a] + np.pi) % (2 * np.pi) - np.pi
    Rm = R[:m, :m]
    S = H @ P @ H.T + Rm
    Kg = P @ H.T @ np.linalg.inv(S)
    A = np.eye(6) - Kg @ H
    P_ref = A @ P @ A.T + Kg @ Rm @ Kg.T
    x_ref = x + Kg @ nu
    xn, Pn, nis = F.ekf_update(x, P, t, kind, z, R, site)
    sig = np.sqrt(np.diag(P_ref))
    assert np.abs(xn[0] - x_ref).max() < 1e-9 * sig.min()
    assert _rel_P(Pn[0], P_ref) < 1e-10
    assert nis[0] == pytest.approx(nu @ np.linalg.solve(S, nu), rel=1e-10)
    assert np.array_equal(Pn[0], Pn[0].T)


def _joseph_longdouble(P, H, R):
    """The Joseph-form update of P in extended precision (x87 long double, 64-bit mantissa)."""
    P, H, R = (np.asarray(a, np.longdouble) for a in (P, H, R))
    S = H @ P @ H.T + R
    adj = np.empty((3, 3), np.longdouble)  # 3 x 3 inverse by cofactors, in long double
    for i in range(3):
        for j in range(3):
            m = np.delete(np.delete(S, i, 0), j, 1)
            adj[j, i] = (-1) ** (i + j) * (m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
    K = P @ H.T @ (adj / (S[0] @ adj[:, 0]))
    A = np.eye(6, dtype=np.longdouble) - K @ H
    ratio = float(np.linalg.det(S.astype(float)) / np.linalg.det(R.astype(float)))  # det(S) / det(R)
    return (A @ P @ A.T + K @ R @ K.T).astype(float), ratio


@pytest.mark.parametrize("sigma_r_m", [1e6, 3e3, 300.0, 30.0])
def test_update_from_a_diffuse_prior_stays_exact_and_positive(sigma_r_m):
    # oracle: the Joseph form in extended precision. A radar (1 m, 1 urad) updating a prior of
    # sigma_r_m and sigma_r_m / 1000 s: variance reductions from ~1e12 (diffuse: the Joseph form,
    # det(S) / det(R) far above JOSEPH_ABOVE) to ~10 (the optimal-gain form, whose error is
    # ~eps times the reduction, <= ~2e-10 below the threshold); then four more predict-update
    # cycles, whose priors (position and velocity nearly collinear after one update) make even
    # the dense float64 Joseph form err by up to ~1e-10: allowed 10 times that.
    rng = np.random.default_rng(12)
    x = _state(600e3)
    P = np.diag(np.array([sigma_r_m] * 3 + [sigma_r_m / 1000.0] * 3) ** 2)
    R = np.diag([1.0, 1e-6**2, 1e-6**2])
    t = 10.0
    for step in range(5):
        z = simulate_measurements(x, t, RADAR, SHARIKI, R, rng)
        _, H = M.measure(x, t, RADAR, SHARIKI)
        ref, ratio = _joseph_longdouble(P, H[0], R)
        xn, Pn, nis = F.ekf_update(x, P, t, RADAR, z, R, SHARIKI)
        Kd = P @ H[0].T @ np.linalg.inv(H[0] @ P @ H[0].T + R)
        Ad = np.eye(6) - Kd @ H[0]
        dense = _rel_P(Ad @ P @ Ad.T + Kd @ R @ Kd.T, ref)
        tol = max(1e-13, 10.0 * dense) + (0.0 if ratio > F.JOSEPH_ABOVE else 1e-15 * ratio)
        assert _rel_P(Pn[0], ref) < tol, (step, ratio)
        np.linalg.cholesky(Pn[0])  # positive definite
        assert np.isfinite(nis[0])
        x1, P1 = F.ekf_predict(xn[0], Pn[0], t, t + 1.0)
        x, P, t = x1[0], P1[0], t + 1.0


def test_one_work_array_reused_equals_fresh_calls():
    # the per-target work array carries nothing from one call to the next but the state
    rng = np.random.default_rng(5)
    model = MotionModel()
    cfg, mp, om = model.cfg(), model.params(), float(model.earth.omega_rad_s)
    x = _state(61.35e3, gamma_deg=-30.0)  # climbing through the air
    P = _spd(rng, POS_VEL_SIGMA)
    R = np.diag([10.0**2, 1e-4**2, 1e-4**2])
    B = M.site_basis(SHARIKI)
    wb = F.ekf_work()
    F.ekf_set(wb, x, P)
    xr, Pr = x.copy(), P.copy()
    t = 0.0
    for step in range(40):
        t1 = t + (1.0 if step % 3 else 10.0)
        F.ekf_predict_flat(wb, t, t1, step < 5, cfg, mp)
        F.ekf_predict_1(xr, Pr, t, t1, step < 5, cfg, mp)
        t = t1
        z = simulate_measurements(xr, t, RADAR, SHARIKI, R, rng)
        n1 = F.ekf_update_flat(wb, t, RADAR, z, R[None], SHARIKI[None], B[None], 0, 0, om)
        n2 = F.ekf_update_1(xr, Pr, t, RADAR, z[0], R, SHARIKI, B, om)
        xw, Pw = np.empty(6), np.empty((6, 6))
        F.ekf_get(wb, xw, Pw)
        assert np.array_equal(xw, xr) and np.array_equal(Pw, Pr) and n1 == n2


def _small_detections(seed=7):
    """Radar and infrared detections of a few noisy copies of a coasting state, interleaved."""
    rng = np.random.default_rng(seed)
    x0 = _state(900e3, gamma_deg=-10.0, speed=6000.0)
    t = np.arange(0.0, 60.0)
    truth, _, _ = transition(np.broadcast_to(x0, (t.size, 6)), 0.0, t)
    sites = (SHARIKI, frames.geodetic_to_ecef(35.0, 139.0, 0.0))
    cols = {k: [] for k in ("t_s", "target", "kind", "z", "R", "site_ecef_m", "sensor")}
    R_r, R_i = np.diag([10.0**2, 1e-4**2, 1e-4**2]), np.diag([3e-5**2, 3e-5**2, 0.0])
    for k in range(4):
        for sid, (kind, site, R, t_k) in enumerate(((RADAR, sites[0], R_r, t), (RADAR, sites[1], R_r, t[5::2]),
                                                    (INFRARED, GEO, R_i, t[::3]))):
            idx = t_k.astype(int)
            cols["t_s"].append(t_k)
            cols["target"].append(np.full(idx.size, k))
            cols["kind"].append(np.full(idx.size, kind))
            cols["z"].append(simulate_measurements(truth[idx], t_k, kind, site, R, rng))
            cols["R"].append(np.broadcast_to(R, (idx.size, 3, 3)))
            cols["site_ecef_m"].append(np.broadcast_to(site, (idx.size, 3)))
            cols["sensor"].append(np.full(idx.size, sid))
    return SimpleNamespace(**{k: np.concatenate(v) for k, v in cols.items()})


@pytest.mark.parametrize("method", ["ekf", "ukf"])
def test_track_writes_every_row_whatever_the_input_order(method):
    det = _small_detections()
    h = track(det, method=method)
    assert h.x.shape[0] == h.offsets[-1] == h.t_s.shape[0]
    assert np.isfinite(h.x).all() and np.isfinite(h.P).all()
    assert np.all(np.diff(h.offsets) > 0)
    # shuffled, except that detections of a target at one time keep their order (fused in input order)
    m = det.t_s.size
    _, gid = np.unique(np.stack([det.target, det.t_s], 1), axis=0, return_inverse=True)
    perm = np.lexsort((np.arange(m), np.random.default_rng(1).random(gid.max() + 1)[gid.ravel()]))
    assert not np.array_equal(perm, np.arange(m))
    hp = track(SimpleNamespace(**{k: v[perm] for k, v in vars(det).items()}), method=method)
    for name in ("t_s", "x", "P", "nis", "initiated_at_s", "established_at_s", "cued_at_s"):
        assert np.array_equal(getattr(h, name), getattr(hp, name), equal_nan=True), name
    assert np.array_equal(perm[hp.detection_index], h.detection_index)


def test_site_bases_per_run_equal_the_per_detection_bases():
    det = _small_detections()
    m = det.t_s.size
    for ns in (det, SimpleNamespace(**vars(det), site_lat_deg=np.full(m, 40.0), site_lon_deg=np.full(m, 140.0))):
        site, B, run = _site_bases(ns, ns.site_ecef_m, m)
        lat_lon = (ns.site_lat_deg, ns.site_lon_deg) if hasattr(ns, "site_lat_deg") else (None, None)
        assert np.array_equal(site[run], ns.site_ecef_m)
        assert np.array_equal(B[run], M.site_basis(ns.site_ecef_m, *lat_lon))
        assert B.shape[0] < m / 10
