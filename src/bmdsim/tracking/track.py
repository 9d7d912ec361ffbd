"""Track initiation and central measurement fusion: ``track(detections, t_eval_s, method)``.

One track per target (perfect association: each detection names its truth object), every sensor
fused into that track in time order (central measurement fusion: each radar or infrared
detection is one filter update). Targets are independent, so the kernel runs them in parallel;
within a target, detections are processed in time order (ties in input order).

Initiation (two-point differencing, Bar-Shalom, Li & Kirubarajan 2001, sec. 5.5.3): from the
target's first radar detection and the first radar detection at least ``init_min_dt_s`` later
(any radars). Each is converted to an ECI position p_i with covariance J R J^T (J the inverse of
the position Jacobian of h); the track starts at the second, t2, with

    r = p2,  v = (p2 - p1) / dt + a(p2) dt / 2,
    P = [[P2, P2 / dt], [P2 / dt, (P1 + P2) / dt^2]] + Q(dt),

the a dt / 2 term taking out gravity's curvature of the path between the two, Q(dt) the model's
process noise over the baseline (boost-aware). Radar detections between the two are not used.

Infrared: before a track exists an infrared detection only cues it (``cued_at_s``: the first
infrared detection of the target; a single geostationary line of sight does not fix a
position, and the radar-derived covariance is already far smaller than anything the cue could
give, so the cue does not change the initial covariance). Once a track exists, infrared
detections are fused as (az, el) updates like any other measurement.

Boost: the motion model is ballistic. While infrared still sees the target's motor burning
(its last infrared detection is at most ``ir_burn_gap_s`` before the time being predicted to;
space-based infrared sees the plume, not a cold body) the prediction adds ``q_boost_m2_s3`` of
process noise, and radar detections during boost are used with that inflated noise. Without
infrared a radar track is assumed ballistic from its first detection: feed such a track only
radar detections after burnout. Predictions beyond the last update (``x_eval``, ``state_at``)
are ballistic.

Established: the first update after which at least ``establish_min_updates`` detections have
been used (the initiation pair counts two) and the position and velocity covariances are
small: sqrt(trace P_rr) <= ``establish_pos_sigma_m`` (1 km) and sqrt(trace P_vv) <=
``establish_vel_sigma_mps`` (100 m/s), enough to predict an impact point to tens of km.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from bmdsim.errors import BmdsimInputError
from bmdsim.tracking.filters import (
    DEFAULT_SIGMA_POINTS,
    E_P,
    E_X,
    EKF,
    SigmaPoints,
    ekf_predict_1,
    ekf_predict_flat,
    ekf_update_flat,
    ekf_work,
    filter_work,
    method_code,
    predict_1,
    ukf_predict_ws,
    ukf_update_ws,
)
from bmdsim.tracking.models import (
    DEFAULT_MODEL,
    INFRARED,
    M_H_DRAG_TOP,
    M_INV_BETA,
    RADAR,
    MotionModel,
    _q_eff,
    h_1,
    radar_to_eci_1,
    site_basis,
    xdot_fast_1,
)

# Per-target info columns
I_CUED, I_INIT, I_EST = range(3)


@njit(cache=True)
def _inv3(A, out):
    a, b, c = A[0, 0], A[0, 1], A[0, 2]
    d, e, f = A[1, 0], A[1, 1], A[1, 2]
    g, h, i = A[2, 0], A[2, 1], A[2, 2]
    c00 = e * i - f * h
    c01 = -(d * i - f * g)
    c02 = d * h - e * g
    det = a * c00 + b * c01 + c * c02
    inv = 1.0 / det
    out[0, 0] = c00 * inv
    out[1, 0] = c01 * inv
    out[2, 0] = c02 * inv
    out[0, 1] = -(b * i - c * h) * inv
    out[1, 1] = (a * i - c * g) * inv
    out[2, 1] = -(a * h - b * g) * inv
    out[0, 2] = (b * f - c * e) * inv
    out[1, 2] = -(a * f - c * d) * inv
    out[2, 2] = (a * e - b * d) * inv


@njit(cache=True)
def _converted(z, R, t, site, B, omega, p, Pp):
    """ECI position p and its covariance Pp (3, 3) from one radar measurement."""
    radar_to_eci_1(z, t, site, B, omega, p)
    x = np.zeros(6)
    for i in range(3):
        x[i] = p[i]
    zz = np.empty(3)
    H = np.zeros((3, 6))
    h_1(x, t, RADAR, site, B, omega, zz, H, True)
    J = np.empty((3, 3))
    _inv3(H[:, :3], J)
    for i in range(3):
        for j in range(3):
            s = 0.0
            for k in range(3):
                for l in range(3):
                    s += J[i, k] * R[k, l] * J[j, l]
            Pp[i, j] = s


@njit(cache=True)
def initiate_1(z1, R1, t1, site1, B1, z2, R2, t2, site2, B2, boost, cfg, mp, omega, x, P):
    """Two-point initiation from radar measurements at t1 < t2 into x (6), P (6, 6) at t2."""
    p1 = np.empty(3)
    p2 = np.empty(3)
    P1 = np.empty((3, 3))
    P2 = np.empty((3, 3))
    _converted(z1, R1, t1, site1, B1, omega, p1, P1)
    _converted(z2, R2, t2, site2, B2, omega, p2, P2)
    dt = t2 - t1
    for i in range(3):
        x[i] = p2[i]
        x[3 + i] = (p2[i] - p1[i]) / dt
    f = np.empty(6)
    xdot_fast_1(x, cfg, mp[M_INV_BETA], mp[M_H_DRAG_TOP], f)
    for i in range(3):
        x[3 + i] += 0.5 * dt * f[3 + i]
    q = _q_eff(x, boost, cfg, mp)
    for i in range(3):
        for j in range(3):
            P[i, j] = P2[i, j]
            P[i, 3 + j] = P2[i, j] / dt
            P[3 + i, j] = P2[i, j] / dt
            P[3 + i, 3 + j] = (P1[i, j] + P2[i, j]) / (dt * dt)
    for i in range(3):
        P[i, i] += q * dt * dt * dt / 3.0
        P[i, 3 + i] += q * dt * dt / 2.0
        P[3 + i, i] += q * dt * dt / 2.0
        P[3 + i, 3 + i] += q * dt


@njit(cache=True, parallel=True)
def _plan_kernel(offsets, t, kind, init_min_dt, count):
    """Number of recorded states (initiation and updates) of each target: _track_one's
    initiation logic without the filter, so that the tracker writes its states in place."""
    for k in prange(offsets.shape[0] - 1):
        have = False
        first = -1
        c = 0
        for j in range(offsets[k], offsets[k + 1]):
            if kind[j] == INFRARED:
                if not have:
                    continue
            elif kind[j] == RADAR:
                if not have:
                    if first < 0:
                        first = j
                    elif t[j] - t[first] >= init_min_dt:
                        have = True
                        c += 1
                    continue
            else:
                continue
            c += 1
        count[k] = c


@njit(cache=True)
def _track_one(
    k, lo, hi, method, t, kind, z, R, sensor, order, site, B, bidx, cfg, mp, omega, wm, wc, gamma,
    init_min_dt, ir_gap, est_min, est_pos2, est_vel2, rec_lo, X, PP, rec_t, rec_kind, rec_sensor, rec_nis,
    rec_det, n_updates, info, written,
):
    # The track's state lives in the EKF's flat work array (filters.E_X, E_P); the UKF works on
    # x and P, views of it. Every predict and update of this target reuses the work arrays.
    # Detection j (tracking order): z[order[j]], R[order[j]] (input order), sensor position and
    # ENU basis site[bidx[j]], B[bidx[j]]; the states go to row rec_lo[k] on of the rec_* arrays,
    # X and PP.
    o = rec_lo[k]
    wb = ekf_work()
    x = wb[E_X:E_X + 6]
    P = wb[E_P:E_P + 36].reshape((6, 6))
    wk = filter_work()
    ekf = method == EKF
    have = False
    first = -1
    last_ir = -np.inf
    tcur = 0.0
    n_used = 0
    for j in range(lo, hi):
        tj = t[j]
        nis = np.nan
        initiated = False
        if kind[j] == INFRARED:
            if math.isnan(info[k, I_CUED]):
                info[k, I_CUED] = tj
            last_ir = tj
            if not have:
                continue
        elif kind[j] == RADAR:
            if not have:
                if first < 0:
                    first = j
                    continue
                if tj - t[first] < init_min_dt:
                    continue
                boost = tj - last_ir <= ir_gap
                bf = bidx[first]
                i0 = order[first]
                i1 = order[j]
                initiate_1(
                    z[i0], R[i0], t[first], site[bf], B[bf], z[i1], R[i1], tj, site[bidx[j]], B[bidx[j]],
                    boost, cfg, mp, omega, x, P,
                )
                n_updates[k, sensor[first]] += 1
                have = True
                tcur = tj
                n_used = 2
                info[k, I_INIT] = tj
                initiated = True
        else:
            continue
        if not initiated:  # a filter update
            boost = tj - last_ir <= ir_gap
            if ekf:
                if tj != tcur:
                    ekf_predict_flat(wb, tcur, tj, boost, cfg, mp)
                    tcur = tj
                nis = ekf_update_flat(wb, tj, kind[j], z, R, site, B, order[j], bidx[j], omega)
            else:
                bj = bidx[j]
                i1 = order[j]
                if tj != tcur:
                    if not ukf_predict_ws(x, P, tcur, tj, boost, cfg, mp, wm, wc, gamma, wk):
                        ekf_predict_flat(wb, tcur, tj, boost, cfg, mp)  # sigma points failed: linearise
                    tcur = tj
                nis = ukf_update_ws(x, P, tj, kind[j], z[i1], R[i1], site[bj], B[bj], omega, wm, wc, gamma, wk)
            n_used += 1
        n_updates[k, sensor[j]] += 1
        _record(wb, X, PP, o)
        rec_t[o] = tj
        rec_kind[o] = kind[j]
        rec_sensor[o] = sensor[j]
        rec_nis[o] = nis
        rec_det[o] = order[j]
        o += 1
        _check_established(k, tj, n_used, wb, est_min, est_pos2, est_vel2, info)
    written[k] = o - rec_lo[k]


@njit(cache=True)
def _record(wb, X, PP, j):
    for a in range(6):
        X[j, a] = wb[E_X + a]
        for b in range(6):
            PP[j, a, b] = wb[E_P + 6 * a + b]


@njit(cache=True)
def _check_established(k, tj, n_used, wb, est_min, est_pos2, est_vel2, info):
    if not math.isnan(info[k, I_EST]) or n_used < est_min:
        return
    P = E_P
    if wb[P] + wb[P + 7] + wb[P + 14] <= est_pos2 and wb[P + 21] + wb[P + 28] + wb[P + 35] <= est_vel2:
        info[k, I_EST] = tj


@njit(cache=True, parallel=True)
def _track_kernel(
    offsets, method, t, kind, z, R, sensor, order, site, B, bidx, cfg, mp, omega, wm, wc, gamma,
    init_min_dt, ir_gap, est_min, est_pos2, est_vel2, rec_lo, X, PP, rec_t, rec_kind, rec_sensor, rec_nis,
    rec_det, n_updates, info, written,
):
    for k in prange(offsets.shape[0] - 1):
        _track_one(
            k, offsets[k], offsets[k + 1], method, t, kind, z, R, sensor, order, site, B, bidx, cfg, mp, omega,
            wm, wc, gamma, init_min_dt, ir_gap, est_min, est_pos2, est_vel2, rec_lo, X, PP, rec_t, rec_kind,
            rec_sensor, rec_nis, rec_det, n_updates, info, written,
        )


@njit(cache=True, parallel=True)
def _eval_kernel(offsets, rec_t, rec_x, rec_P, targets, times, method, cfg, mp, wm, wc, gamma, n_chunks, out_x, out_P):
    """State of each (target, time) pair: the last recorded update at or before the time,
    predicted (ballistic) to it; NaN before the first.

    The pairs run in n_chunks parallel chunks. The EKF predicts in one flat work array per chunk
    (``ekf_predict_flat``, the operations of ``ekf_predict_1``, which would allocate one per
    pair) and writes the result straight into out_x, out_P; the UKF predicts copies of the
    recorded state, falling back to the EKF where its sigma points fail."""
    n = targets.shape[0]
    ekf = method == EKF
    for c in prange(n_chunks):
        wb = ekf_work()
        for e in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            k = targets[e]
            lo, hi = offsets[k], offsets[k + 1]
            te = times[e]
            # last index in [lo, hi) with rec_t <= te
            a, b = lo, hi
            while a < b:
                mid = (a + b) // 2
                if rec_t[mid] <= te:
                    a = mid + 1
                else:
                    b = mid
            i = a - 1
            if i < lo:
                for p in range(6):
                    out_x[e, p] = np.nan
                    for q in range(6):
                        out_P[e, p, q] = np.nan
                continue
            if te == rec_t[i]:
                for p in range(6):
                    out_x[e, p] = rec_x[i, p]
                    for q in range(6):
                        out_P[e, p, q] = rec_P[i, p, q]
            elif ekf:
                for p in range(6):
                    wb[E_X + p] = rec_x[i, p]
                    for q in range(6):
                        wb[E_P + 6 * p + q] = rec_P[i, p, q]
                ekf_predict_flat(wb, rec_t[i], te, False, cfg, mp)
                for p in range(6):
                    out_x[e, p] = wb[E_X + p]
                    for q in range(6):
                        out_P[e, p, q] = wb[E_P + 6 * p + q]
            else:
                x = rec_x[i].copy()
                P = rec_P[i].copy()
                if not predict_1(method, x, P, rec_t[i], te, False, cfg, mp, wm, wc, gamma):
                    x = rec_x[i].copy()
                    P = rec_P[i].copy()
                    ekf_predict_1(x, P, rec_t[i], te, False, cfg, mp)
                for p in range(6):
                    out_x[e, p] = x[p]
                    for q in range(6):
                        out_P[e, p, q] = P[p, q]


@dataclass
class TrackHistory:
    """Tracks of K targets: every update, and the states at the evaluation times.

    Update arrays (U entries) are grouped by target, in time order within a target: entries
    ``offsets[k]:offsets[k + 1]`` belong to target k. The first entry of a track is its
    initiation (nis NaN).
    """

    method: str
    model: MotionModel
    sigma_points: SigmaPoints
    t_eval_s: np.ndarray  # (T,)
    x_eval: np.ndarray  # (K, T, 6) filtered state at t_eval_s (last update, predicted); NaN before initiation
    P_eval: np.ndarray  # (K, T, 6, 6)
    offsets: np.ndarray  # (K + 1,)
    t_s: np.ndarray  # (U,) time of each update
    x: np.ndarray  # (U, 6) state after each update (ECI, m and m/s)
    P: np.ndarray  # (U, 6, 6) covariance after each update
    kind: np.ndarray  # (U,) 0 radar, 1 infrared
    sensor: np.ndarray  # (U,)
    nis: np.ndarray  # (U,) normalised innovation squared of each update (NaN at initiation)
    detection_index: np.ndarray  # (U,) row of the input detections
    n_updates: np.ndarray  # (K, S) detections used per sensor id (initiation pair included)
    cued_at_s: np.ndarray  # (K,) first infrared detection; NaN: none
    initiated_at_s: np.ndarray  # (K,) NaN: never initiated
    established_at_s: np.ndarray  # (K,) NaN: never established

    @property
    def n_targets(self) -> int:
        return self.offsets.shape[0] - 1

    def _check_target(self, target: int) -> int:
        t = int(target)
        if not 0 <= t < self.n_targets:
            raise BmdsimInputError("target", target, f"must be in [0, {self.n_targets})")
        return t

    def updates(self, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t_s (n,), x (n, 6), P (n, 6, 6)) of one target's updates, initiation first."""
        k = self._check_target(target)
        s = slice(self.offsets[k], self.offsets[k + 1])
        return self.t_s[s], self.x[s], self.P[s]

    def state_at(self, target: int, t_s) -> tuple[np.ndarray, np.ndarray]:
        """Mean (..., 6) and covariance (..., 6, 6) of a target's track at times t_s: the last
        update at or before each time, predicted (ballistic) to it; NaN before initiation."""
        k = self._check_target(target)
        t = np.asarray(t_s, float)
        flat = np.ascontiguousarray(t.reshape(-1))
        x, P = _evaluate(self, np.full(flat.shape, k, np.int64), flat)
        return x.reshape(t.shape + (6,)), P.reshape(t.shape + (6, 6))

    def states_at(self, targets, t_s) -> tuple[np.ndarray, np.ndarray]:
        """`state_at` for pairs: target targets[i] at time t_s[i], (n, 6) and (n, 6, 6), in one
        call (a campaign asks for thousands of tracks at once)."""
        k = np.ascontiguousarray(np.asarray(targets, np.int64).reshape(-1))
        t = np.ascontiguousarray(np.asarray(t_s, float).reshape(-1))
        if k.shape != t.shape:
            raise BmdsimInputError("t_s", f"{t.size} times", f"one per target: {k.size}")
        if k.size and (k.min() < 0 or k.max() >= self.n_targets):
            raise BmdsimInputError("targets", int(k.max() if k.max() >= self.n_targets else k.min()), f"must be in [0, {self.n_targets})")
        return _evaluate(self, k, t)


def _evaluate(h: TrackHistory, targets, times):
    wm, wc, gamma = h.sigma_points.weights()
    out_x = np.empty((targets.shape[0], 6))
    out_P = np.empty((targets.shape[0], 6, 6))
    _eval_kernel(
        h.offsets, h.t_s, h.x, h.P, targets, times, method_code(h.method), h.model.cfg(), h.model.params(),
        wm, wc, gamma, _n_chunks(targets.shape[0]), out_x, out_P,
    )
    return out_x, out_P


def _n_chunks(n: int) -> int:
    """Chunks of _eval_kernel's n pairs: four per numba thread (balance), at least 64 pairs each."""
    return max(1, min(4 * numba.get_num_threads(), n // 64))


_FIELDS = ("t_s", "target", "kind", "z", "R", "site_ecef_m", "sensor")


def _field(det, name):
    if isinstance(det, Mapping):
        return det[name]
    return getattr(det, name)


def _optional(det, name):
    try:
        return _field(det, name)
    except (AttributeError, KeyError):
        return None


@njit(cache=True)
def _site_runs(site, lat, lon, use_lat_lon, run):
    """Runs of equal sites (ECEF position, and latitude and longitude with use_lat_lon) in input
    order: run[i] the run of row i; returns the first row of each run."""
    m = site.shape[0]
    first = np.empty(m, np.int64)
    n = 0
    for i in range(m):
        new = i == 0 or site[i, 0] != site[i - 1, 0] or site[i, 1] != site[i - 1, 1] or site[i, 2] != site[i - 1, 2]
        if use_lat_lon and not new:
            new = lat[i] != lat[i - 1] or lon[i] != lon[i - 1]
        if new:
            first[n] = i
            n += 1
        run[i] = n - 1
    return first[:n]


def _site_bases(detections, site_ecef_m, m):
    """Sites of the detections, once per run of equal sites in the input (detections come in
    long runs per sensor): (site (U, 3), B (U, 3, 3), run (M,)), site[run[i]] the ECEF position
    and B[run[i]] the ENU basis (``models.site_basis``) of input detection i's sensor."""
    if m == 0:
        return np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros(0, np.int64)
    lat, lon = (_optional(detections, f) for f in ("site_lat_deg", "site_lon_deg"))
    use_ll = lat is not None and lon is not None
    site = np.ascontiguousarray(np.asarray(site_ecef_m, float).reshape(m, 3))
    if use_ll:
        lat = np.ascontiguousarray(np.asarray(lat, float).reshape(m))
        lon = np.ascontiguousarray(np.asarray(lon, float).reshape(m))
    else:
        lat = lon = np.zeros(m)
    run = np.empty(m, np.int64)
    first = _site_runs(site, lat, lon, use_ll, run)
    site_u = np.ascontiguousarray(site[first])
    B = site_basis(site_u, lat[first], lon[first]) if use_ll else site_basis(site_u)
    return site_u, np.ascontiguousarray(np.asarray(B, float).reshape(-1, 3, 3)), run


@njit(cache=True)
def _sort_by_target(target, t_in, kind_in, sensor_in, run, offsets, order, t, kind, sensor, bidx):
    """Tracking order (by target, then time, ties in input order) when each target's detections
    come in time order in the input (``sensors.observe`` sorts by time): one pass over the input,
    a stable counting sort by target (offsets: the targets' first rows). Row j of the outputs is
    row order[j] of the inputs. Returns False, the outputs incomplete, if some target's times
    decrease (or are NaN)."""
    n_t = offsets.shape[0] - 1
    nxt = offsets[:n_t].copy()
    last = np.full(n_t, -np.inf)
    for i in range(target.shape[0]):
        g = target[i]
        ti = t_in[i]
        if not ti >= last[g]:
            return False
        last[g] = ti
        j = nxt[g]
        nxt[g] = j + 1
        order[j] = i
        t[j] = ti
        kind[j] = kind_in[i]
        sensor[j] = sensor_in[i]
        bidx[j] = run[i]
    return True


@njit(cache=True, parallel=True)
def _gather(order, t_in, kind_in, sensor_in, run, t, kind, sensor, bidx):
    """_sort_by_target's outputs for any input, given the order (``np.lexsort``)."""
    for j in prange(order.shape[0]):
        i = order[j]
        t[j] = t_in[i]
        kind[j] = kind_in[i]
        sensor[j] = sensor_in[i]
        bidx[j] = run[i]


# The recorded states of a track() call (x, P and the per-update columns; every entry is written)
# are views of one buffer. The last buffer is kept, and the next call reuses it if nothing else
# refers to it any more (the TrackHistory that held it, and every array or view taken from its
# arrays, are gone): memory fresh from the operating system (glibc maps a block this large
# afresh each time) costs a page fault and the zeroing of every page on first write, ~5 % of the
# tracker's time on a campaign's 100-trial chunks (~65 MB of states). A buffer above
# _POOL_MAX_BYTES is not kept.
_REC_COLS = 47  # per update: x (6), P (36), t, nis, and kind, sensor, detection index (int64)
_POOL_MAX_BYTES = 256 * 2**20
_pool_lock = threading.Lock()
_pool: list[np.ndarray] = []  # at most one buffer
# An object referenced by this list alone: sys.getrefcount(_probe[0]) is the count that
# sys.getrefcount(_pool[0]) gives for a buffer only the pool refers to (the same expression, so
# the same count on any interpreter, including those that borrow the argument's reference).
_probe = [object()]


def _record_arrays(u: int):
    """(x (u, 6), P (u, 6, 6), t (u,), nis (u,), kind, sensor, detection index (u,) int64):
    uninitialised views of one buffer, the kept one if it is free and not much larger than
    needed (at most twice the entries plus 2^20, 8 MB: a small history does not hold a large
    buffer), else a new one, which is kept instead."""
    n = u * _REC_COLS
    with _pool_lock:
        if (
            _pool and n <= _pool[0].shape[0] <= 2 * n + 2**20
            and sys.getrefcount(_pool[0]) == sys.getrefcount(_probe[0])
        ):
            buf = _pool[0]
        else:
            buf = np.empty(n)
            _pool.clear()
            if buf.nbytes <= _POOL_MAX_BYTES:
                _pool.append(buf)
    return (
        buf[:6 * u].reshape(u, 6), buf[6 * u:42 * u].reshape(u, 6, 6), buf[42 * u:43 * u], buf[43 * u:44 * u],
        buf[44 * u:45 * u].view(np.int64), buf[45 * u:46 * u].view(np.int64), buf[46 * u:47 * u].view(np.int64),
    )


def _column(cols, name, m, shape, dtype):
    return np.ascontiguousarray(np.asarray(cols[name], dtype=dtype).reshape((m,) + shape))


def track(
    detections,
    t_eval_s=(),
    method: str = "ekf",
    *,
    model: MotionModel = DEFAULT_MODEL,
    sigma_points: SigmaPoints = DEFAULT_SIGMA_POINTS,
    n_targets: int | None = None,
    init_min_dt_s: float = 0.5,
    ir_burn_gap_s: float = 12.0,
    establish_min_updates: int = 3,
    establish_pos_sigma_m: float = 1000.0,
    establish_vel_sigma_mps: float = 100.0,
) -> TrackHistory:
    """Track every target in ``detections`` with an EKF or UKF, fusing all sensors.

    detections: any object (or mapping) with arrays t_s (M,), target (M,) int, kind (M,) int
    (0 radar, 1 infrared), z (M, 3), R (M, 3, 3), site_ecef_m (M, 3), sensor (M,) int >= 0, and
    optionally site_lat_deg, site_lon_deg (M,) for the sites' ENU frames (else the geodetic point
    of site_ecef_m): ``bmdsim.sensors.Detections`` has them all. t_eval_s (T,): times at which to
    report each track's state.
    n_targets: K (default: max target + 1). See the module docstring for initiation, infrared,
    boost and establishment.
    """
    code = method_code(method)
    cols = {}
    for name in _FIELDS:
        try:
            cols[name] = np.asarray(_field(detections, name))
        except (AttributeError, KeyError):
            raise BmdsimInputError("detections", type(detections).__name__, f"need a field {name!r}; fields: {', '.join(_FIELDS)}") from None
    m = cols["t_s"].shape[0]
    target = _column(cols, "target", m, (), np.int64)
    k_max = int(target.max()) + 1 if m else 0
    k = k_max if n_targets is None else int(n_targets)
    if k < k_max or (m and target.min() < 0):
        raise BmdsimInputError("n_targets", n_targets, f"targets run from {target.min() if m else 0} to {k_max - 1}")
    sensor_in = _column(cols, "sensor", m, (), np.int64)
    if m and sensor_in.min() < 0:
        raise BmdsimInputError("detections.sensor", int(sensor_in.min()), "sensor ids must be >= 0")
    t_in = _column(cols, "t_s", m, (), float)
    z_in = np.asarray(cols["z"], float)
    z_in = np.ascontiguousarray(z_in.reshape(m, z_in.shape[-1]) if z_in.ndim == 2 else z_in.reshape(m, 3))
    site, B, run = _site_bases(detections, cols["site_ecef_m"], m)
    kind_in = _column(cols, "kind", m, (), np.int64)
    R_in = _column(cols, "R", m, (3, 3), float)
    offsets = np.zeros(k + 1, np.int64)
    np.cumsum(np.bincount(target, minlength=k), out=offsets[1:])
    # tracking order: by target, then time, ties in input order; z and R are read through it
    order = np.empty(m, np.int64)
    t = np.empty(m)
    kind = np.empty(m, np.int64)
    sensor = np.empty(m, np.int64)
    bidx = np.empty(m, np.int64)
    cols_in = (t_in, kind_in, sensor_in, run)
    if not _sort_by_target(target, *cols_in, offsets, order, t, kind, sensor, bidx):
        order = np.lexsort((t_in, target)).astype(np.int64)  # stable
        _gather(order, *cols_in, t, kind, sensor, bidx)
    if z_in.shape[1] == 2:
        z_in = np.ascontiguousarray(np.hstack([z_in, np.full((m, 1), np.nan)]))

    wm, wc, gamma = sigma_points.weights()
    count = np.empty(k, np.int64)
    _plan_kernel(offsets, t, kind, float(init_min_dt_s), count)
    rec_off = np.zeros(k + 1, np.int64)
    np.cumsum(count, out=rec_off[1:])
    u = int(rec_off[-1])
    # every row is written: the plan counts them
    X, PP, rec_t, rec_nis, rec_kind, rec_sensor, rec_det = _record_arrays(u)
    n_updates = np.zeros((k, int(sensor_in.max()) + 1 if m else 0), np.int64)
    info = np.full((k, 3), np.nan)
    written = np.zeros(k, np.int64)
    _track_kernel(
        offsets, code, t, kind, z_in, R_in, sensor, order, site, B, bidx, model.cfg(), model.params(),
        float(model.earth.omega_rad_s), wm, wc, gamma, float(init_min_dt_s), float(ir_burn_gap_s),
        int(establish_min_updates), float(establish_pos_sigma_m) ** 2, float(establish_vel_sigma_mps) ** 2,
        rec_off, X, PP, rec_t, rec_kind, rec_sensor, rec_nis, rec_det, n_updates, info, written,
    )
    if not np.array_equal(written, count):  # the plan and the tracker disagree: a bug
        raise RuntimeError("tracking: recorded states do not match the plan")

    h = TrackHistory(
        method=method,
        model=model,
        sigma_points=sigma_points,
        t_eval_s=np.asarray(t_eval_s, float).reshape(-1),
        x_eval=np.empty((k, 0, 6)),
        P_eval=np.empty((k, 0, 6, 6)),
        offsets=rec_off,
        t_s=rec_t,
        x=X,
        P=PP,
        kind=rec_kind,
        sensor=rec_sensor,
        nis=rec_nis,
        detection_index=rec_det,
        n_updates=n_updates,
        cued_at_s=info[:, I_CUED].copy(),
        initiated_at_s=info[:, I_INIT].copy(),
        established_at_s=info[:, I_EST].copy(),
    )
    n_t = h.t_eval_s.shape[0]
    if n_t and k:
        targets = np.repeat(np.arange(k, dtype=np.int64), n_t)
        times = np.ascontiguousarray(np.tile(h.t_eval_s, k))
        x_e, p_e = _evaluate(h, targets, times)
        h.x_eval = x_e.reshape(k, n_t, 6)
        h.P_eval = p_e.reshape(k, n_t, 6, 6)
    else:
        h.x_eval = np.full((k, n_t, 6), np.nan)
        h.P_eval = np.full((k, n_t, 6, 6), np.nan)
    return h
