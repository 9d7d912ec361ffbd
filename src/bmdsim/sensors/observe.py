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
from dataclasses import dataclass

import numpy as np

from bmdsim.errors import BmdsimInputError
from bmdsim.sensors.geometry import clears_earth, in_azimuth_sector, measure, site_enu, wrap_2pi
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

def _check_inputs(sensors, t_s, r_ecef_m, burning, rcs_m2, rng):
    if not isinstance(rng, np.random.Generator):
        raise BmdsimInputError("rng", type(rng).__name__, "pass a numpy.random.Generator (np.random.default_rng(seed))")
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


def _interp(a: np.ndarray, i0, i1, w) -> np.ndarray:
    """Linear interpolation along axis 1 of a (N, T, ...); a look on a sample takes the sample."""
    a0 = a[:, i0]
    a1 = a[:, i1]
    ww = w.reshape((1, -1) + (1,) * (a.ndim - 2))
    # on a sample (w == 0) the right neighbour is not used, so a NaN there does not spread
    return np.where(ww == 0.0, a0, a0 + ww * (a1 - a0))


# ---------------------------------------------------------------- per-sensor candidates

def _radar_candidates(spec: RadarSpec, t_s, r, rcs):
    t_look = look_times(t_s, spec.revisit_s, spec.revisit_phase_s)
    if t_look.size == 0:
        return None
    i0, i1, w = _interp_index(t_s, t_look)
    r_k = _interp(r, i0, i1, w)                                  # (N, K, 3)
    rcs_k = _interp(rcs, i0, i1, w)                              # (N, K)
    site = spec.site_ecef_m
    enu = site_enu(r_k, site, spec.site_lat_deg, spec.site_lon_deg)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rho = np.sqrt(e * e + n * n + u * u)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.arcsin(np.clip(u / rho, -1.0, 1.0))
        az = wrap_2pi(np.arctan2(e, n))
        ok = (
            np.isfinite(rho)
            & (rho > 0)
            & (el >= np.radians(spec.min_elevation_deg))
            & (el <= np.radians(spec.max_elevation_deg))
            & in_azimuth_sector(az, np.radians(spec.boresight_az_deg), np.radians(spec.half_width_az_deg))
            & (rho <= spec.max_range_m(rcs_k))
        )
    obj, k = np.nonzero(ok)
    z = np.stack([rho[obj, k], az[obj, k], el[obj, k]], -1)
    m = obj.size
    sig = np.empty((m, 3))
    sig[:, 0] = spec.sigma_range_m
    sig[:, 1] = spec.sigma_az_rad / np.maximum(np.cos(z[:, 2]), _MIN_COS_EL)
    sig[:, 2] = spec.sigma_el_rad
    return dict(
        t_s=t_look[k], target=obj, platform=np.zeros(m, dtype=np.int64), z=z, sig=sig,
        site_ecef_m=np.broadcast_to(site, (m, 3)),
        site_lat_deg=np.full(m, float(spec.site_lat_deg)), site_lon_deg=np.full(m, float(spec.site_lon_deg)),
        kind=KIND_RADAR, p_detect=spec.p_detect,
    )


def _infrared_candidates(spec: InfraredSpec, t_s, r, burning):
    t_look = look_times(t_s, spec.revisit_s, spec.revisit_phase_s)
    if t_look.size == 0:
        return None
    any_burn = burning.any(axis=1)
    t_first = np.where(any_burn, t_s[np.argmax(burning, axis=1)], np.inf)    # (N,)
    i0, i1, w = _interp_index(t_s, t_look)
    r_k = _interp(r, i0, i1, w)                                              # (N, K, 3)
    # burning at a look: burning at the sample before it and, between samples, the one after
    burn_k = burning[:, i0] & (burning[:, i1] | (w == 0.0)[None, :])
    eligible = burn_k & (t_look[None, :] >= t_first[:, None] + spec.detection_delay_s)
    eligible &= np.all(np.isfinite(r_k), axis=-1)
    sats = spec.satellite_ecef_m
    out = []
    for p, (sat, lon) in enumerate(zip(sats, spec.satellite_lon_deg)):
        ok = eligible & clears_earth(np.broadcast_to(sat, r_k.shape), np.where(np.isfinite(r_k), r_k, 0.0))
        obj, k = np.nonzero(ok)
        zz = measure(KIND_INFRARED, sat, 0.0, lon, r_k[obj, k])
        out.append((p, obj, k, zz, sat, lon))
    obj = np.concatenate([o[1] for o in out])
    k = np.concatenate([o[2] for o in out])
    z = np.concatenate([o[3] for o in out]) if obj.size else np.empty((0, 3))
    platform = np.concatenate([np.full(o[1].size, o[0], dtype=np.int64) for o in out])
    site = np.concatenate([np.broadcast_to(o[4], (o[1].size, 3)) for o in out])
    lon = np.concatenate([np.full(o[1].size, float(o[5])) for o in out])
    m = obj.size
    sig = np.zeros((m, 3))
    sig[:, 0] = spec.sigma_los_rad / np.maximum(np.abs(np.cos(z[:, 1])), _MIN_COS_EL)
    sig[:, 1] = spec.sigma_los_rad
    return dict(
        t_s=t_look[k], target=obj, platform=platform, z=z, sig=sig, site_ecef_m=site,
        site_lat_deg=np.zeros(m), site_lon_deg=lon, kind=KIND_INFRARED, p_detect=spec.p_detect,
    )


# ---------------------------------------------------------------- the verb

def observe(
    sensors: Sequence[SensorSpec],
    t_s: np.ndarray,
    r_ecef_m: np.ndarray,
    burning: np.ndarray,
    rcs_m2: np.ndarray,
    rng: np.random.Generator,
) -> Detections:
    """Noisy detections of N truth objects by a list of sensors.

    sensors: RadarSpec / InfraredSpec (``bmdsim.sensors.get_sensor``). t_s (T,): strictly
    increasing times (s). r_ecef_m (N, T, 3): truth ECEF positions (m), NaN where the object is
    not flying. burning (N, T) bool: motor burning (infrared sensors see only these samples).
    rcs_m2 (N,) or (N, T): radar cross-section (m^2), interpolated like the positions.
    rng: the only source of randomness.

    Radars: a detection at each look where the object is in the field of regard and within
    R_max(rcs) (then with probability p_detect). Infrared: a report at each look while the
    object burns, from its first burning sample + detection_delay_s on, from every satellite
    whose line of sight to it clears the Earth. Noise is Gaussian, zero mean, with the
    covariance R reported per detection. Returns `Detections` sorted by (time, sensor, target,
    platform); empty arrays when nothing is seen.
    """
    sensors, t, r, b, rcs = _check_inputs(sensors, t_s, r_ecef_m, burning, rcs_m2, rng)
    parts = []
    for si, spec in enumerate(sensors):
        c = _radar_candidates(spec, t, r, rcs) if isinstance(spec, RadarSpec) else _infrared_candidates(spec, t, r, b)
        if c is None or c["target"].size == 0:
            continue
        m = c["target"].size
        c["sensor"] = np.full(m, si, dtype=np.int64)
        c["kind_arr"] = np.full(m, c["kind"], dtype=np.int64)
        c["p_arr"] = np.full(m, c["p_detect"])
        parts.append(c)
    if not parts:
        return Detections.empty()

    def cat(key):
        return np.concatenate([p[key] for p in parts])

    t_d, sensor, target, platform = cat("t_s"), cat("sensor"), cat("target").astype(np.int64), cat("platform")
    order = np.lexsort((platform, target, sensor, t_d))
    t_d, sensor, target, platform = t_d[order], sensor[order], target[order], platform[order]
    kind, z, sig, p = cat("kind_arr")[order], cat("z")[order], cat("sig")[order], cat("p_arr")[order]
    site, lat, lon = cat("site_ecef_m")[order], cat("site_lat_deg")[order], cat("site_lon_deg")[order]

    if np.any(p < 1.0):
        keep = rng.random(p.size) < p
        t_d, sensor, target, platform, kind = t_d[keep], sensor[keep], target[keep], platform[keep], kind[keep]
        z, sig, site, lat, lon = z[keep], sig[keep], site[keep], lat[keep], lon[keep]

    m = t_d.size
    z = z + sig * rng.standard_normal((m, 3))
    ir = kind == KIND_INFRARED
    z[:, 1] = np.where(ir, z[:, 1], wrap_2pi(z[:, 1]))   # radar azimuth
    z[:, 0] = np.where(ir, wrap_2pi(z[:, 0]), z[:, 0])   # infrared azimuth
    z[ir, 2] = np.nan
    R = np.zeros((m, 3, 3))
    idx = np.arange(3)
    R[:, idx, idx] = sig**2
    return Detections(
        t_s=t_d, sensor=sensor, target=target, kind=kind, platform=platform, z=z, R=R,
        site_ecef_m=np.ascontiguousarray(site), site_lat_deg=lat, site_lon_deg=lon,
    )
