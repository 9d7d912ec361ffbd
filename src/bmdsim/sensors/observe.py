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
state gives the same detections. With one generator per object, each object's draws come from
its own generator the same way (its candidates in output order), object after object.
"""

from __future__ import annotations

import ctypes
import math
import weakref
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import errors as numba_errors
from numba.extending import intrinsic

from bmdsim.constants import WGS84_A_M, WGS84_B_M
from bmdsim.earth.frames import enu_basis
from bmdsim.errors import BmdsimInputError
from bmdsim.sensors.geometry import TWO_PI, clears_earth, measure
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
#    whole blocks of looks by bounding boxes (of all objects, then of each). The survivors come
#    out sorted by (look, object[, satellite]), their truth interpolated as
#    `np.where(w == 0, a0, a0 + w (a1 - a0))` does.
# 2. The exact rules run on the survivors: what numpy computes with its own kernels (einsum,
#    arcsin, arctan2, power, cos, and the geometry functions built on them) through numpy, on
#    arrays laid out as before (strides and dtypes; element-wise, so a radar's candidates may go
#    through in chunks); IEEE-exact arithmetic (sqrt, division, fmod, comparisons) in numba,
#    term by term. The radars' kept rows go straight into one candidate store (`_Candidates`),
#    which the draws and the assembly of the outputs then read in (time, sensor) order.

_MARGIN = 1e-9


@njit(cache=True)
def _mod_2pi(a):
    """np.mod(a, 2 pi) of a scalar, bitwise. np.mod and numba's % are both fmod(a, 2 pi), plus
    2 pi when that is negative. fmod is exact and slow; on the common ranges it is known: for
    a in (-2 pi, 0) it is a itself (the result a + 2 pi), for a in [2 pi, 4 pi) it is a - 2 pi,
    which the subtraction gives exactly (Sterbenz: a is within a factor 2 of 2 pi)."""
    if -TWO_PI < a < 0.0:
        return a + TWO_PI
    if TWO_PI <= a < 2.0 * TWO_PI:
        return a - TWO_PI
    return a % TWO_PI


@njit(cache=True)
def _wrap_2pi(a):
    """`geometry.wrap_2pi` of a scalar, bitwise (np.mod and numba's % are both fmod-based)."""
    if 0.0 < a < TWO_PI:   # fmod leaves it as it is
        return a
    a = _mod_2pi(a)
    return 0.0 if a >= TWO_PI else a


@njit(cache=True)
def _wrap_pi(a):
    """`geometry.wrap_pi` of a scalar, bitwise: (a + pi) mod 2 pi - pi."""
    b = a + math.pi
    if not (0.0 < b < TWO_PI):
        b = _mod_2pi(b)
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
    largest rcs there; row n_obj the same over all objects. Block j holds the looks whose left
    sample is in [j bs, (j + 1) bs)."""
    n_obj, n_t = r.shape[0], r.shape[1]
    n_blk = (n_t - 1) // bs + 1
    box = np.empty((n_obj + 1, n_blk, 6))
    q_max = np.empty((n_obj + 1, n_blk))
    box[n_obj, :, :3] = np.inf
    box[n_obj, :, 3:] = -np.inf
    q_max[n_obj] = 0.0
    for o in range(n_obj):
        for j in range(n_blk):
            lx = ly = lz = np.inf
            hx = hy = hz = -np.inf
            qm = 0.0
            for i in range(j * bs, min((j + 1) * bs, n_t - 1) + 1):
                x, y, z = r[o, i, 0], r[o, i, 1], r[o, i, 2]
                if math.isfinite(x) and math.isfinite(y) and math.isfinite(z):
                    lx, ly, lz = min(lx, x), min(ly, y), min(lz, z)
                    hx, hy, hz = max(hx, x), max(hy, y), max(hz, z)
                qm = max(qm, rcs[o, i])
            box[o, j, 0], box[o, j, 1], box[o, j, 2] = lx, ly, lz
            box[o, j, 3], box[o, j, 4], box[o, j, 5] = hx, hy, hz
            q_max[o, j] = qm
            u = box[n_obj, j]
            u[0], u[1], u[2] = min(u[0], lx), min(u[1], ly), min(u[2], lz)
            u[3], u[4], u[5] = max(u[3], hx), max(u[4], hy), max(u[5], hz)
            q_max[n_obj, j] = max(q_max[n_obj, j], qm)
    return box, q_max


@njit(cache=True)
def _box_out_of_sight(box, q_max, o, j, site, up, range2_ref, rcs_ref, horizon, s):
    """Whether the bounding box box[o, j] (lo xyz, hi xyz) with largest rcs q_max[o, j] is out
    of radar s's range (R_max at that rcs) or, when its minimum elevation is >= 0 (`horizon`),
    entirely below the site's horizon plane, each by a clear margin (1e-6 relative plus a
    metre)."""
    d2 = 0.0       # squared distance from the site to the box
    far2 = 0.0     # squared distance to its farthest corner
    u_max = 0.0    # highest point of the box above the site's horizon plane
    for c in range(3):
        lo, hi = box[o, j, c] - site[s, c], box[o, j, 3 + c] - site[s, c]
        near = lo if lo > 0.0 else (-hi if hi < 0.0 else 0.0)
        d2 += near * near
        far2 += max(lo * lo, hi * hi)
        u_max += up[s, c] * (hi if up[s, c] > 0.0 else lo)
    if d2 > range2_ref[s] * math.sqrt(q_max[o, j] / rcs_ref[s]) * (1.0 + 1e-6):
        return True
    return horizon[s] and u_max < -(1e-6 * math.sqrt(far2) + 1.0)


@njit(cache=True)
def _radar_prune(box, q_max, bs, look_off, i0s, mult, site, up, range2_ref, rcs_ref, horizon, k_blk, live_off, live,
                 bound):
    """The coarse pruning of each radar's looks, block by block: radar s's looks of block j are
    k_blk[s, j]:k_blk[s, j + 1] (indices within its looks), and the objects that may be seen
    there live[live_off[s nb + j]:live_off[s nb + j + 1]] (nb blocks), ascending: all but those
    whose bounding box over the block is out of sight (`_box_out_of_sight`), tested first on
    the box around all objects' (row n_obj of box and q_max). bound[s]: how many (look,
    object) pairs remain for radar s, bound[s + S] the same counting each look's multiplicity."""
    n_obj, n_blk = box.shape[0] - 1, box.shape[1]
    n_r = look_off.size - 1
    n = 0
    live_off[0] = 0
    for s in range(n_r):
        k_blk[s] = np.searchsorted(i0s[look_off[s]:look_off[s + 1]], np.arange(n_blk + 1) * bs)
        bound[s] = 0
        bound[s + n_r] = 0
        for j in range(n_blk):
            n_k = k_blk[s, j + 1] - k_blk[s, j]
            if n_k > 0 and box[n_obj, j, 0] <= box[n_obj, j, 3] and not _box_out_of_sight(
                    box, q_max, n_obj, j, site, up, range2_ref, rcs_ref, horizon, s):
                n_rep = 0
                for k in range(k_blk[s, j], k_blk[s, j + 1]):
                    n_rep += mult[look_off[s] + k]
                for o in range(n_obj):
                    if box[o, j, 0] > box[o, j, 3] or _box_out_of_sight(
                            box, q_max, o, j, site, up, range2_ref, rcs_ref, horizon, s):
                        continue
                    live[n] = o
                    n += 1
                    bound[s] += n_k
                    bound[s + n_r] += n_rep
            live_off[s * n_blk + j + 1] = n


@njit(cache=True)
def _radar_scan(s, r, rcs, look_off, i0s, i1s, ws, k_blk, live_off, live, site, east, north, up, range2_ref, rcs_ref,
                sin_lo, sin_hi, check_az, bore_e, bore_n, cos_hw, kk, obj, d, q_rel):
    """Superset of radar s's detections (see the section comment), over the looks and objects
    `_radar_prune` leaves. Angles in radians; the radar has the looks look_off[s]:look_off[s + 1]
    of (i0s, i1s, ws) and row s of each parameter array. The azimuth sector is tested as
    cos(az - boresight) >= cos_hw on the horizontal direction (bore_e, bore_n) = (sin, cos) of
    the boresight, away from the zenith.

    The candidates go out sorted by (look, object), and their number is returned: kk the look
    (index within the radar's looks), obj the object, d its interpolated position minus the
    site (m, as ``r - site`` in numpy), q_rel its interpolated rcs / rcs_ref."""
    n_blk = k_blk.shape[1] - 1
    i0 = i0s[look_off[s]:look_off[s + 1]]
    i1 = i1s[look_off[s]:look_off[s + 1]]
    w = ws[look_off[s]:look_off[s + 1]]
    sx, sy, sz = site[s, 0], site[s, 1], site[s, 2]
    ux, uy, uz = up[s, 0], up[s, 1], up[s, 2]
    ex, ey, ez = east[s, 0], east[s, 1], east[s, 2]
    nx, ny, nz = north[s, 0], north[s, 1], north[s, 2]
    r4, q_ref, lo_s, hi_s, az_s = range2_ref[s] * range2_ref[s], rcs_ref[s], sin_lo[s], sin_hi[s], check_az[s]
    be, bn, chw = bore_e[s], bore_n[s], cos_hw[s]
    m = 0
    for j in range(n_blk):
        l0, l1 = live_off[s * n_blk + j], live_off[s * n_blk + j + 1]
        for k in range(k_blk[s, j], k_blk[s, j + 1]):
            a, b, ww = i0[k], i1[k], w[k]
            for ol in range(l0, l1):
                o = live[ol]
                x = _lerp(r[o, a, 0], r[o, b, 0], ww)
                y = _lerp(r[o, a, 1], r[o, b, 1], ww)
                z = _lerp(r[o, a, 2], r[o, b, 2], ww)
                if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                    continue
                qr = _lerp(rcs[o, a], rcs[o, b], ww) / q_ref
                dx, dy, dz = x - sx, y - sy, z - sz
                rho2 = dx * dx + dy * dy + dz * dz
                # rho <= R_ref (q / q_ref)^(1/4)  <=>  rho^4 <= R_ref^4 q / q_ref
                if rho2 * rho2 > r4 * qr:
                    continue
                if rho2 > 0.0:
                    rho = math.sqrt(rho2)
                    u = ux * dx + uy * dy + uz * dz     # sin(el) = u / rho
                    if u < lo_s * rho or u > hi_s * rho:
                        continue
                    if az_s:
                        e = ex * dx + ey * dy + ez * dz
                        nn = nx * dx + ny * dy + nz * dz
                        h2 = e * e + nn * nn
                        if h2 > 1e-10 * rho2 and e * be + nn * bn < chw * math.sqrt(h2):
                            continue
                kk[m] = k
                obj[m] = o
                d[m, 0], d[m, 1], d[m, 2] = dx, dy, dz
                q_rel[m] = qr
                m += 1
    return m


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
def _radar_keep(s, rho, el, az_raw, p, kk, obj, r_ref, el_lo, el_hi, bore, hw_tol, look_off, t_look, mult, src,
                t_c, target_c, z_c, src_c):
    """The radar rules on exact (rho, el, atan2 az, (rcs / rcs_ref)^(1/4)) of candidates of
    radar s; the rows kept go out compacted, each mult times (coinciding looks): time, target,
    z = (rho, az, el), source. Returns how many. R_max is
    `RadarSpec.max_range_m` (r_ref p) and the sector test `geometry.in_azimuth_sector`
    (|wrap_pi(az - bore)| <= hw + 1e-12), term by term."""
    n = 0
    lo, hi, rr_ref, bo, tol = el_lo[s], el_hi[s], r_ref[s], bore[s], hw_tol[s]
    for i in range(rho.size):
        rr, e = rho[i], el[i]
        if not (math.isfinite(rr) and rr > 0.0 and e >= lo and e <= hi and rr <= rr_ref * p[i]):
            continue
        a = _wrap_2pi(az_raw[i])
        if not (abs(_wrap_pi(a - bo)) <= tol):
            continue
        kl = look_off[s] + kk[i]
        for _ in range(mult[kl]):
            t_c[n] = t_look[kl]
            target_c[n] = obj[i]
            z_c[n, 0] = rr
            z_c[n, 1] = a
            z_c[n, 2] = e
            src_c[n] = src[s]
            n += 1
    return n


@njit(cache=True)
def _az_sigma(cos_el, src_c, sigma_az, sig_v):
    """The azimuth sigma: sigma_az / np.maximum(cos_el, _MIN_COS_EL), element by element."""
    for i in range(cos_el.size):
        c = cos_el[i]
        if not (c >= _MIN_COS_EL or c != c):   # np.maximum: NaN propagates
            c = _MIN_COS_EL
        sig_v[i] = sigma_az[src_c[i]] / c


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


class _Candidates:
    """Candidate detections of all sensors, in rows: each sensor's a part sorted by (look,
    target, platform). t (s), target, z (., 3) noise-free, src the (sensor, platform) source
    row, sig_v the one noise sigma that varies by row (the azimuth's: column `src_var` of the
    source; the others are the source's constants `src_sig`); parts: (start, end, sensor) per
    sensor with rows."""

    def __init__(self, capacity):
        self.t = np.empty(capacity)
        self.target = np.empty(capacity, dtype=np.int32)
        self.z = np.empty((capacity, 3))
        self.sig_v = np.empty(capacity)
        self.src = np.empty(capacity, dtype=np.int32)
        self.parts = []
        self.n = 0

    def append(self, si, src0, c):
        """An infrared sensor's reports (`_infrared_candidates`)."""
        m = c["target"].size
        a, b = self.n, self.n + m
        self.t[a:b] = c["t_s"]
        self.target[a:b] = c["target"]
        self.z[a:b] = c["z"]
        self.sig_v[a:b] = c["sig"][:, 0]
        self.src[a:b] = src0 + c["platform"]
        self.parts.append((a, b, si))
        self.n = b


# ---------------------------------------------------------------- sensor constants, cached

_CONSTANTS: dict = {}


def _cached(objs, build):
    """build(), memoised on the identity of the (frozen) objects objs, which it depends on only."""
    key = tuple(map(id, objs))
    hit = _CONSTANTS.get(key)
    if hit is not None and len(hit[0]) == len(objs) and all(ref() is o for ref, o in zip(hit[0], objs)):
        return hit[1]
    value = build()
    if len(_CONSTANTS) >= 64:
        _CONSTANTS.clear()
    _CONSTANTS[key] = (tuple(weakref.ref(o) for o in objs), value)
    return value


def _radar_params(spec: RadarSpec):
    """The per-radar constants of the scan and the rules."""
    basis = enu_basis(spec.site_lat_deg, spec.site_lon_deg)
    el_lo, el_hi = np.radians(spec.min_elevation_deg), np.radians(spec.max_elevation_deg)
    bore, hw = np.radians(spec.boresight_az_deg), np.radians(spec.half_width_az_deg)
    return dict(
        basis=basis, site=spec.site_ecef_m, east=basis[0], north=basis[1], up=basis[2],
        range2_ref=spec.max_range_ref_m**2 * (1.0 + _MARGIN), rcs_ref=spec.rcs_ref_m2,
        sin_lo=math.sin(el_lo) - _MARGIN, sin_hi=math.sin(el_hi) + _MARGIN, horizon=bool(spec.min_elevation_deg >= 0.0),
        check_az=bool(hw + 1e-12 + _MARGIN < math.pi), bore_e=math.sin(bore), bore_n=math.cos(bore),
        cos_hw=math.cos(hw + 1e-12) - _MARGIN, r_ref=spec.max_range_ref_m, el_lo=el_lo, el_hi=el_hi, bore=bore,
        hw_tol=hw + 1e-12,
    )


_PRUNE_KEYS = ("site", "up", "range2_ref", "rcs_ref", "horizon")
_SCAN_KEYS = ("site", "east", "north", "up", "range2_ref", "rcs_ref", "sin_lo", "sin_hi", "check_az", "bore_e",
              "bore_n", "cos_hw")
_KEEP_KEYS = ("r_ref", "el_lo", "el_hi", "bore", "hw_tol")


def _setup(sensors):
    """The constants of a list of sensors: sources (one row per (sensor, platform): sensor,
    platform, kind, p_detect, site, lat, lon, sigma_az), each sensor's first source row, the
    radars' indices and their parameters stacked (one row per radar), the infrared satellites."""
    src = []
    src0, radars, infrared = [], [], []
    for si, spec in enumerate(sensors):
        src0.append(len(src))
        if isinstance(spec, RadarSpec):
            radars.append(si)
            src.append((si, 0, KIND_RADAR, spec.p_detect, spec.site_ecef_m, spec.site_lat_deg, spec.site_lon_deg,
                        spec.sigma_az_rad, (spec.sigma_range_m, np.nan, spec.sigma_el_rad), 1))
        else:
            sats = spec.satellite_ecef_m
            infrared.append((si, sats, sats * np.array([1.0 / WGS84_A_M, 1.0 / WGS84_A_M, 1.0 / WGS84_B_M])))
            for p, (sat, lon) in enumerate(zip(sats, spec.satellite_lon_deg)):
                src.append((si, p, KIND_INFRARED, spec.p_detect, sat, 0.0, lon, 0.0, (np.nan, spec.sigma_los_rad, 0.0), 0))
    col = lambda j, dt: np.array([s[j] for s in src], dtype=dt)  # noqa: E731
    out = dict(
        src0=src0, radars=radars, infrared=infrared, src_sensor=col(0, np.int64), src_platform=col(1, np.int64),
        src_kind=col(2, np.int64), src_p=col(3, float), src_site=col(4, float).reshape(-1, 3), src_lat=col(5, float),
        src_lon=col(6, float), src_sigma_az=col(7, float), src_sig=col(8, float).reshape(-1, 3), src_var=col(9, np.int64),
        src_radar=np.array([src0[si] for si in radars], np.int64),
    )
    params = [_radar_params(sensors[si]) for si in radars]
    out["basis"] = [p["basis"] for p in params]
    for key in set(_PRUNE_KEYS + _SCAN_KEYS + _KEEP_KEYS):
        out[key] = np.array([p[key] for p in params])
    for v in out.values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
    return out


def _radar_looks(sensors, radars, t_s):
    """All radars' looks, radar s the rows look_off[s]:look_off[s + 1] (none where a radar has
    none): time, multiplicity (int64), interpolation indices and weight. Radars with the same
    revisit and phase share their computation."""
    memo = {}
    parts = []
    for si in radars:
        spec = sensors[si]
        key = (spec.revisit_s, spec.revisit_phase_s)
        if key not in memo:
            memo[key] = _looks(t_s, spec)
        parts.append(memo[key])
    look_off = np.zeros(len(radars) + 1, dtype=np.int64)
    look_off[1:] = np.cumsum([0 if lk is None else lk[0].size for lk in parts])
    present = [lk for lk in parts if lk is not None]
    if not present:
        return None
    cat = lambda j: np.concatenate([lk[j] for lk in present])  # noqa: E731
    mult = np.concatenate([np.ones(lk[0].size, np.int64) if lk[1] is None else lk[1].astype(np.int64) for lk in present])
    return look_off, cat(0), mult, cat(2), cat(3), cat(4)


_CHUNK = 32768   # candidates per pass of the exact rules (their temporaries stay in cache)


class _RadarScan:
    """The radars' looks and coarse pruning: `n_rows` bounds the rows they can keep."""

    def __init__(self, sensors, consts, t_s, r, rcs):
        self.looks = _radar_looks(sensors, consts["radars"], t_s)
        self.n_rows = 0
        if self.looks is None:
            return
        look_off, _, mult, i0, _, _ = self.looks
        n_obj, n_r = r.shape[0], len(consts["radars"])
        box, q_max = _block_bounds(r, rcs, _BLOCK)
        n_blk = box.shape[1]
        self.k_blk = np.empty((n_r, n_blk + 1), dtype=np.int64)
        self.live_off = np.empty(n_r * n_blk + 1, dtype=np.int64)
        self.live = np.empty(n_r * n_blk * n_obj, dtype=np.int64)
        self.bound = np.empty(2 * n_r, dtype=np.int64)
        _radar_prune(box, q_max, _BLOCK, look_off, i0, mult, *(consts[key] for key in _PRUNE_KEYS), self.k_blk,
                     self.live_off, self.live, self.bound)
        self.n_rows = int(self.bound[n_r:].sum())

    def rows_into(self, consts, r, rcs, out: _Candidates):
        """Radar by radar: the candidates, then the exact rules on them, the kept rows appended
        to `out`. The exact rules: numpy for einsum, arcsin, arctan2, power and cos (their
        results depend on numpy's own kernels; element-wise, so taking the candidates in
        chunks changes nothing), numba for the rest (IEEE-exact)."""
        if self.looks is None:
            return
        look_off, t_look, mult, i0, i1, w = self.looks
        n_r = len(consts["radars"])
        cap = int(self.bound[:n_r].max())
        kk, obj, d, q_rel = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty((cap, 3)), np.empty(cap)
        scan_args = tuple(consts[key] for key in _SCAN_KEYS)
        keep_args = tuple(consts[key] for key in _KEEP_KEYS)
        for s, si in enumerate(consts["radars"]):
            if self.bound[s] == 0:
                continue
            m = _radar_scan(s, r, rcs, look_off, i0, i1, w, self.k_blk, self.live_off, self.live, *scan_args,
                            kk, obj, d, q_rel)
            n0 = out.n
            basis = consts["basis"][s]
            for a in range(0, m, _CHUNK):
                b = min(a + _CHUNK, m)
                enu = np.einsum("...ij,...j->...i", basis, d[a:b])    # geometry.site_enu
                rho, x = np.empty(b - a), np.empty(b - a)
                _range_and_sine(enu, rho, x)
                el = np.arcsin(x)
                az = np.arctan2(enu[..., 0], enu[..., 1])
                with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                    p_rel = q_rel[a:b] ** 0.25     # RadarSpec.max_range_m = r_ref * this
                c = out.n
                out.n += _radar_keep(s, rho, el, az, p_rel, kk[a:b], obj[a:b], *keep_args, look_off, t_look, mult,
                                     consts["src_radar"], out.t[c:], out.target[c:], out.z[c:], out.src[c:])
                cos_el = np.cos(out.z[c:out.n, 2])
                _az_sigma(cos_el, out.src[c:out.n], consts["src_sigma_az"], out.sig_v[c:out.n])
            if out.n > n0:
                out.parts.append((n0, out.n, si))


def _infrared_candidates(spec: InfraredSpec, sats, sats_scaled, t_s, r, rcs, burning, t_first):
    """An infrared sensor's reports (sats: its satellites' ECEF positions, and scaled to the
    unit-sphere Earth; t_first: each object's first burning time, inf if none)."""
    looks = _looks(t_s, spec)
    if looks is None:
        return None
    t_look, mult, i0, i1, w = looks
    mask, m = _infrared_scan(
        r, burning, i0, i1, w, t_look, t_first + spec.detection_delay_s, sats_scaled,
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


@njit(cache=True)
def _merge_order(part_start, part_end, part_sensor, t_c, order):
    """The rows of the parts in (time, sensor, target, platform) order, into `order`.

    Each part (one sensor) is already sorted by (look, target, platform), its looks at distinct
    times; its runs of one time are taken in (time, sensor) order: a merge of the parts."""
    pos = part_start.copy()
    j = 0
    while True:
        best, bt, bs = -1, 0.0, 0
        for q in range(pos.size):
            if pos[q] < part_end[q]:
                tq = t_c[pos[q]]
                if best < 0 or tq < bt or (tq == bt and part_sensor[q] < bs):
                    best, bt, bs = q, tq, part_sensor[q]
        if best < 0:
            return j
        i = pos[best]
        while i < part_end[best] and t_c[i] == bt:
            order[j] = i
            j += 1
            i += 1
        pos[best] = i


# ---------------------------------------------------------------- draws
#
# The generators are drawn from in numba, through their bit generators' C interface (the
# ``bitgen_t`` of numpy/random/bitgen.h that ``BitGenerator.capsule`` points to: the state and
# its next_* functions), by numpy's own algorithms as numba's Generator support has them
# (``Generator.random``: one next_double per value; ``Generator.standard_normal``: numpy's
# ziggurat, random_standard_normal of numpy/random/src/distributions). The values and the states
# left are numpy's, bitwise (tests/sensors/test_observe_reference.py checks it), at a third of
# numpy's cost and with one call for all generators. Where numba's internals this needs are
# missing, the draws fall back to the Generators' own methods (the same values, slower).

_BITGEN_CAPSULE = ctypes.pythonapi.PyCapsule_GetPointer
_BITGEN_CAPSULE.restype = ctypes.c_void_p
_BITGEN_CAPSULE.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _bitgens(rngs) -> np.ndarray:
    """The bitgen_t addresses of Generators (valid while they live)."""
    return np.array([_BITGEN_CAPSULE(g.bit_generator.capsule, b"BitGenerator") for g in rngs], dtype=np.uintp)


try:
    from numba.core import cgutils
    from numba.np.random.distributions import random_standard_normal as _standard_normal
    from numba.np.random.generator_core import next_double as _next_double

    _BITGEN_TYPE = types.NumPyRandomBitGeneratorType("bit_generator")

    @intrinsic
    def _as_bitgen(typingctx, addr):
        """numba's bit-generator struct (what it unboxes a BitGenerator to) for the address of
        a bitgen_t {state, next_uint64, next_uint32, next_double, next_raw}."""
        def codegen(context, builder, signature, args):
            base = builder.inttoptr(args[0], context.get_value_type(types.uintp).as_pointer())
            field = lambda k: builder.load(builder.gep(base, [ir.Constant(ir.IntType(32), k)]))  # noqa: E731
            bg = cgutils.create_struct_proxy(_BITGEN_TYPE)(context, builder)
            bg.parent = cgutils.get_null_value(bg.parent.type)
            bg.state_address = bg.state = field(0)
            bg.fnptr_next_uint64 = field(1)
            bg.fnptr_next_uint32 = field(2)
            bg.fnptr_next_double = field(3)
            bg.bit_generator = args[0]
            return bg._getvalue()
        return _BITGEN_TYPE(types.uintp), codegen

    _FAST_DRAWS = True
except (ImportError, AttributeError):  # pragma: no cover - numba without these internals
    _FAST_DRAWS = False


if _FAST_DRAWS:
    @njit(cache=True)
    def _draw_blocks(bitgens, start, rows, identity, check, order, src_c, src_p, keep, noise):
        """`_draw` in numba; bitgens[k]: the bitgen_t address of block k's generator."""
        for k in range(start.size - 1):
            bg = _as_bitgen(bitgens[k])
            if check[k]:
                for j in range(start[k], start[k + 1]):
                    i = j if identity else rows[j]
                    keep[i] = _next_double(bg) < src_p[src_c[order[i]]]
            for j in range(start[k], start[k + 1]):
                i = j if identity else rows[j]
                if keep[i]:
                    for c in range(3):
                        noise[i, c] = _standard_normal(bg)


def _draw(rngs, start, rows, identity, check, order, src_c, src_p, keep, noise):
    """Keep draws and noise, block by block: block k is the merged rows rows[start[k]:start[k + 1]]
    (rows[j] = j when `identity`) of Generator rngs[k], taken in that order. When check[k], one
    uniform per row first (``Generator.random``), the row kept (keep: True on entry) where it is
    below the p_detect of its source (src_p[src_c[order[i]]]); then a standard-normal triple per
    row kept into noise[i] (``Generator.standard_normal``). The bit generators' locks are held
    meanwhile, as the Generators' methods hold them."""
    global _FAST_DRAWS
    if _FAST_DRAWS:
        with ExitStack() as held:
            for bit_generator in {id(g.bit_generator): g.bit_generator for g in rngs}.values():
                held.enter_context(bit_generator.lock)
            try:
                _draw_blocks(_bitgens(rngs), start, rows, identity, check, order, src_c, src_p, keep, noise)
                return
            except numba_errors.NumbaError:  # pragma: no cover - numba's internals changed: no compiling
                _FAST_DRAWS = False
    for k, g in enumerate(rngs):   # the same draws by numpy
        sub = np.arange(start[k], start[k + 1]) if identity else rows[start[k]:start[k + 1]]
        if check[k]:
            keep[sub] = g.random(sub.size) < src_p[src_c[order[sub]]]
        kept = sub[keep[sub]]
        noise[kept] = g.standard_normal((kept.size, 3))


@njit(cache=True)
def _group_by_target(order, target_c, src_c, src_p, n_obj, start, rows, check):
    """Merged rows grouped by target, stably: object t's are rows[start[t]:start[t + 1]], in
    merged order; check[t]: whether one of them has p_detect (src_p of its source) below 1."""
    start[:] = 0
    for i in range(order.size):
        start[target_c[order[i]] + 1] += 1
    for t in range(n_obj):
        start[t + 1] += start[t]
    fill = start[:n_obj].copy()
    for i in range(order.size):
        j = order[i]
        t = target_c[j]
        rows[fill[t]] = i
        fill[t] += 1
        if src_p[src_c[j]] < 1.0:
            check[t] = True


@njit(cache=True)
def _assemble(rows, noise_row, direct, t_c, target_c, z_c, sig_v, src_c, src_sensor, src_platform, src_kind, src_site,
              src_lat, src_lon, src_sig, src_var, noise, scale, scaled, t_d, sensor, target, kind, platform, z, R, site,
              lat, lon):
    """Fill the detections (t_d ... lon) from candidate rows `rows` (sorted, thinned).

    The noise of detection i is row noise_row[i] of `noise` (row i when `direct`), times
    scale[target, sensor] when `scaled`; `noise` may be `site`, which is filled last. z = z +
    sig noise, then the azimuth (radar column 1, infrared column 0) wrapped to [0, 2 pi), the
    infrared column 2 NaN; R diagonal sig^2 (zero elsewhere); sig is the source's src_sig but
    column src_var, the row's sig_v; the rest from the row's source. Then `site` from the
    sources."""
    for i in range(rows.size):
        j = rows[i]
        q = i if direct else noise_row[i]
        s = src_c[j]
        tg = target_c[j]
        t_d[i] = t_c[j]
        target[i] = tg
        sensor[i] = src_sensor[s]
        kind[i] = src_kind[s]
        platform[i] = src_platform[s]
        f = scale[tg, src_sensor[s]] if scaled else 1.0
        v = src_var[s]
        for c in range(3):
            sg = sig_v[j] if c == v else src_sig[s, c]
            nz = noise[q, c] * f if scaled else noise[q, c]
            z[i, c] = z_c[j, c] + sg * nz
            for c2 in range(3):
                R[i, c, c2] = sg * sg if c2 == c else 0.0
        if src_kind[s] == KIND_INFRARED:
            z[i, 0] = _wrap_2pi(z[i, 0])
            z[i, 2] = np.nan
        else:
            z[i, 1] = _wrap_2pi(z[i, 1])
        lat[i] = src_lat[s]
        lon[i] = src_lon[s]
    for i in range(rows.size):
        s = src_c[rows[i]]
        for c in range(3):
            site[i, c] = src_site[s, c]


# ---------------------------------------------------------------- the verb

def _draw_groups(rng, order, cand, src_p, sensors):
    """Which generator draws for which merged candidate rows (`order`), as the arguments of
    `_draw` up to `check`: one Generator draws for all rows (keep draws only when a sensor that
    has rows has p_detect < 1), or one per object draws for that object's rows in merged order,
    object by object (keep draws only when one of its own rows has p_detect < 1; a generator
    that serves several objects draws for them in turn)."""
    m = order.size
    if isinstance(rng, np.random.Generator):
        check = np.array([any(sensors[si].p_detect < 1.0 for _, _, si in cand.parts)])
        return [rng], np.array([0, m], dtype=np.int64), np.empty(0, dtype=np.int64), True, check
    n_obj = len(rng)
    start, rows, check = np.empty(n_obj + 1, dtype=np.int64), np.empty(m, dtype=np.int64), np.zeros(n_obj, bool)
    _group_by_target(order, cand.target, cand.src, src_p, n_obj, start, rows, check)
    return list(rng), start, rows, False, check


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
    consts = _cached(sensors, lambda: _setup(sensors))

    infrared = []
    if consts["infrared"]:
        b = np.ascontiguousarray(b)
        t_first = np.where(b.any(axis=1), t[np.argmax(b, axis=1)], np.inf)    # (N,)
        for si, sats, sats_scaled in consts["infrared"]:
            c = _infrared_candidates(sensors[si], sats, sats_scaled, t, r, rcs, b, t_first)
            if c is not None and c["target"].size:
                infrared.append((si, c))
    scan = _RadarScan(sensors, consts, t, r, rcs) if consts["radars"] else None
    cand = _Candidates((scan.n_rows if scan is not None else 0) + sum(c["target"].size for _, c in infrared))
    if scan is not None:
        scan.rows_into(consts, r, rcs, cand)
    del scan
    for si, c in infrared:
        cand.append(si, consts["src0"][si], c)
    del infrared
    if not cand.parts:
        return Detections.empty()

    parts = np.array(cand.parts, dtype=np.int64).T.copy()
    order = np.empty(cand.n, dtype=np.int64)
    _merge_order(parts[0], parts[1], parts[2], cand.t, order)
    src_p = consts["src_p"]
    groups = _draw_groups(rng, order, cand, src_p, sensors)
    thin = bool(groups[-1].any())
    keep = np.ones(order.size, dtype=bool)
    rows, noise_row, noise = order, order, None
    if thin:   # the keep draws decide how many detections there are: noise first, rows kept
        noise = np.empty((order.size, 3))
        _draw(*groups, order, cand.src, src_p, keep, noise)
        noise_row = np.flatnonzero(keep)
        rows = order[noise_row]
    m = rows.size
    # outputs allocated by numpy (which asks for huge pages: far fewer page faults than numba's
    # allocator); the noise, unless drawn already, goes into `site`, which _assemble reads
    # before it fills it
    t_d, lat, lon = np.empty(m), np.empty(m), np.empty(m)
    sensor, target, kind, platform = (np.empty(m, dtype=np.int64) for _ in range(4))
    z, site, R = np.empty((m, 3)), np.empty((m, 3)), np.empty((m, 3, 3))
    if not thin:
        noise = site
        _draw(*groups, order, cand.src, src_p, keep, noise)
    scaled = noise_scale is not None
    _assemble(
        rows, noise_row, not thin, cand.t, cand.target, cand.z, cand.sig_v, cand.src, consts["src_sensor"],
        consts["src_platform"], consts["src_kind"], consts["src_site"], consts["src_lat"], consts["src_lon"],
        consts["src_sig"], consts["src_var"], noise, noise_scale if scaled else np.ones((1, 1)), scaled,
        t_d, sensor, target, kind, platform, z, R, site, lat, lon,
    )
    return Detections(
        t_s=t_d, sensor=sensor, target=target, kind=kind, platform=platform, z=z, R=R,
        site_ecef_m=site, site_lat_deg=lat, site_lon_deg=lon,
    )
