"""Batched EKF and UKF over K tracks: predict and update, state x = (r_eci_m, v_eci_mps).

EKF (Bar-Shalom, Li & Kirubarajan 2001, sec. 10.3): the mean flies the nonlinear ballistic model
(``models.propagate_1``), the covariance P <- Phi P Phi^T + Q with Phi from the variational
equations; the update linearises h at the prediction, K = P H^T S^-1, and takes the Joseph form
P <- (I - K H) P (I - K H)^T + K R K^T (ibid. eq. 5.2.3-18), which stays symmetric and positive
for any gain.

UKF: the scaled unscented transform (Julier, "The scaled unscented transformation", ACC 2002;
Wan & van der Merwe, "The unscented Kalman filter for nonlinear estimation", AS-SPCC 2000) with
2n + 1 = 13 sigma points x, x +- gamma L[:, i] (P = L L^T, Cholesky; gamma = sqrt(n + lambda),
lambda = alpha^2 (n + kappa) - n), weights Wm_0 = lambda / (n + lambda), Wc_0 = Wm_0 + 1 -
alpha^2 + beta, Wm_i = Wc_i = 1 / (2 (n + lambda)). Defaults alpha = 1, beta = 2, kappa = 0
(points at +- sqrt(6) sigma, Wm_0 = 0): over a one-second revisit the model is nearly linear,
and alpha = 1 avoids the large negative centre weight (-10^6 at alpha = 1e-3) that makes the
sums cancel in floating point at ECI magnitudes. Predict: every sigma point flies the same
model; P = sum Wc (Y - x)(Y - x)^T + Q, with Q accumulated along the centre point (the prior
mean). Update: sigma points are drawn afresh from the predicted (x, P) (so the update sees Q),
mapped through h; the mean of the predicted measurements is taken relative to the centre point's
(sum of wrapped differences), so azimuths near 0 / 2 pi average correctly; residuals are wrapped;
K = Pxz S^-1, P <- P - K S K^T.

Means are formed as x_0 + sum W_i (x_i - x_0) (equal to sum W_i x_i since sum W_i = 1), which
keeps the sums of 7,000-km positions from cancelling.

Kernels ``*_1`` act on one track in place; ``ekf_predict`` etc. run K tracks in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from bmdsim.errors import BmdsimInputError
from bmdsim.tracking.models import (
    DEFAULT_MODEL,
    MotionModel,
    add_q_1,
    az_index,
    h_1,
    propagate_1,
    propagate_ws,
    propagation_work,
    site_basis,
    wrap_pi,
)

N_X = 6
N_SIGMA = 2 * N_X + 1


@dataclass(frozen=True)
class SigmaPoints:
    """Scaled unscented transform parameters (Wan & van der Merwe 2000); see the module docstring."""

    alpha: float = 1.0
    beta: float = 2.0
    kappa: float = 0.0

    def weights(self, n: int = N_X) -> tuple[np.ndarray, np.ndarray, float]:
        """(Wm, Wc, gamma) for n states."""
        lam = self.alpha**2 * (n + self.kappa) - n
        if not (n + lam > 0 and self.alpha > 0):
            raise BmdsimInputError("alpha/kappa", (self.alpha, self.kappa), "need alpha > 0 and alpha^2 (n + kappa) > 0")
        wm = np.full(2 * n + 1, 0.5 / (n + lam))
        wm[0] = lam / (n + lam)
        wc = wm.copy()
        wc[0] += 1.0 - self.alpha**2 + self.beta
        return wm, wc, math.sqrt(n + lam)


DEFAULT_SIGMA_POINTS = SigmaPoints()


# ------------------------------------------------------------------------ small linear algebra


@njit(cache=True)
def cholesky_1(A, n, L):
    """Lower Cholesky factor of A[:n, :n] into L; False if A is not positive definite."""
    for i in range(n):
        for j in range(n):
            L[i, j] = 0.0
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > 0.0):
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    return True


@njit(cache=True)
def inv_spd_1(A, n, out):
    """Inverse of the symmetric positive definite A[:n, :n] into out (Cholesky); False if not SPD."""
    L = np.empty((n, n))
    if not cholesky_1(A, n, L):
        return False
    Li = np.zeros((n, n))  # L^-1, lower
    for j in range(n):
        Li[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, n):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * Li[k, j]
            Li[i, j] = s / L[i, i]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(max(i, j), n):
                s += Li[k, i] * Li[k, j]
            out[i, j] = s
    return True


@njit(cache=True)
def symmetrize_1(P):
    n = P.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            a = 0.5 * (P[i, j] + P[j, i])
            P[i, j] = a
            P[j, i] = a


@njit(cache=True)
def _sandwich(A, P, out):
    """out = A P A^T (6 x 6)."""
    T = np.empty((6, 6))
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(6):
                s += A[i, k] * P[k, j]
            T[i, j] = s
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(6):
                s += T[i, k] * A[j, k]
            out[i, j] = s


# ----------------------------------------------------------------------------------- EKF


@njit(cache=True)
def ekf_predict_1(x, P, t0, t1, boost, cfg, mp):
    """EKF prediction of one track from t0 to t1, in place."""
    x1 = np.empty(6)
    phi = np.empty((6, 6))
    qpv = np.empty(3)
    propagate_1(t0, x, t1, boost, cfg, mp, True, x1, phi, qpv)
    Pn = np.empty((6, 6))
    _sandwich(phi, P, Pn)
    add_q_1(Pn, qpv)
    symmetrize_1(Pn)
    for i in range(6):
        x[i] = x1[i]
        for j in range(6):
            P[i, j] = Pn[i, j]


@njit(cache=True)
def ekf_update_1(x, P, t, kind, z, R, site, B, omega):
    """EKF update of one track with one measurement (Joseph form), in place; returns the NIS
    (normalised innovation squared), NaN if S was not positive definite (no update).

    site: the sensor's ECEF position, B its ENU basis (``models.site_basis``)."""
    zp = np.empty(3)
    H = np.zeros((3, 6))
    m = h_1(x, t, kind, site, B, omega, zp, H, True)
    nu = np.empty(m)
    for i in range(m):
        nu[i] = z[i] - zp[i]
    a = az_index(kind)
    nu[a] = wrap_pi(nu[a])
    PHt = np.zeros((6, m))
    for i in range(6):
        for j in range(m):
            s = 0.0
            for k in range(6):
                s += P[i, k] * H[j, k]
            PHt[i, j] = s
    S = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            s = R[i, j]
            for k in range(6):
                s += H[i, k] * PHt[k, j]
            S[i, j] = s
    symmetrize_1(S)
    Si = np.empty((m, m))
    if not inv_spd_1(S, m, Si):
        return np.nan
    Kg = np.zeros((6, m))
    for i in range(6):
        for j in range(m):
            s = 0.0
            for k in range(m):
                s += PHt[i, k] * Si[k, j]
            Kg[i, j] = s
    nis = 0.0
    for i in range(m):
        for j in range(m):
            nis += nu[i] * Si[i, j] * nu[j]
    for i in range(6):
        s = 0.0
        for k in range(m):
            s += Kg[i, k] * nu[k]
        x[i] += s
    IKH = np.empty((6, 6))
    for i in range(6):
        for j in range(6):
            s = 1.0 if i == j else 0.0
            for k in range(m):
                s -= Kg[i, k] * H[k, j]
            IKH[i, j] = s
    Pn = np.empty((6, 6))
    _sandwich(IKH, P, Pn)
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(m):
                for l in range(m):
                    s += Kg[i, k] * R[k, l] * Kg[j, l]
            Pn[i, j] += s
    symmetrize_1(Pn)
    for i in range(6):
        for j in range(6):
            P[i, j] = Pn[i, j]
    return nis


# ----------------------------------------------------------------------------------- UKF


@njit(cache=True)
def sigma_points_1(x, P, gamma, chi):
    """The 13 sigma points of (x, P) into chi (13, 6); False if P is not positive definite."""
    L = np.empty((6, 6))
    if not cholesky_1(P, 6, L):
        return False
    for j in range(6):
        chi[0, j] = x[j]
    for i in range(6):
        for j in range(6):
            chi[1 + i, j] = x[j] + gamma * L[j, i]
            chi[7 + i, j] = x[j] - gamma * L[j, i]
    return True


@njit(cache=True)
def ukf_predict_1(x, P, t0, t1, boost, cfg, mp, wm, wc, gamma):
    """UKF prediction of one track from t0 to t1, in place; False (no change) if P is not PD."""
    chi = np.empty((N_SIGMA, 6))
    if not sigma_points_1(x, P, gamma, chi):
        return False
    Y = np.empty((N_SIGMA, 6))
    qpv = np.empty(3)
    qdummy = np.empty(3)
    phi = np.empty((1, 1))
    rows, jac, w = propagation_work()
    propagate_ws(t0, chi[0], t1, boost, cfg, mp, False, Y[0], phi, qpv, rows, jac, w)
    for i in range(1, N_SIGMA):
        propagate_ws(t0, chi[i], t1, boost, cfg, mp, False, Y[i], phi, qdummy, rows, jac, w)
    xm = np.empty(6)
    for j in range(6):
        s = 0.0
        for i in range(1, N_SIGMA):
            s += wm[i] * (Y[i, j] - Y[0, j])
        xm[j] = Y[0, j] + s
    for a in range(6):
        for b in range(6):
            s = 0.0
            for i in range(N_SIGMA):
                s += wc[i] * (Y[i, a] - xm[a]) * (Y[i, b] - xm[b])
            P[a, b] = s
    add_q_1(P, qpv)
    symmetrize_1(P)
    for j in range(6):
        x[j] = xm[j]
    return True


@njit(cache=True)
def ukf_update_1(x, P, t, kind, z, R, site, B, omega, wm, wc, gamma):
    """UKF update of one track with one measurement, in place; returns the NIS (NaN: no update)."""
    chi = np.empty((N_SIGMA, 6))
    if not sigma_points_1(x, P, gamma, chi):
        return np.nan
    Zs = np.empty((N_SIGMA, 3))
    Hd = np.empty((1, 1))
    m = 0
    for i in range(N_SIGMA):
        m = h_1(chi[i], t, kind, site, B, omega, Zs[i], Hd, False)
    a = az_index(kind)
    zm = np.empty(m)
    for j in range(m):
        s = 0.0
        for i in range(1, N_SIGMA):
            d = Zs[i, j] - Zs[0, j]
            if j == a:
                d = wrap_pi(d)
            s += wm[i] * d
        zm[j] = Zs[0, j] + s
    dz = np.empty((N_SIGMA, m))
    for i in range(N_SIGMA):
        for j in range(m):
            d = Zs[i, j] - zm[j]
            if j == a:
                d = wrap_pi(d)
            dz[i, j] = d
    S = np.empty((m, m))
    for p in range(m):
        for q in range(m):
            s = R[p, q]
            for i in range(N_SIGMA):
                s += wc[i] * dz[i, p] * dz[i, q]
            S[p, q] = s
    symmetrize_1(S)
    Pxz = np.empty((6, m))
    for p in range(6):
        for q in range(m):
            s = 0.0
            for i in range(N_SIGMA):
                s += wc[i] * (chi[i, p] - x[p]) * dz[i, q]
            Pxz[p, q] = s
    Si = np.empty((m, m))
    if not inv_spd_1(S, m, Si):
        return np.nan
    nu = np.empty(m)
    for j in range(m):
        nu[j] = z[j] - zm[j]
    nu[a] = wrap_pi(nu[a])
    Kg = np.zeros((6, m))
    for p in range(6):
        for q in range(m):
            s = 0.0
            for k in range(m):
                s += Pxz[p, k] * Si[k, q]
            Kg[p, q] = s
    nis = 0.0
    for p in range(m):
        for q in range(m):
            nis += nu[p] * Si[p, q] * nu[q]
    for p in range(6):
        s = 0.0
        for k in range(m):
            s += Kg[p, k] * nu[k]
        x[p] += s
    for p in range(6):
        for q in range(6):
            s = 0.0
            for k in range(m):
                for l in range(m):
                    s += Kg[p, k] * S[k, l] * Kg[q, l]
            P[p, q] -= s
    symmetrize_1(P)
    return nis


# ----------------------------------------------------------------------------- dispatch


EKF = 0
UKF = 1


@njit(cache=True)
def predict_1(method, x, P, t0, t1, boost, cfg, mp, wm, wc, gamma):
    if method == EKF:
        ekf_predict_1(x, P, t0, t1, boost, cfg, mp)
        return True
    return ukf_predict_1(x, P, t0, t1, boost, cfg, mp, wm, wc, gamma)


@njit(cache=True)
def update_1(method, x, P, t, kind, z, R, site, B, omega, wm, wc, gamma):
    if method == EKF:
        return ekf_update_1(x, P, t, kind, z, R, site, B, omega)
    return ukf_update_1(x, P, t, kind, z, R, site, B, omega, wm, wc, gamma)


@njit(cache=True, parallel=True)
def _predict_kernel(method, x, P, t0, t1, boost, cfg, mp, wm, wc, gamma):
    for k in prange(x.shape[0]):
        predict_1(method, x[k], P[k], t0[k], t1[k], boost[k], cfg, mp, wm, wc, gamma)


@njit(cache=True, parallel=True)
def _update_kernel(method, x, P, t, kind, z, R, site, B, omega, wm, wc, gamma, nis):
    for k in prange(x.shape[0]):
        nis[k] = update_1(method, x[k], P[k], t[k], kind[k], z[k], R[k], site[k], B[k], omega, wm, wc, gamma)


# -------------------------------------------------------------------------- array wrappers


def method_code(method: str) -> int:
    if method == "ekf":
        return EKF
    if method == "ukf":
        return UKF
    raise BmdsimInputError("method", method, "allowed: 'ekf', 'ukf'")


def _batch(x, P):
    x = np.array(np.atleast_2d(np.asarray(x, float)), order="C")
    P = np.array(np.asarray(P, float).reshape(-1, 6, 6), order="C")
    if x.shape[1] != 6 or P.shape[0] != x.shape[0]:
        raise BmdsimInputError("x/P", (x.shape, P.shape), "need x (K, 6) and P (K, 6, 6)")
    return x, P


def _rows(a, n, shape=(), dtype=float):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=dtype), (n,) + shape))


def predict(
    x, P, t0_s, t1_s, *, method: str = "ekf", model: MotionModel = DEFAULT_MODEL, boost=False,
    sigma_points: SigmaPoints = DEFAULT_SIGMA_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Predict K tracks (x (K, 6), P (K, 6, 6)) from t0_s to t1_s ((K,) or scalars); new arrays."""
    x, P = _batch(x, P)
    k = x.shape[0]
    wm, wc, gamma = sigma_points.weights()
    _predict_kernel(
        method_code(method), x, P, _rows(t0_s, k), _rows(t1_s, k), _rows(boost, k, (), np.bool_),
        model.cfg(), model.params(), wm, wc, gamma,
    )
    return x, P


def update(
    x, P, t_s, kind, z, R, site_ecef_m, *, site_lat_deg=None, site_lon_deg=None, method: str = "ekf",
    model: MotionModel = DEFAULT_MODEL, sigma_points: SigmaPoints = DEFAULT_SIGMA_POINTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Update K tracks with one measurement each: kind (K,) 0 radar / 1 infrared, z (K, 3)
    (infrared: first two), R (K, 3, 3), site_ecef_m (K, 3), optional site_lat_deg/site_lon_deg
    (K,) (``models.site_basis``). Returns new (x, P) and the NIS (K,)."""
    x, P = _batch(x, P)
    k = x.shape[0]
    wm, wc, gamma = sigma_points.weights()
    nis = np.empty(k)
    z = np.asarray(z, float)
    if z.shape[-1] == 2:
        z = np.concatenate([z, np.full(z.shape[:-1] + (1,), np.nan)], -1)
    site = _rows(site_ecef_m, k, (3,))
    B = _rows(site_basis(site, site_lat_deg, site_lon_deg), k, (3, 3))
    _update_kernel(
        method_code(method), x, P, _rows(t_s, k), _rows(kind, k, (), np.int64), _rows(z, k, (3,)),
        _rows(R, k, (3, 3)), site, B, float(model.earth.omega_rad_s), wm, wc, gamma, nis,
    )
    return x, P, nis


def ekf_predict(x, P, t0_s, t1_s, *, model: MotionModel = DEFAULT_MODEL, boost=False):
    """EKF prediction of K tracks; see ``predict``."""
    return predict(x, P, t0_s, t1_s, method="ekf", model=model, boost=boost)


def ekf_update(x, P, t_s, kind, z, R, site_ecef_m, *, site_lat_deg=None, site_lon_deg=None,
               model: MotionModel = DEFAULT_MODEL):
    """EKF (Joseph-form) update of K tracks; see ``update``."""
    return update(x, P, t_s, kind, z, R, site_ecef_m, site_lat_deg=site_lat_deg, site_lon_deg=site_lon_deg,
                  method="ekf", model=model)


def ukf_predict(x, P, t0_s, t1_s, *, model: MotionModel = DEFAULT_MODEL, boost=False,
                sigma_points: SigmaPoints = DEFAULT_SIGMA_POINTS):
    """UKF prediction of K tracks; see ``predict``."""
    return predict(x, P, t0_s, t1_s, method="ukf", model=model, boost=boost, sigma_points=sigma_points)


def ukf_update(x, P, t_s, kind, z, R, site_ecef_m, *, site_lat_deg=None, site_lon_deg=None,
               model: MotionModel = DEFAULT_MODEL, sigma_points: SigmaPoints = DEFAULT_SIGMA_POINTS):
    """UKF update of K tracks; see ``update``."""
    return update(x, P, t_s, kind, z, R, site_ecef_m, site_lat_deg=site_lat_deg, site_lon_deg=site_lon_deg,
                  method="ukf", model=model, sigma_points=sigma_points)


__all__ = [
    "EKF", "UKF", "SigmaPoints", "DEFAULT_SIGMA_POINTS", "predict", "update",
    "ekf_predict", "ekf_update", "ukf_predict", "ukf_update",
]
