"""observe: truth trajectories in, noisy detections out.

`observe(sensors, t_s, r_ecef_m, burning, rcs_m2, rng)` is a pure function of arrays (its only
state is the generator it is given). For each sensor it builds the sensor's look times
t = revisit_phase_s + k revisit_s that fall within [t_s[0], t_s[-1]], interpolates the truth
linearly in time to those looks (any time grid works; the error of linear interpolation over a
1 s grid is below a metre for a ballistic arc, a * dt^2 / 8), applies the sensor's geometry and
detection rules, and adds Gaussian noise. A truth sample that is NaN (object not flying) at
either end of the interval makes the object invisible at that look.

Association is perfect: each detection carries the index of the object that made it
(``target``); downstream tracking uses it as the association. There are no false alarms.

Randomness: one uniform draw per candidate detection when the sensor's p_detect < 1, then one
standard-normal triple per detection, both taken in the output order, so the same generator
state gives the same detections.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from bmdsim.constants import WGS84_A_M, WGS84_B_M
from bmdsim.earth.frames import enu_basis
from bmdsim.errors import BmdsimInputError
from bmdsim.sensors.geometry import TWO_PI, clears_earth, measure, site_enu
from bmdsim.sensors.spec import KIND_INFRARED, KIND_RADAR, InfraredSpec, RadarSpec, SensorSpec

_MIN_COS_EL = 1e-6  # caps the azimuth noise at the zenith/nadir, where azimuth means nothing


@dataclass(frozen=True)
class Detections:
    """Detections of all sensors, as arrays of length M sorted by (t_s, sensor, target, platform).

    t_s: look time (s). sensor: index into the sensors list given to `observe`. target: index
    of the truth object (perfect association). kind: 0 radar, 1 infrared. platform: which
    satellite of an infrared sensor (index into satellite_lon_deg), 0 for a radar.
    z (M, 3): radar (range_m, az_rad, el_rad); infrared (az_rad, el_rad, NaN); az in [0, 2 pi),
    noise added (el is not clipped, so a noisy el may leave [-pi/2, pi/2] by a hair).
    R (M, 3, 3): measurement noise covariance, diagonal; for infrared the upper-left 2x2 block,
    the rest zero. site_ecef_m (M, 3), site_lat_deg, site_lon_deg (M,): the site whose ENU frame
    the angles are in (for a satellite: its position and its sub-satellite point), so
    ``measure(kind, site_ecef_m, site_lat_deg, site_lon_deg, r)`` is the model of z.
    """

    t_s: np.ndarray
    sensor: np.ndarray
    target: np.ndarray
    kind: np.ndarray
    platform: np.ndarray
    z: np.ndarray
    R: np.ndarray
    site_ecef_m: np.ndarray
    site_lat_deg: np.ndarray
    site_lon_deg: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def take(self, index) -> Detections:
        """The detections selected by an index array or boolean mask, in the same order."""
        return Detections(**{k: getattr(self, k)[index] for k in self.__dataclass_fields__})

    @staticmethod
    def empty() -> Detections:
        e = np.empty(0)
        i = np.empty(0, dtype=np.int64)
        return Detections(e, i, i, i, i, np.empty((0, 3)), np.empty((0, 3, 3)), np.empty((0, 3)), e, e)


# ---------------------------------------------------------------- inputs and look times

def _check_inputs(sensors, t_s, r_ecef_m, burning, rcs_m2, rng, noise_scale=None):
    per_object = isinstance(rng, (list, tuple)) and all(isinstance(g, np.random.Generator) for g in rng)
    if not (isinstance(rng, np.random.Generator) or per_object):
        raise BmdsimInputError(
            "rng", type(rng).__name__,
            "pass a numpy.random.Generator (np.random.default_rng(seed)), or a list of them, one per object",
        )
    sensors = list(sensors)
    for i, s in enumerate(sensors):
        if not isinstance(s, (RadarSpec, InfraredSpec)):
            raise BmdsimInputError(f"sensors[{i}]", type(s).__name__, "a RadarSpec or InfraredSpec (bmdsim.sensors.get_sensor)")
    t = np.asarray(t_s, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise BmdsimInputError("t_s", f"array of shape {t.shape}", "a 1-D array of finite, strictly increasing times (s)")
    r = np.asarray(r_ecef_m, dtype=float)
    if r.ndim != 3 or r.shape[1:] != (t.size, 3):
        raise BmdsimInputError("r_ecef_m", f"array of shape {r.shape}", f"shape (N, {t.size}, 3): N objects at the {t.size} times")
    n = r.shape[0]
    b = np.asarray(burning)
    if b.shape != (n, t.size) or b.dtype != bool:
        raise BmdsimInputError("burning", f"{b.dtype} array of shape {b.shape}", f"a bool array of shape ({n}, {t.size})")
    rcs = np.asarray(rcs_m2, dtype=float)
    if rcs.shape == (n,):
        rcs = np.broadcast_to(rcs[:, None], (n, t.size))
    if rcs.shape != (n, t.size) or np.any(~(rcs > 0)):
        raise BmdsimInputError("rcs_m2", f"array of shape {rcs.shape}", f"positive values of shape ({n},) or ({n}, {t.size}) (m^2)")
    if per_object and len(rng) != n:
        raise BmdsimInputError("rng", f"{len(rng)} generators", f"one per object: {n}")
    if noise_scale is not None:
        ns = np.asarray(noise_scale, dtype=float)
        if ns.shape != (n, len(sensors)) or not np.all(np.isfinite(ns)) or np.any(ns < 0):
            raise BmdsimInputError(
                "noise_scale", f"array of shape {ns.shape}", f"finite factors >= 0 of shape ({n}, {len(sensors)}): objects x sensors"
            )
    return sensors, t, r, b, rcs


def look_times(t_s: np.ndarray, revisit_s: float, phase_s: float) -> np.ndarray:
    """Look times phase + k revisit (k integer) within [t_s[0], t_s[-1]], ascending."""
    eps = 1e-9 * max(1.0, abs(t_s[0]), abs(t_s[-1]))
    k0 = np.ceil((t_s[0] - phase_s - eps) / revisit_s)
    k1 = np.floor((t_s[-1] - phase_s + eps) / revisit_s)
    if k1 < k0:
        return np.empty(0)
    t = phase_s + np.arange(k0, k1 + 1) * revisit_s
    return np.clip(t, t_s[0], t_s[-1])


def _interp_index(t_s: np.ndarray, t_look: np.ndarray):
    """Left sample index, right sample index and weight of each look time."""
    last = t_s.size - 1
    i0 = np.clip(np.searchsorted(t_s, t_look, side="right") - 1, 0, last)
    i1 = np.minimum(i0 + 1, last)
    dt = t_s[i1] - t_s[i0]
    w = np.where(dt > 0, (t_look - t_s[i0]) / np.where(dt > 0, dt, 1.0), 0.0)
    w = np.where(t_look >= t_s[last], 0.0, w)  # exactly on the last sample
    return i0, i1, w


# ---------------------------------------------------------------- candidate scans (numba)
#
# The rules are evaluated in two steps, with results bitwise those of evaluating them densely in
# numpy over every (object, look) (tests/sensors/test_observe_reference.py holds that oracle).
# 1. A scan walks every (object, look) of one sensor in numba and keeps a superset of the
#    detections: the exact rules that are plain comparisons (burning, delay, finite truth) as
#    they are, the geometric ones (range, elevation, azimuth sector, Earth clearance) with a
#    margin of 1e-9 in their own units, far above the rounding of either side; radars first skip
#    whole blocks of looks by bounding boxes. The survivors come out sorted by (look, object[,
#    satellite]), their truth interpolated as `np.where(w == 0, a0, a0 + w (a1 - a0))` does.
# 2. The exact rules run on the survivors: what numpy computes with its own kernels (einsum,
#    arcsin, arctan2, power, cos, and the geometry functions built on them) through numpy, on
#    arrays laid out as before; IEEE-exact arithmetic (sqrt, division, fmod, comparisons) in
#    numba, term by term.

_MARGIN = 1e-9


@njit(cache=True)
def _wrap_2pi(a):
    """`geometry.wrap_2pi` of a scalar, bitwise (np.mod and numba's % are both fmod-based)."""
    if 0.0 < a < TWO_PI:   # fmod leaves it as it is
        return a
    a = a % TWO_PI
    return 0.0 if a >= TWO_PI else a


@njit(cache=True)
def _wrap_pi(a):
    """`geometry.wrap_pi` of a scalar, bitwise: (a + pi) mod 2 pi - pi."""
    b = a + math.pi
    if not (0.0 < b < TWO_PI):
        b = b % TWO_PI
    return b - math.pi


@njit(cache=True)
def _lerp(a0, a1, w):
    return a0 if w == 0.0 else a0 + w * (a1 - a0)


def _gather(r, rcs, i0, i1, w, mask, m):
    """The marked (look, object[, satellite]) cells in row-major order, their truth interpolated:
    look index, object, satellite, position (m, 3), rcs (m,)."""
    out = (np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64), np.empty((m, 3)), np.empty(m))
    _gather_into(r, rcs, i0, i1, w, mask, *out)
    return out


@njit(cache=True)
def _gather_into(r, rcs, i0, i1, w, mask, kk, obj, plat, r_k, rcs_k):
    j = 0
    for k in range(mask.shape[0]):
        a, b, ww = i0[k], i1[k], w[k]
        for o in range(mask.shape[1]):
            for p in range(mask.shape[2]):
                if mask[k, o, p]:
                    kk[j] = k
                    obj[j] = o
                    plat[j] = p
                    for c in range(3):
                        r_k[j, c] = _lerp(r[o, a, c], r[o, b, c], ww)
                    rcs_k[j] = _lerp(rcs[o, a], rcs[o, b], ww)
                    j += 1


_BLOCK = 16  # samples per block of the radar scan's coarse pruning


@njit(cache=True)
def _block_bounds(r, rcs, bs):
    """Per object and block of bs sample intervals: the bounding box of the finite samples the
    block's looks interpolate between (lo xyz, hi xyz; lo > hi when there is none) and the
    largest rcs there. Block j holds the looks whose left sample is in [j bs, (j + 1) bs)."""
    n_obj, n_t = r.shape[0], r.shape[1]
    n_blk = (n_t - 1) // bs + 1
    box = np.empty((n_obj, n_blk, 6))
    q_max = np.empty((n_obj, n_blk))
    for o in range(n_obj):
        for j in range(n_blk):
            lo = np.full(3, np.inf)
            hi = np.full(3, -np.inf)
            qm = 0.0
            for i in range(j * bs, min((j + 1) * bs, n_t - 1) + 1):
                x, y, z = r[o, i, 0], r[o, i, 1], r[o, i, 2]
                if math.isfinite(x) and math.isfinite(y) and math.isfinite(z):
                    lo[0], lo[1], lo[2] = min(lo[0], x), min(lo[1], y), min(lo[2], z)
                    hi[0], hi[1], hi[2] = max(hi[0], x), max(hi[1], y), max(hi[2], z)
                qm = max(qm, rcs[o, i])
            box[o, j, :3] = lo
            box[o, j, 3:] = hi
            q_max[o, j] = qm
    return box, q_max


@njit(cache=True)
def _radar_scan(r, rcs, i0, i1, w, box, q_max, bs, site, east, north, up, range2_ref, rcs_ref, sin_lo, sin_hi,
                horizon, check_az, bore_e, bore_n, cos_hw):
    """Superset of a radar's detections; see the section comment. Angles in radians.

    Whole blocks of looks are skipped first where the object's bounding box over the block is
    out of range (R_max at the block's largest rcs) or, when the minimum elevation is >= 0
    (`horizon`), entirely below the site's horizon plane, each by a clear margin (1e-6 relative
    plus a metre). The azimuth sector is tested as cos(az - boresight) >= cos_hw on the
    horizontal direction (bore_e, bore_n) = (sin, cos) of the boresight, away from the zenith."""
    n_obj, n_look = r.shape[0], i0.size
    n_blk = box.shape[1]
    k_blk = np.searchsorted(i0, np.arange(n_blk + 1) * bs)
    mask = np.zeros((n_look, n_obj, 1), np.bool_)
    m = 0
    for o in range(n_obj):
        for j in range(n_blk):
            if k_blk[j] == k_blk[j + 1] or box[o, j, 0] > box[o, j, 3]:
                continue
            d2 = 0.0       # squared distance from the site to the box
            far2 = 0.0     # squared distance to its farthest corner
            u_max = 0.0    # highest point of the box above the site's horizon plane
            for c in range(3):
                lo, hi = box[o, j, c] - site[c], box[o, j, 3 + c] - site[c]
                near = lo if lo > 0.0 else (-hi if hi < 0.0 else 0.0)
                d2 += near * near
                far2 += max(lo * lo, hi * hi)
                u_max += up[c] * (hi if up[c] > 0.0 else lo)
            if d2 > range2_ref * math.sqrt(q_max[o, j] / rcs_ref) * (1.0 + 1e-6):
                continue
            if horizon and u_max < -(1e-6 * math.sqrt(far2) + 1.0):
                continue
            for k in range(k_blk[j], k_blk[j + 1]):
                a, b, ww = i0[k], i1[k], w[k]
                x = _lerp(r[o, a, 0], r[o, b, 0], ww)
                y = _lerp(r[o, a, 1], r[o, b, 1], ww)
                z = _lerp(r[o, a, 2], r[o, b, 2], ww)
                if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                    continue
                q = _lerp(rcs[o, a], rcs[o, b], ww)
                dx, dy, dz = x - site[0], y - site[1], z - site[2]
                rho2 = dx * dx + dy * dy + dz * dz
                # rho <= R_ref (q / q_ref)^(1/4)  <=>  rho^2 <= R_ref^2 sqrt(q / q_ref)
                if rho2 > range2_ref * math.sqrt(q / rcs_ref):
                    continue
                if rho2 > 0.0:
                    rho = math.sqrt(rho2)
                    su = (up[0] * dx + up[1] * dy + up[2] * dz) / rho
                    if su < sin_lo or su > sin_hi:
                        continue
                    if check_az:
                        e = east[0] * dx + east[1] * dy + east[2] * dz
                        nn = north[0] * dx + north[1] * dy + north[2] * dz
                        h2 = e * e + nn * nn
                        if h2 > 1e-10 * rho2 and e * bore_e + nn * bore_n < cos_hw * math.sqrt(h2):
                            continue
                mask[k, o, 0] = True
                m += 1
    return mask, m


@njit(cache=True)
def _infrared_scan(r, burning, i0, i1, w, t_look, t_ready, sat_scaled, inv_a, inv_b, clear_min):
    """Superset of an infrared sensor's reports; see the section comment."""
    n_obj, n_look, n_sat = r.shape[0], i0.size, sat_scaled.shape[0]
    mask = np.zeros((n_look, n_obj, n_sat), np.bool_)
    m = 0
    for o in range(n_obj):
        for k in range(n_look):
            a, b, ww = i0[k], i1[k], w[k]
            # burning at the sample before the look and, between samples, the one after
            if not (burning[o, a] and (burning[o, b] or ww == 0.0)) or not (t_look[k] >= t_ready[o]):
                continue
            x = _lerp(r[o, a, 0], r[o, b, 0], ww)
            y = _lerp(r[o, a, 1], r[o, b, 1], ww)
            z = _lerp(r[o, a, 2], r[o, b, 2], ww)
            if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                continue
            # clears_earth: distance from the origin to the segment, in the ellipsoid-as-sphere scaling
            bx, by, bz = x * inv_a, y * inv_a, z * inv_b
            for p in range(n_sat):
                ax, ay, az = sat_scaled[p, 0], sat_scaled[p, 1], sat_scaled[p, 2]
                dx, dy, dz = bx - ax, by - ay, bz - az
                dd = dx * dx + dy * dy + dz * dz
                if dd > 0.0:
                    t = min(max(-(ax * dx + ay * dy + az * dz) / dd, 0.0), 1.0)
                    cx, cy, cz = ax + t * dx, ay + t * dy, az + t * dz
                    if not (cx * cx + cy * cy + cz * cz >= clear_min):
                        continue
                mask[k, o, p] = True
                m += 1
    return mask, m


@njit(cache=True, error_model="numpy")
def _range_and_sine(enu, rho, x):
    """rho = |enu| and x = clip(u / rho, -1, 1), as numpy evaluates them."""
    for i in range(enu.shape[0]):
        e, n, u = enu[i, 0], enu[i, 1], enu[i, 2]
        rr = math.sqrt(e * e + n * n + u * u)
        v = u / rr
        if v < -1.0:
            v = -1.0
        elif v > 1.0:
            v = 1.0
        rho[i] = rr
        x[i] = v


@njit(cache=True)
def _radar_keep(rho, el, az_raw, r_max, el_lo, el_hi, bore, hw_tol, z, keep):
    """The radar rules on exact (rho, el, atan2 az, R_max); the rows kept go to z = (rho, az, el)
    and keep (their indices), compacted; returns how many. The sector test is
    `geometry.in_azimuth_sector` (|wrap_pi(az - bore)| <= hw + 1e-12) term by term."""
    n = 0
    for i in range(rho.size):
        rr, e = rho[i], el[i]
        if not (math.isfinite(rr) and rr > 0.0 and e >= el_lo and e <= el_hi and rr <= r_max[i]):
            continue
        a = _wrap_2pi(az_raw[i])
        if not (abs(_wrap_pi(a - bore)) <= hw_tol):
            continue
        z[n, 0] = rr
        z[n, 1] = a
        z[n, 2] = e
        keep[n] = i
        n += 1
    return n


# ---------------------------------------------------------------- per-sensor detections

def _looks(t_s: np.ndarray, spec):
    """Distinct look times, their multiplicity (None when all distinct) and interpolation indices."""
    t_look = look_times(t_s, spec.revisit_s, spec.revisit_phase_s)
    if t_look.size == 0:
        return None
    mult = None
    if np.any(t_look[1:] == t_look[:-1]):  # looks closer than the rounding slack: report each
        t_look, mult = np.unique(t_look, return_counts=True)
    i0, i1, w = _interp_index(t_s, t_look)
    return t_look, mult, i0, i1, w


def _repeat(mult, kk, *arrays):
    """Each kept cell once per look at its time (looks that coincide report alike)."""
    if mult is None:
        return (kk,) + arrays
    rep = mult[kk]
    return tuple(np.repeat(a, rep, axis=0) for a in (kk,) + arrays)


def _radar_candidates(spec: RadarSpec, t_s, r, rcs, bounds):
    looks = _looks(t_s, spec)
    if looks is None:
        return None
    t_look, mult, i0, i1, w = looks
    site = spec.site_ecef_m
    basis = enu_basis(spec.site_lat_deg, spec.site_lon_deg)
    el_lo, el_hi = np.radians(spec.min_elevation_deg), np.radians(spec.max_elevation_deg)
    bore, hw = np.radians(spec.boresight_az_deg), np.radians(spec.half_width_az_deg)
    mask, m = _radar_scan(
        r, rcs, i0, i1, w, bounds[0], bounds[1], _BLOCK, site, basis[0], basis[1], basis[2],
        spec.max_range_ref_m**2 * (1.0 + _MARGIN), spec.rcs_ref_m2,
        math.sin(el_lo) - _MARGIN, math.sin(el_hi) + _MARGIN, bool(spec.min_elevation_deg >= 0.0),
        bool(hw + 1e-12 + _MARGIN < math.pi), math.sin(bore), math.cos(bore), math.cos(hw + 1e-12) - _MARGIN,
    )
    kk, obj, _, r_k, rcs_k = _gather(r, rcs, i0, i1, w, mask, m)
    # the exact rules, on the candidates: numpy for einsum, arcsin, arctan2 and power (their
    # results depend on numpy's own kernels), numba for the rest (IEEE-exact either way)
    enu = site_enu(r_k, site, spec.site_lat_deg, spec.site_lon_deg)
    rho, x = np.empty(m), np.empty(m)
    _range_and_sine(enu, rho, x)
    el = np.arcsin(x)
    az = np.arctan2(enu[..., 0], enu[..., 1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r_max = spec.max_range_m(rcs_k)
    z, keep = np.empty((m, 3)), np.empty(m, dtype=np.int64)
    n_keep = _radar_keep(rho, el, az, r_max, el_lo, el_hi, bore, hw + 1e-12, z, keep)
    z, keep = z[:n_keep], keep[:n_keep]
    kk, obj, z = _repeat(mult, kk[keep], obj[keep], z)
    m = obj.size
    sig = np.empty((m, 3))
    sig[:, 0] = spec.sigma_range_m
    sig[:, 1] = spec.sigma_az_rad / np.maximum(np.cos(z[:, 2]), _MIN_COS_EL)
    sig[:, 2] = spec.sigma_el_rad
    return dict(k=kk, t_s=t_look[kk], target=obj, platform=np.zeros(m, dtype=np.int64), z=z, sig=sig)


def _infrared_candidates(spec: InfraredSpec, t_s, r, rcs, burning):
    looks = _looks(t_s, spec)
    if looks is None:
        return None
    t_look, mult, i0, i1, w = looks
    any_burn = burning.any(axis=1)
    t_first = np.where(any_burn, t_s[np.argmax(burning, axis=1)], np.inf)    # (N,)
    sats = spec.satellite_ecef_m
    mask, m = _infrared_scan(
        r, burning, i0, i1, w, t_look, t_first + spec.detection_delay_s,
        sats * np.array([1.0 / WGS84_A_M, 1.0 / WGS84_A_M, 1.0 / WGS84_B_M]),
        1.0 / WGS84_A_M, 1.0 / WGS84_B_M, 1.0 - _MARGIN,
    )
    kk, obj, plat, r_k, _ = _gather(r, rcs, i0, i1, w, mask, m)
    # the exact rules, on the candidates, one satellite at a time as they are defined
    ok = np.zeros(obj.size, dtype=bool)
    z = np.empty((obj.size, 3))
    for p, (sat, lon) in enumerate(zip(sats, spec.satellite_lon_deg)):
        at = np.flatnonzero(plat == p)
        rp = r_k[at]
        clear = clears_earth(np.broadcast_to(sat, rp.shape), rp)
        ok[at] = clear
        z[at[clear]] = measure(KIND_INFRARED, sat, 0.0, lon, rp[clear])
    keep = np.flatnonzero(ok)
    kk, obj, plat, z = _repeat(mult, kk[keep], obj[keep], plat[keep], z[keep])
    m = obj.size
    sig = np.zeros((m, 3))
    sig[:, 0] = spec.sigma_los_rad / np.maximum(np.abs(np.cos(z[:, 1])), _MIN_COS_EL)
    sig[:, 1] = spec.sigma_los_rad
    return dict(k=kk, t_s=t_look[kk], target=obj, platform=plat, z=z, sig=sig)


def _merge_order(parts) -> np.ndarray:
    """Permutation of the concatenated parts that sorts by (time, sensor, target, platform).

    Each part (one sensor) is already sorted by (look, target, platform); its runs of one look
    are placed in (time, sensor) order, which is the order `np.lexsort` of the four keys gives.
    """
    g_t, g_sensor, g_start, g_len = [], [], [], []
    offset = 0
    for si, c in parts:
        k = c["k"]
        starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
        g_t.append(c["t_s"][starts])
        g_sensor.append(np.full(starts.size, si, dtype=np.int64))
        g_start.append(starts + offset)
        g_len.append(np.diff(np.append(starts, k.size)))
        offset += k.size
    order = np.lexsort((np.concatenate(g_sensor), np.concatenate(g_t)))
    start, length = np.concatenate(g_start)[order], np.concatenate(g_len)[order]
    return np.repeat(start - (np.cumsum(length) - length), length) + np.arange(offset)


@njit(cache=True)
def _assemble(rows, t_c, target_c, z_c, sig_c, src_c, src_sensor, src_platform, src_kind, src_site, src_lat, src_lon,
              noise, t_d, sensor, target, kind, platform, z, R, site, lat, lon):
    """Fill the detections (t_d ... lon, R zeroed) from candidate rows `rows` (sorted, thinned).

    z = z + sig noise, then the azimuth (radar column 1, infrared column 0) wrapped to
    [0, 2 pi), the infrared column 2 NaN; R diagonal sig^2; the rest from the row's source."""
    for i in range(rows.size):
        j = rows[i]
        s = src_c[j]
        t_d[i] = t_c[j]
        target[i] = target_c[j]
        sensor[i] = src_sensor[s]
        kind[i] = src_kind[s]
        platform[i] = src_platform[s]
        for c in range(3):
            z[i, c] = z_c[j, c] + sig_c[j, c] * noise[i, c]
            R[i, c, c] = sig_c[j, c] * sig_c[j, c]
            site[i, c] = src_site[s, c]
        if src_kind[s] == KIND_INFRARED:
            z[i, 0] = _wrap_2pi(z[i, 0])
            z[i, 2] = np.nan
        else:
            z[i, 1] = _wrap_2pi(z[i, 1])
        lat[i] = src_lat[s]
        lon[i] = src_lon[s]


# ---------------------------------------------------------------- the verb

def _draw_per_object(order, target, p, rngs):
    """Keep draws and noise object by object: each object's candidates in their merged order get
    its own Generator's draws, as a call with that object alone would give them (whose keep
    draws happen only when one of its own candidates has p_detect < 1)."""
    tg = target[order]
    groups = np.argsort(tg, kind="stable")
    bounds = np.searchsorted(tg[groups], np.arange(len(rngs) + 1))
    keep = np.ones(order.size, dtype=bool)
    noise = np.empty((order.size, 3))
    for k, g in enumerate(rngs):
        sub = groups[bounds[k]:bounds[k + 1]]
        if sub.size and np.any(p[order[sub]] < 1.0):
            keep[sub] = g.random(sub.size) < p[order[sub]]
        kept = sub[keep[sub]]
        noise[kept] = g.standard_normal((kept.size, 3))
    return order[keep], noise[keep]


def observe(
    sensors: Sequence[SensorSpec],
    t_s: np.ndarray,
    r_ecef_m: np.ndarray,
    burning: np.ndarray,
    rcs_m2: np.ndarray,
    rng: np.random.Generator | Sequence[np.random.Generator],
    noise_scale: np.ndarray | None = None,
) -> Detections:
    """Noisy detections of N truth objects by a list of sensors.

    sensors: RadarSpec / InfraredSpec (``bmdsim.sensors.get_sensor``). t_s (T,): strictly
    increasing times (s). r_ecef_m (N, T, 3): truth ECEF positions (m), NaN where the object is
    not flying. burning (N, T) bool: motor burning (infrared sensors see only these samples).
    rcs_m2 (N,) or (N, T): radar cross-section (m^2), interpolated like the positions.
    rng: the only source of randomness: one Generator, or one per object (N of them), each
    drawing its object's detections exactly as a call with that object alone would (a campaign
    observes many trials at once, each trial with its own streams).
    noise_scale: optional (N, S) factors on the noise each sensor puts on each object's
    measurements (the reported covariance R stays the catalog's: a tracker assumes it).

    Radars: a detection at each look where the object is in the field of regard and within
    R_max(rcs) (then with probability p_detect). Infrared: a report at each look while the
    object burns, from its first burning sample + detection_delay_s on, from every satellite
    whose line of sight to it clears the Earth. Noise is Gaussian, zero mean, with the
    covariance R reported per detection. Returns `Detections` sorted by (time, sensor, target,
    platform); empty arrays when nothing is seen.
    """
    sensors, t, r, b, rcs = _check_inputs(sensors, t_s, r_ecef_m, burning, rcs_m2, rng, noise_scale)
    if noise_scale is not None:
        noise_scale = np.asarray(noise_scale, dtype=float)
    r = np.ascontiguousarray(r)
    rcs = np.ascontiguousarray(rcs)
    bounds = _block_bounds(r, rcs, _BLOCK) if any(isinstance(s, RadarSpec) for s in sensors) else None
    parts, sources = [], []   # sources: one row per (sensor, platform), the constants of its detections
    for si, spec in enumerate(sensors):
        if isinstance(spec, RadarSpec):
            c = _radar_candidates(spec, t, r, rcs, bounds)
        else:
            c = _infrared_candidates(spec, t, r, rcs, np.ascontiguousarray(b))
        if c is None or c["target"].size == 0:
            continue
        if isinstance(spec, RadarSpec):
            c["source"] = np.full(c["target"].size, len(sources), dtype=np.int64)
            sources.append((si, 0, KIND_RADAR, spec.p_detect, spec.site_ecef_m, spec.site_lat_deg, spec.site_lon_deg))
        else:
            c["source"] = len(sources) + c["platform"]
            for p, (sat, lon) in enumerate(zip(spec.satellite_ecef_m, spec.satellite_lon_deg)):
                sources.append((si, p, KIND_INFRARED, spec.p_detect, sat, 0.0, lon))
        parts.append((si, c))
    if not parts:
        return Detections.empty()

    order = _merge_order(parts)
    cat = {key: np.concatenate([c[key] for _, c in parts]) for key in ("t_s", "target", "z", "sig", "source")}
    src_p = np.array([s[3] for s in sources], dtype=float)
    src_sensor = np.array([s[0] for s in sources], dtype=np.int64)
    if isinstance(rng, np.random.Generator):
        if np.any(src_p < 1.0):
            p = src_p[cat["source"][order]]
            order = order[rng.random(p.size) < p]
        m = order.size
        noise = rng.standard_normal((m, 3))
    else:
        order, noise = _draw_per_object(order, cat["target"], src_p[cat["source"]], rng)
        m = order.size
    if noise_scale is not None:
        noise *= noise_scale[cat["target"][order], src_sensor[cat["source"][order]]][:, None]
    # outputs allocated by numpy (which asks for huge pages: far fewer page faults than numba's allocator)
    t_d, lat, lon = np.empty(m), np.empty(m), np.empty(m)
    sensor, target, kind, platform = (np.empty(m, dtype=np.int64) for _ in range(4))
    z, site, R = np.empty((m, 3)), np.empty((m, 3)), np.zeros((m, 3, 3))
    _assemble(
        order, cat["t_s"], cat["target"].astype(np.int64, copy=False), cat["z"], cat["sig"], cat["source"],
        src_sensor, np.array([s[1] for s in sources], dtype=np.int64),
        np.array([s[2] for s in sources], dtype=np.int64), np.array([s[4] for s in sources], dtype=float).reshape(-1, 3),
        np.array([s[5] for s in sources], dtype=float), np.array([s[6] for s in sources], dtype=float), noise,
        t_d, sensor, target, kind, platform, z, R, site, lat, lon,
    )
    return Detections(
        t_s=t_d, sensor=sensor, target=target, kind=kind, platform=platform, z=z, R=R,
        site_ecef_m=site, site_lat_deg=lat, site_lon_deg=lon,
    )
