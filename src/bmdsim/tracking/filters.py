"""Batched EKF and UKF over K tracks: predict and update, state x = (r_eci_m, v_eci_mps).

EKF (Bar-Shalom, Li & Kirubarajan 2001, sec. 10.3): the mean flies the nonlinear ballistic model
(``models.propagate_flat``), the covariance P <- Phi P Phi^T + Q with Phi from the variational
equations or their closed form in vacuum (``models``); the update linearises h at the
prediction: S = H P H^T + R, K = P H^T S^-1, x <- x + K nu, and P <- P - K S K^T (ibid. eq.
5.2.3-15, the optimal-gain form) or the Joseph form (I - K H) P (I - K H)^T + K R K^T (eq.
5.2.3-18; equal in exact arithmetic). Both are taken with the Cholesky factor S = L L^T:
V = P H^T L^-T, so that K nu = V L^-1 nu, K S K^T = V V^T and NIS = |L^-1 nu|^2.

The optimal-gain form, P - V V^T (a third of the Joseph form's arithmetic), errs by ~eps times
the largest variance reduction of the update, lambda_max(R^-1 S) (the largest eigenvalue of
P_prior P_post^-1): 1.8e-4 of the posterior's standard deviations for a 1e12 reduction against
an extended-precision reference, where the Joseph form stays at rounding level (its rounding
errors are multiplied by I - K H, which shrinks them with the variance). Since
lambda_max(R^-1 S) <= det(S) / det(R) (the eigenvalues of R^-1 S are all >= 1), the update
takes the Joseph form where det(S) > ``JOSEPH_ABOVE`` det(R) (1e6: below it the optimal-gain
form is within ~2e-10), the optimal-gain form elsewhere. A track's updates reduce variances
little (initiation from converted radar detections, process noise over seconds): in the
tracking benchmark's Hwasong-15 trials lambda_max stays below ~5e4 and det(S) / det(R) below
1e6, so the Joseph form serves diffuse priors. Either result is symmetric (upper triangle,
mirrored); the tests hold both against an extended-precision Joseph form.

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
``tracking.track`` runs the EKF through ``ekf_predict_flat`` / ``ekf_update_flat``, which keep a
track's state and all their work in one flat array allocated once per track (``ekf_work``; and
``TrackHistory.states_at`` predicts in one such array per chunk of its evaluations):
numba reference-counts every array a kernel receives or slices with an atomic operation, which
would cost more than the arithmetic of these 6-state kernels. They skip the products with H's
velocity block (exact zeros), compute the upper triangle of the symmetric results and mirror
it. The UKF's ``*_ws`` kernels reuse the arrays of ``filter_work``.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from bmdsim.errors import BmdsimInputError
from bmdsim.tracking.models import (
    DEFAULT_MODEL,
    N_PW,
    PW_S,
    RADAR,
    MotionModel,
    _h_s,
    add_q_1,
    az_index,
    h_1,
    propagate_flat,
    propagate_ws,
    propagation_work,
    site_basis,
    wrap_pi,
)

N_X = 6
N_SIGMA = 2 * N_X + 1

# Work arrays of the UKF kernels, allocated once per track (``filter_work()``) and reused by every
# predict and update (the *_ws kernels allocate nothing).
FilterWork = namedtuple("FilterWork", [
    "phi", "qpv", "q3", "T",  # prediction: Phi (unused by the UKF), process noise, its dummy, 6 x 6 work
    "rows", "jac", "w",  # models.propagate_ws (``models.propagation_work()``)
    "H", "nu", "S", "Si", "L", "Li", "Kg",  # update
    "chi", "Y", "Zs", "dz", "zm", "xm", "Pxz",  # sigma points and their images
])

# Layout of the EKF's flat work array (``ekf_work()``): numba reference-counts every array a
# kernel receives or slices (an atomic operation each), which would cost more than the
# arithmetic of these small matrices, so the EKF keeps its state and all its work in one array.
E_PROP = 0  # models.propagate_flat's work (the 42-state and RK4 stages)
E_X = E_PROP + N_PW  # state (6)
E_P = E_X + 6  # covariance (6 x 6, row-major)
E_T = E_P + 36  # 6 x 6 work (Phi P)
E_H = E_T + 36  # position block of H (3 x 3; H's velocity block is zero)
E_R = E_H + 9  # measurement covariance (3 x 3, upper triangle)
E_PHT = E_R + 9  # U = P H^T (6 x 3)
E_S = E_PHT + 18  # innovation covariance (3 x 3, upper triangle)
E_V = E_S + 9  # V = U L^-T (6 x 3); in the Joseph form, T H^T - K R
E_K = E_V + 18  # the gain K (6 x 3), for the Joseph form
N_E = E_K + 18

# ekf_update_flat takes the Joseph form where det(S) / det(R) exceeds this (module docstring)
JOSEPH_ABOVE = 1e6


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
    return inv_spd_ws(A, n, out, np.empty((n, n)), np.empty((n, n)))


@njit(cache=True)
def inv_spd_ws(A, n, out, L, Li):
    """inv_spd_1 with work arrays L, Li (at least n x n)."""
    if not cholesky_1(A, n, L):
        return False
    for i in range(n):
        for j in range(n):
            Li[i, j] = 0.0  # L^-1, lower
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


# ----------------------------------------------------------------------------------- EKF


@njit(cache=True)
def filter_work():
    """Work arrays for the UKF's *_ws kernels (``FilterWork``), reusable across calls."""
    rows, jac, w = propagation_work()
    return FilterWork(
        np.empty((6, 6)), np.empty(3), np.empty(3), np.empty((6, 6)),
        rows, jac, w,
        np.zeros((3, 6)), np.empty(3), np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)),
        np.empty((6, 3)),
        np.empty((N_SIGMA, 6)), np.empty((N_SIGMA, 6)), np.empty((N_SIGMA, 3)), np.empty((N_SIGMA, 3)),
        np.empty(3), np.empty(6), np.empty((6, 3)),
    )


@njit(cache=True)
def ekf_work():
    """The EKF's flat work array (layout E_*), holding the track's state x (E_X) and P (E_P)."""
    return np.zeros(N_E)


@njit(cache=True)
def ekf_set(wb, x, P):
    """Copy x (6) and P (6, 6) into the EKF work array."""
    for i in range(6):
        wb[E_X + i] = x[i]
        for j in range(6):
            wb[E_P + 6 * i + j] = P[i, j]


@njit(cache=True)
def ekf_get(wb, x, P):
    """Copy the EKF work array's state into x (6) and P (6, 6)."""
    for i in range(6):
        x[i] = wb[E_X + i]
        for j in range(6):
            P[i, j] = wb[E_P + 6 * i + j]


@njit(cache=True)
def ekf_predict_1(x, P, t0, t1, boost, cfg, mp):
    """EKF prediction of one track from t0 to t1, in place."""
    wb = ekf_work()
    ekf_set(wb, x, P)
    ekf_predict_flat(wb, t0, t1, boost, cfg, mp)
    ekf_get(wb, x, P)


@njit(cache=True)
def ekf_predict_flat(wb, t0, t1, boost, cfg, mp):
    """EKF prediction of the track in the work array wb (``ekf_work()``) from t0 to t1."""
    s = E_PROP + PW_S
    for i in range(6):
        wb[s + i] = wb[E_X + i]
    qa, qb, qc = propagate_flat(t0, t1, boost, cfg, mp, True, wb, E_PROP)
    phi = s + 6
    P = E_P
    T = E_T
    # P <- Phi P Phi^T + Q: T = Phi P, then the upper triangle of T Phi^T, mirrored
    for i in range(6):
        r = phi + 6 * i
        a0, a1, a2, a3, a4, a5 = wb[r], wb[r + 1], wb[r + 2], wb[r + 3], wb[r + 4], wb[r + 5]
        for j in range(6):
            wb[T + 6 * i + j] = (
                a0 * wb[P + j] + a1 * wb[P + 6 + j] + a2 * wb[P + 12 + j]
                + a3 * wb[P + 18 + j] + a4 * wb[P + 24 + j] + a5 * wb[P + 30 + j]
            )
    for i in range(6):
        r = T + 6 * i
        a0, a1, a2, a3, a4, a5 = wb[r], wb[r + 1], wb[r + 2], wb[r + 3], wb[r + 4], wb[r + 5]
        for j in range(i, 6):
            c = phi + 6 * j
            v = a0 * wb[c] + a1 * wb[c + 1] + a2 * wb[c + 2] + a3 * wb[c + 3] + a4 * wb[c + 4] + a5 * wb[c + 5]
            wb[P + 6 * i + j] = v
            wb[P + 6 * j + i] = v
    for i in range(3):
        wb[P + 7 * i] += qa
        wb[P + 6 * i + i + 3] += qb
        wb[P + 6 * (i + 3) + i] += qb
        wb[P + 7 * (i + 3)] += qc
    for i in range(6):
        wb[E_X + i] = wb[s + i]


@njit(cache=True)
def ekf_update_1(x, P, t, kind, z, R, site, B, omega):
    """EKF update of one track with one measurement (Joseph form), in place; returns the NIS
    (normalised innovation squared), NaN if S was not positive definite (no update).

    site: the sensor's ECEF position, B its ENU basis (``models.site_basis``)."""
    wb = ekf_work()
    ekf_set(wb, x, P)
    z1 = np.empty((1, 3))
    R1 = np.empty((1, 3, 3))
    site1 = np.empty((1, 3))
    B1 = np.empty((1, 3, 3))
    m = 3 if kind == RADAR else 2
    for i in range(3):
        z1[0, i] = z[i] if i < m else 0.0
        site1[0, i] = site[i]
        for j in range(3):
            R1[0, i, j] = R[i, j] if (i < m and j < m) else 0.0
            B1[0, i, j] = B[i, j]
    nis = ekf_update_flat(wb, t, kind, z1, R1, site1, B1, 0, 0, omega)
    ekf_get(wb, x, P)
    return nis


@njit(cache=True)
def ekf_update_flat(wb, t, kind, z, R, site, B, d, bd, omega):
    """EKF update of the track in the work array wb (``ekf_work()``) with detection d of the
    arrays z (M, 3), R (M, 3, 3) from the sensor at site[bd] with ENU basis B[bd] (site (U, 3),
    B (U, 3, 3)); returns the NIS, NaN if S was not positive definite (no update).

    With U = P H^T, S = H U + R = L L^T (Cholesky), V = U L^-T, w = L^-1 nu: x += V w, NIS =
    w.w, and P -= V V^T, or the Joseph form (``_joseph_flat``) where det(S) > JOSEPH_ABOVE
    det(R) (module docstring). The algebra is that of 3 measurement rows: an infrared (az, el)
    detection gets a third row with H = 0, residual 0 and unit variance, independent of the
    others, which adds exact zeros to every sum (L is block diagonal, the third column of V is
    zero). h depends on the position only (H's velocity block is zero), so U runs over P's 3
    position columns. R enters as its symmetric part."""
    rng, az, el, r0, r1, r2, a0, a1, a2, e0, e1, e2 = _h_s(
        wb[E_X], wb[E_X + 1], wb[E_X + 2], t, site[bd, 0], site[bd, 1], site[bd, 2],
        B[bd, 0, 0], B[bd, 0, 1], B[bd, 0, 2], B[bd, 1, 0], B[bd, 1, 1], B[bd, 1, 2],
        B[bd, 2, 0], B[bd, 2, 1], B[bd, 2, 2], omega, True,
    )
    H = E_H
    Rw = E_R
    if kind == RADAR:
        wb[H], wb[H + 1], wb[H + 2] = r0, r1, r2
        wb[H + 3], wb[H + 4], wb[H + 5] = a0, a1, a2
        wb[H + 6], wb[H + 7], wb[H + 8] = e0, e1, e2
        n0 = z[d, 0] - rng
        n1 = wrap_pi(z[d, 1] - az)
        n2 = z[d, 2] - el
        for i in range(3):
            for j in range(i, 3):
                wb[Rw + 3 * i + j] = 0.5 * (R[d, i, j] + R[d, j, i])
    else:
        wb[H], wb[H + 1], wb[H + 2] = a0, a1, a2
        wb[H + 3], wb[H + 4], wb[H + 5] = e0, e1, e2
        wb[H + 6], wb[H + 7], wb[H + 8] = 0.0, 0.0, 0.0
        n0 = wrap_pi(z[d, 0] - az)
        n1 = z[d, 1] - el
        n2 = 0.0
        wb[Rw] = R[d, 0, 0]
        wb[Rw + 1] = 0.5 * (R[d, 0, 1] + R[d, 1, 0])
        wb[Rw + 2] = 0.0
        wb[Rw + 4] = R[d, 1, 1]
        wb[Rw + 5] = 0.0
        wb[Rw + 8] = 1.0
    P = E_P
    U = E_PHT
    for i in range(6):  # U = P H^T (6 x 3)
        p0, p1, p2 = wb[P + 6 * i], wb[P + 6 * i + 1], wb[P + 6 * i + 2]
        for k in range(3):
            wb[U + 3 * i + k] = p0 * wb[H + 3 * k] + p1 * wb[H + 3 * k + 1] + p2 * wb[H + 3 * k + 2]
    S = E_S
    for k in range(3):  # S = H P H^T + R = H U + R, upper triangle (R: its symmetric part's)
        h0, h1, h2 = wb[H + 3 * k], wb[H + 3 * k + 1], wb[H + 3 * k + 2]
        for l in range(k, 3):
            wb[S + 3 * k + l] = wb[Rw + 3 * k + l] + h0 * wb[U + l] + h1 * wb[U + 3 + l] + h2 * wb[U + 6 + l]
    # S = L L^T (Cholesky, upper triangle of S), then Li = L^-1 (lower)
    s00 = wb[S]
    if not s00 > 0.0:
        return np.nan
    l00 = math.sqrt(s00)
    l10 = wb[S + 1] / l00
    l20 = wb[S + 2] / l00
    q = wb[S + 4] - l10 * l10
    if not q > 0.0:
        return np.nan
    l11 = math.sqrt(q)
    l21 = (wb[S + 5] - l20 * l10) / l11
    q = wb[S + 8] - l20 * l20 - l21 * l21
    if not q > 0.0:
        return np.nan
    l22 = math.sqrt(q)
    i00 = 1.0 / l00
    i11 = 1.0 / l11
    i22 = 1.0 / l22
    i10 = -(l10 * i00) / l11
    i21 = -(l21 * i11) / l22
    i20 = (-(l20 * i00) - l21 * i10) / l22
    # whitened innovation w = L^-1 nu; V = U L^-T; x += V w (= K nu)
    w0 = i00 * n0
    w1 = i10 * n0 + i11 * n1
    w2 = i20 * n0 + i21 * n1 + i22 * n2
    Vw = E_V
    for i in range(6):
        u0, u1, u2 = wb[U + 3 * i], wb[U + 3 * i + 1], wb[U + 3 * i + 2]
        v0 = u0 * i00
        v1 = u0 * i10 + u1 * i11
        v2 = u0 * i20 + u1 * i21 + u2 * i22
        wb[Vw + 3 * i] = v0
        wb[Vw + 3 * i + 1] = v1
        wb[Vw + 3 * i + 2] = v2
        wb[E_X + i] += v0 * w0 + v1 * w1 + v2 * w2
    # det(S) / det(R) bounds the largest variance reduction (module docstring)
    det_s = l00 * l11 * l22
    det_s *= det_s
    det_r = wb[Rw] * (wb[Rw + 4] * wb[Rw + 8] - wb[Rw + 5] * wb[Rw + 5]) - wb[Rw + 1] * (
        wb[Rw + 1] * wb[Rw + 8] - wb[Rw + 5] * wb[Rw + 2]
    ) + wb[Rw + 2] * (wb[Rw + 1] * wb[Rw + 5] - wb[Rw + 4] * wb[Rw + 2])
    if det_s <= JOSEPH_ABOVE * det_r:
        for i in range(6):  # P -= V V^T, upper triangle, mirrored
            v0, v1, v2 = wb[Vw + 3 * i], wb[Vw + 3 * i + 1], wb[Vw + 3 * i + 2]
            for j in range(i, 6):
                v = wb[P + 6 * i + j] - (v0 * wb[Vw + 3 * j] + v1 * wb[Vw + 3 * j + 1] + v2 * wb[Vw + 3 * j + 2])
                wb[P + 6 * i + j] = v
                wb[P + 6 * j + i] = v
    else:
        _joseph_flat(wb, i00, i10, i11, i20, i21, i22)
    return w0 * w0 + w1 * w1 + w2 * w2


@njit(cache=True)
def _joseph_flat(wb, i00, i10, i11, i20, i21, i22):
    """ekf_update_flat's covariance in the Joseph form A P A^T + K R K^T, A = I - K H, from
    U = P H^T (E_PHT), V = U L^-T (E_V), H (E_H), R (E_R, upper triangle) and L^-1 (lower, the
    i_kl): K = V L^-1; T = A P = P - K U^T (H P = U^T, P symmetric); P <- T - (T H^T - K R) K^T,
    the same polynomial in K, its upper triangle computed and mirrored."""
    P = E_P
    U = E_PHT
    H = E_H
    Rw = E_R
    Vw = E_V
    Kg = E_K
    for i in range(6):  # K = V L^-1, over V's row (in place of V)
        v0, v1, v2 = wb[Vw + 3 * i], wb[Vw + 3 * i + 1], wb[Vw + 3 * i + 2]
        wb[Kg + 3 * i] = v0 * i00 + v1 * i10 + v2 * i20
        wb[Kg + 3 * i + 1] = v1 * i11 + v2 * i21
        wb[Kg + 3 * i + 2] = v2 * i22
    T = E_T
    for i in range(6):  # T = P - K U^T
        k0, k1, k2 = wb[Kg + 3 * i], wb[Kg + 3 * i + 1], wb[Kg + 3 * i + 2]
        for j in range(6):
            ku = k0 * wb[U + 3 * j] + k1 * wb[U + 3 * j + 1] + k2 * wb[U + 3 * j + 2]
            wb[T + 6 * i + j] = wb[P + 6 * i + j] - ku
    r00, r01, r02, r11, r12, r22 = wb[Rw], wb[Rw + 1], wb[Rw + 2], wb[Rw + 4], wb[Rw + 5], wb[Rw + 8]
    for i in range(6):  # E = T H^T - K R (6 x 3), into V's place
        t0, t1, t2 = wb[T + 6 * i], wb[T + 6 * i + 1], wb[T + 6 * i + 2]
        k0, k1, k2 = wb[Kg + 3 * i], wb[Kg + 3 * i + 1], wb[Kg + 3 * i + 2]
        wb[Vw + 3 * i] = (t0 * wb[H] + t1 * wb[H + 1] + t2 * wb[H + 2]) - (k0 * r00 + k1 * r01 + k2 * r02)
        wb[Vw + 3 * i + 1] = (t0 * wb[H + 3] + t1 * wb[H + 4] + t2 * wb[H + 5]) - (k0 * r01 + k1 * r11 + k2 * r12)
        wb[Vw + 3 * i + 2] = (t0 * wb[H + 6] + t1 * wb[H + 7] + t2 * wb[H + 8]) - (k0 * r02 + k1 * r12 + k2 * r22)
    for i in range(6):  # P = T - E K^T, upper triangle, mirrored
        f0, f1, f2 = wb[Vw + 3 * i], wb[Vw + 3 * i + 1], wb[Vw + 3 * i + 2]
        for j in range(i, 6):
            v = wb[T + 6 * i + j] - (f0 * wb[Kg + 3 * j] + f1 * wb[Kg + 3 * j + 1] + f2 * wb[Kg + 3 * j + 2])
            wb[P + 6 * i + j] = v
            wb[P + 6 * j + i] = v


# ----------------------------------------------------------------------------------- UKF


@njit(cache=True)
def sigma_points_1(x, P, gamma, chi):
    """The 13 sigma points of (x, P) into chi (13, 6); False if P is not positive definite."""
    return sigma_points_ws(x, P, gamma, chi, np.empty((6, 6)))


@njit(cache=True)
def sigma_points_ws(x, P, gamma, chi, L):
    """sigma_points_1 with a work array L (6, 6)."""
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
    return ukf_predict_ws(x, P, t0, t1, boost, cfg, mp, wm, wc, gamma, filter_work())


@njit(cache=True)
def ukf_predict_ws(x, P, t0, t1, boost, cfg, mp, wm, wc, gamma, wk):
    """ukf_predict_1 with work arrays wk (``filter_work()``)."""
    chi = wk.chi
    if not sigma_points_ws(x, P, gamma, chi, wk.T):
        return False
    Y = wk.Y
    qpv = wk.qpv
    qdummy = wk.q3
    phi = wk.phi  # unused without the STM
    propagate_ws(t0, chi[0], t1, boost, cfg, mp, False, Y[0], phi, qpv, wk.rows, wk.jac, wk.w)
    for i in range(1, N_SIGMA):
        propagate_ws(t0, chi[i], t1, boost, cfg, mp, False, Y[i], phi, qdummy, wk.rows, wk.jac, wk.w)
    xm = wk.xm
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
    return ukf_update_ws(x, P, t, kind, z, R, site, B, omega, wm, wc, gamma, filter_work())


@njit(cache=True)
def ukf_update_ws(x, P, t, kind, z, R, site, B, omega, wm, wc, gamma, wk):
    """ukf_update_1 with work arrays wk (``filter_work()``)."""
    chi = wk.chi
    if not sigma_points_ws(x, P, gamma, chi, wk.T):
        return np.nan
    Zs = wk.Zs
    Hd = wk.H  # unused without the Jacobian
    m = 0
    for i in range(N_SIGMA):
        m = h_1(chi[i], t, kind, site, B, omega, Zs[i], Hd, False)
    a = az_index(kind)
    zm = wk.zm
    for j in range(m):
        s = 0.0
        for i in range(1, N_SIGMA):
            d = Zs[i, j] - Zs[0, j]
            if j == a:
                d = wrap_pi(d)
            s += wm[i] * d
        zm[j] = Zs[0, j] + s
    dz = wk.dz
    for i in range(N_SIGMA):
        for j in range(m):
            d = Zs[i, j] - zm[j]
            if j == a:
                d = wrap_pi(d)
            dz[i, j] = d
    S = wk.S[:m, :m]
    for p in range(m):
        for q in range(m):
            s = R[p, q]
            for i in range(N_SIGMA):
                s += wc[i] * dz[i, p] * dz[i, q]
            S[p, q] = s
    symmetrize_1(S)
    Pxz = wk.Pxz
    for p in range(6):
        for q in range(m):
            s = 0.0
            for i in range(N_SIGMA):
                s += wc[i] * (chi[i, p] - x[p]) * dz[i, q]
            Pxz[p, q] = s
    Si = wk.Si
    if not inv_spd_ws(S, m, Si, wk.L, wk.Li):
        return np.nan
    nu = wk.nu
    for j in range(m):
        nu[j] = z[j] - zm[j]
    nu[a] = wrap_pi(nu[a])
    Kg = wk.Kg
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
        if method == EKF:
            wb = ekf_work()
            ekf_set(wb, x[k], P[k])
            nis[k] = ekf_update_flat(wb, t[k], kind[k], z, R, site, B, k, k, omega)
            ekf_get(wb, x[k], P[k])
        else:
            nis[k] = ukf_update_1(x[k], P[k], t[k], kind[k], z[k], R[k], site[k], B[k], omega, wm, wc, gamma)


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
