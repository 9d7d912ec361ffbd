"""The batched EKF and UKF against filterpy on one shared case.

Oracle: filterpy 1.4 ``ExtendedKalmanFilter`` (Joseph-form update) and ``UnscentedKalmanFilter``
with ``MerweScaledSigmaPoints`` (same alpha, beta, kappa), given the same initial state, the same
state transition (mean, F = Phi and Q from ``tracking.transition``), the same measurement
functions and wrapped azimuth residuals, and the same measurements (radar from Shariki, infrared
from a geostationary satellite, one pair at the same instant). Agreement: 1e-6 of a standard
deviation in x, 1e-6 of sqrt(P_ii P_jj) in P.
"""

import numpy as np
from filterpy.kalman import ExtendedKalmanFilter, MerweScaledSigmaPoints, UnscentedKalmanFilter

from bmdsim.earth import frames
from bmdsim.tracking import (
    DEFAULT_SIGMA_POINTS,
    INFRARED,
    RADAR,
    MotionModel,
    ekf_predict,
    ekf_update,
    measure,
    simulate_measurements,
    transition,
    ukf_predict,
    ukf_update,
)
from bmdsim.tracking.models import wrap_pi

MODEL = MotionModel()
X_TRUE = np.array([-3.40e6, 3.55e6, 4.95e6, -4500.0, -3500.0, 2800.0])
SHARIKI = frames.geodetic_to_ecef(40.89, 140.32, 0.0)
GEO = frames.geodetic_to_ecef(0.0, 140.0, 35786e3)
R_RADAR = np.diag([10.0**2, 1e-4**2, 1e-4**2])
R_IR = np.diag([3e-5**2, 3e-5**2, 1.0])
P0 = np.diag([200.0**2] * 3 + [50.0**2] * 3)


def _case():
    """(t, kind, site, R, z) of 12 detections: radar every second, infrared with two of them."""
    rng = np.random.default_rng(20240)
    ts, kinds, sites, Rs = [], [], [], []
    for i in range(10):
        ts.append(100.0 + i)
        kinds.append(RADAR)
        sites.append(SHARIKI)
        Rs.append(R_RADAR)
        if i in (3, 7):
            ts.append(100.0 + i)  # same instant: no prediction in between
            kinds.append(INFRARED)
            sites.append(GEO)
            Rs.append(R_IR)
    ts = np.array(ts)
    truth, _, _ = transition(np.tile(X_TRUE, (len(ts), 1)), 100.0, ts, model=MODEL)
    z = simulate_measurements(truth, ts, np.array(kinds), np.array(sites), np.array(Rs), rng)
    x0 = X_TRUE + rng.standard_normal(6) @ np.linalg.cholesky(P0).T
    return ts, np.array(kinds), np.array(sites), np.array(Rs), z, x0


def _h(x, t, kind, site):
    m = 3 if kind == RADAR else 2
    return measure(x, t, kind, site, earth=MODEL.earth)[0][0, :m]


def _H(x, t, kind, site):
    m = 3 if kind == RADAR else 2
    return measure(x, t, kind, site, earth=MODEL.earth)[1][0, :m]


def _residual(kind):
    a = 1 if kind == RADAR else 0

    def res(z1, z2):
        d = np.asarray(z1, float) - np.asarray(z2, float)
        d[..., a] = (d[..., a] + np.pi) % (2 * np.pi) - np.pi
        return d

    return res


def _z_mean(kind):
    a = 1 if kind == RADAR else 0

    def mean(sigmas, wm):
        d = sigmas - sigmas[0]
        d[:, a] = [wrap_pi(v) for v in d[:, a]]
        return sigmas[0] + wm @ d

    return mean


def _assert_close(x, P, xr, Pr):
    sig = np.sqrt(np.diag(Pr))
    assert np.all(np.abs(x - xr) <= 1e-6 * sig), (x - xr) / sig
    assert np.all(np.abs(P - Pr) <= 1e-6 * np.outer(sig, sig))


class _EKF(ExtendedKalmanFilter):
    """filterpy EKF whose mean flies the nonlinear model (filterpy's documented override)."""

    x_next = None

    def predict_x(self, u=0):
        self.x = self.x_next


def test_ekf_matches_filterpy():
    ts, kinds, sites, Rs, z, x0 = _case()
    ref = _EKF(dim_x=6, dim_z=3)
    ref.x, ref.P = x0.copy(), P0.copy()
    x, P = x0[None].copy(), P0[None].copy()
    t_prev = ts[0]
    for i, t in enumerate(ts):
        if t != t_prev:
            x1, phi, q = transition(ref.x, t_prev, t, model=MODEL)
            ref.F, ref.Q, ref.x_next = phi[0], q[0], x1[0]
            ref.predict()
            x, P = ekf_predict(x, P, t_prev, t, model=MODEL)
            t_prev = t
        k, s, m = kinds[i], sites[i], 3 if kinds[i] == RADAR else 2
        ref.update(z[i, :m], _H, _h, R=Rs[i, :m, :m], args=(t, k, s), hx_args=(t, k, s), residual=_residual(k))
        x, P, nis = ekf_update(x, P, t, k, z[i], Rs[i], s, model=MODEL)
        _assert_close(x[0], P[0], ref.x, ref.P)
    # and the filter moved: the last state is far better than the first guess
    assert np.linalg.norm(x[0, :3] - transition(X_TRUE, 100.0, ts[-1], model=MODEL)[0][0, :3]) < 100.0


def test_ukf_matches_filterpy():
    ts, kinds, sites, Rs, z, x0 = _case()
    sp = DEFAULT_SIGMA_POINTS
    points = MerweScaledSigmaPoints(6, alpha=sp.alpha, beta=sp.beta, kappa=sp.kappa)

    def fx(x, dt, t0):
        return transition(x, t0, t0 + dt, model=MODEL)[0][0]

    ref = UnscentedKalmanFilter(dim_x=6, dim_z=3, dt=1.0, hx=None, fx=fx, points=points)
    ref.x, ref.P = x0.copy(), P0.copy()
    x, P = x0[None].copy(), P0[None].copy()
    t_prev = ts[0]
    ref.sigmas_f = points.sigma_points(ref.x, ref.P)  # filterpy needs a predict before the first update
    for i, t in enumerate(ts):
        if t != t_prev:
            ref.Q = transition(ref.x, t_prev, t, model=MODEL)[2][0]
            ref.predict(dt=t - t_prev, t0=t_prev)
            x, P = ukf_predict(x, P, t_prev, t, model=MODEL)
            t_prev = t
        else:
            ref.sigmas_f = points.sigma_points(ref.x, ref.P)  # second update at one instant: redraw
        k, s, m = kinds[i], sites[i], 3 if kinds[i] == RADAR else 2
        ref.residual_z = _residual(k)
        ref.z_mean = _z_mean(k)
        ref.update(z[i, :m], R=Rs[i, :m, :m], hx=lambda xx, t=t, k=k, s=s: _h(xx, t, k, s))
        x, P, nis = ukf_update(x, P, t, k, z[i], Rs[i], s, model=MODEL)
        _assert_close(x[0], P[0], ref.x, ref.P)
    assert np.linalg.norm(x[0, :3] - transition(X_TRUE, 100.0, ts[-1], model=MODEL)[0][0, :3]) < 100.0


def test_ekf_and_ukf_agree_when_the_problem_is_nearly_linear():
    # oracle: each other; with 1-s steps and a 1000-km radar the nonlinearity is tiny
    ts, kinds, sites, Rs, z, x0 = _case()
    xs = {}
    for name, (pred, upd) in {"ekf": (ekf_predict, ekf_update), "ukf": (ukf_predict, ukf_update)}.items():
        x, P = x0[None].copy(), P0[None].copy()
        t_prev = ts[0]
        for i, t in enumerate(ts):
            if t != t_prev:
                x, P = pred(x, P, t_prev, t, model=MODEL)
                t_prev = t
            x, P, _ = upd(x, P, t, kinds[i], z[i], Rs[i], sites[i], model=MODEL)
        xs[name] = (x[0], P[0])
    (xe, Pe), (xu, Pu) = xs["ekf"], xs["ukf"]
    sig = np.sqrt(np.diag(Pe))
    assert np.all(np.abs(xe - xu) < 0.01 * sig)
    np.testing.assert_allclose(np.sqrt(np.diag(Pu)), sig, rtol=0.01)
