"""Fly batches of missiles: the array API over ``flight.kernel``.

``fly`` takes arrays over N trajectories (launch points, stage stacks, payloads, guidance) and
returns a ``FlightBatch`` of arrays. A single trajectory is a batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numba
import numpy as np

from bmdsim.constants import OMEGA_EARTH_RAD_S
from bmdsim.earth import frames, geodesy
from bmdsim.flight import kernel as K
from bmdsim.threats.spec import Missile


@dataclass(frozen=True)
class EarthModel:
    """Which parts of the Earth the flight sees.

    The default is the full model: rotating WGS-84 Earth, J2, US Standard Atmosphere 1976.
    ``sphere_radius_m > 0`` replaces the ellipsoid by a sphere (heights, launch point, impact).
    """

    rotating: bool = True
    j2: bool = True
    drag: bool = True
    sphere_radius_m: float = 0.0

    @property
    def omega_rad_s(self) -> float:
        return OMEGA_EARTH_RAD_S if self.rotating else 0.0


# prange hands out trajectories in small chunks: their costs differ (a lofted shot flies twice
# as long), and equal halves would leave one core idle at the end
_CHUNK = 128

FULL_EARTH = EarthModel()
NON_ROTATING = EarthModel(rotating=False)


@dataclass(frozen=True)
class Tolerances:
    """Integrator tolerances: relative, and absolute on position (velocity: atol_m / 100 s).

    The boost has its own, tighter pair: a velocity error at burnout grows for the whole free
    flight (1 mm/s becomes metres at impact), while an error made during reentry does not.
    Almost all of the burnout error is made in the air (tabulated drag and atmosphere with
    corners, where the step's error estimate is optimistic): a powered step that starts above
    ``boost_vacuum_h_m`` runs at the boost tolerances times ``boost_vacuum_factor`` (1 keeps
    them), which leaves the burnout velocity error unchanged (median 0.14 mm/s either way).
    Free flight alone (from an exact burnout) lands within 2 m of the converged impact at the
    defaults (0.23 m median); its steps stay within 120 s (30 s when recording) whatever the
    tolerance. All together the defaults put impacts within a few metres of a converged
    solution (``benchmarks/trajectories.py``).
    """

    rtol: float = 1e-8
    atol_m: float = 1.0
    atol_mps: float | None = None  # default: atol_m / 100 s
    rtol_boost: float = 1e-11
    atol_boost_m: float = 1e-4
    atol_boost_mps: float | None = None  # default: atol_boost_m / 100 s
    boost_vacuum_h_m: float = 100e3
    boost_vacuum_factor: float = 100.0
    t_max_s: float = 3.0 * 3600.0
    orbit_perigee_m: float = 150e3


@dataclass
class FlightBatch:
    """Results of N trajectories, arrays over the first axis."""

    earth: EarthModel
    launch_lat_deg: np.ndarray
    launch_lon_deg: np.ndarray
    status: np.ndarray  # kernel.STATUS_*
    t_burnout_s: np.ndarray
    t_impact_s: np.ndarray
    apogee_h_m: np.ndarray
    t_apogee_s: np.ndarray
    n_steps: np.ndarray  # accepted integration steps
    n_rejected: np.ndarray  # rejected (retried) steps
    burnout_r_eci_m: np.ndarray
    burnout_v_eci_mps: np.ndarray
    impact_r_eci_m: np.ndarray
    impact_v_eci_mps: np.ndarray
    separation: np.ndarray  # (N, MAX_STAGES, 7): t, r_eci, v_eci at each staging (NaN: none)
    t_record_s: np.ndarray | None = None
    record_eci: np.ndarray | None = None  # (N, T, 6) r, v in ECI on t_record_s; NaN after impact
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.status.shape[0]

    def take(self, idx) -> FlightBatch:
        """The bodies idx (an index array; repeats allowed) as a new batch."""
        idx = np.asarray(idx, np.intp)
        per_body = {
            f: getattr(self, f)[idx]
            for f in ("launch_lat_deg", "launch_lon_deg", "status", "t_burnout_s", "t_impact_s", "apogee_h_m",
                      "t_apogee_s", "n_steps", "n_rejected", "burnout_r_eci_m", "burnout_v_eci_mps",
                      "impact_r_eci_m", "impact_v_eci_mps", "separation")
        }
        rec = None if self.record_eci is None else self.record_eci[idx]
        return FlightBatch(earth=self.earth, **per_body, t_record_s=self.t_record_s, record_eci=rec)

    @property
    def impacted(self) -> np.ndarray:
        return self.status == K.STATUS_IMPACT

    @property
    def orbital(self) -> np.ndarray:
        return self.status == K.STATUS_ORBITAL

    def _rot(self, t_s):
        return frames.rotation_eci_to_ecef(np.asarray(t_s) * (1.0 if self.earth.rotating else 0.0))

    @property
    def impact_r_ecef_m(self) -> np.ndarray:
        rot = self._rot(np.nan_to_num(self.t_impact_s))
        return np.einsum("nij,nj->ni", rot, self.impact_r_eci_m)

    @property
    def impact_lat_lon_deg(self) -> tuple[np.ndarray, np.ndarray]:
        if "impact_ll" not in self._cache:
            r = self.impact_r_ecef_m
            if self.earth.sphere_radius_m > 0:
                lat = np.degrees(np.arcsin(r[:, 2] / np.linalg.norm(r, axis=1)))
                lon = np.degrees(np.arctan2(r[:, 1], r[:, 0]))
            else:
                lat, lon, _ = frames.ecef_to_geodetic(r)
            self._cache["impact_ll"] = (lat, lon)
        return self._cache["impact_ll"]

    @property
    def ground_range_m(self) -> np.ndarray:
        """Launch point to impact point along the surface (geodesic; great circle on a sphere)."""
        lat, lon = self.impact_lat_lon_deg
        if self.earth.sphere_radius_m > 0:
            return geodesy.great_circle_distance_m(
                self.launch_lat_deg, self.launch_lon_deg, lat, lon, radius_m=self.earth.sphere_radius_m
            )
        d, _, _ = geodesy.inverse(self.launch_lat_deg, self.launch_lon_deg, lat, lon)
        return np.asarray(d)

    @property
    def flight_time_s(self) -> np.ndarray:
        return self.t_impact_s

    @property
    def burnout_speed_mps(self) -> np.ndarray:
        """Inertial speed at burnout (equal to the ground-relative speed on a non-rotating Earth)."""
        return np.linalg.norm(self.burnout_v_eci_mps, axis=1)

    @property
    def burnout_h_m(self) -> np.ndarray:
        r = self.burnout_r_eci_m
        if self.earth.sphere_radius_m > 0:
            return np.linalg.norm(r, axis=1) - self.earth.sphere_radius_m
        return frames.ecef_to_geodetic(r)[2]

    @property
    def burnout_flight_path_angle_deg(self) -> np.ndarray:
        """Angle of the inertial velocity above the local horizontal (geocentric) at burnout."""
        r, v = self.burnout_r_eci_m, self.burnout_v_eci_mps
        s = np.einsum("ni,ni->n", r, v) / (np.linalg.norm(r, axis=1) * np.linalg.norm(v, axis=1))
        return np.degrees(np.arcsin(np.clip(s, -1, 1)))

    def record_ecef(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded positions and velocities in ECEF, (N, T, 3) each."""
        if self.record_eci is None:
            raise ValueError("this batch was flown without record_dt_s")
        r, v = self.record_eci[..., :3], self.record_eci[..., 3:]
        if not self.earth.rotating:
            return r, v
        return frames.eci_to_ecef(r, v, np.broadcast_to(self.t_record_s, r.shape[:-1]))

    def record_geodetic(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Recorded (lat_deg, lon_deg, h_m), (N, T) each."""
        r, _ = self.record_ecef()
        if self.earth.sphere_radius_m > 0:
            rn = np.linalg.norm(r, axis=-1)
            return (
                np.degrees(np.arcsin(r[..., 2] / rn)),
                np.degrees(np.arctan2(r[..., 1], r[..., 0])),
                rn - self.earth.sphere_radius_m,
            )
        return frames.ecef_to_geodetic(r)


def stack_missiles(missiles: Sequence[Missile]) -> tuple[np.ndarray, np.ndarray]:
    """Stage and payload arrays for the kernel, one row per missile."""
    stages = np.stack([m.stage_array() for m in missiles])
    payload = np.stack([m.payload_array() for m in missiles])
    return stages, payload


def guidance_array(
    missiles: Sequence[Missile],
    azimuth_deg,
    theta_deg,
    t_cutoff_s=np.inf,
    theta_end_deg=None,
) -> np.ndarray:
    """Guidance rows: launch azimuth, pitch program (the missile's defaults), final pitch, cutoff.

    theta_end_deg: the pitch reached at the end of the last burn (default: hold theta).
    """
    n = len(missiles)
    g = np.zeros((n, K.N_GUIDANCE_FIELDS))
    g[:, K.G_AZ] = np.radians(np.broadcast_to(azimuth_deg, n))
    g[:, K.G_TVERT] = [m.guidance.vertical_rise_s for m in missiles]
    g[:, K.G_TPITCH] = [m.pitch_over_s for m in missiles]
    g[:, K.G_THETA] = np.radians(np.broadcast_to(theta_deg, n))
    g[:, K.G_TCUT] = np.broadcast_to(t_cutoff_s, n)
    g[:, K.G_THETA_END] = g[:, K.G_THETA] if theta_end_deg is None else np.radians(np.broadcast_to(theta_end_deg, n))
    g[:, K.G_TBURN] = [m.burn_time_s for m in missiles]
    g[:, K.G_COS_THETA] = np.cos(g[:, K.G_THETA])
    g[:, K.G_SIN_THETA] = np.sin(g[:, K.G_THETA])
    return g


def fly(
    launch_lat_deg,
    launch_lon_deg,
    stages: np.ndarray,
    payload: np.ndarray,
    guidance: np.ndarray,
    *,
    earth: EarthModel = FULL_EARTH,
    launch_h_m=0.0,
    record_dt_s: float | None = None,
    tolerances: Tolerances = Tolerances(),
) -> FlightBatch:
    """Fly N missiles from launch to impact (or orbit) in one call.

    Arrays: launch_* (N,), stages (N, MAX_STAGES, 6) from ``stack_missiles``, payload (N, 2),
    guidance (N, 5) from ``guidance_array``. With record_dt_s, the state is sampled every
    record_dt_s seconds from launch to the last impact.
    """
    lat = np.broadcast_to(np.asarray(launch_lat_deg, dtype=float), (guidance.shape[0],))
    lon = np.broadcast_to(np.asarray(launch_lon_deg, dtype=float), lat.shape)
    n = lat.shape[0]
    launch = np.empty((n, 3))
    launch[:, 0] = np.radians(lat)
    launch[:, 1] = np.radians(lon)
    launch[:, 2] = np.broadcast_to(launch_h_m, n)
    cfg = _cfg(earth, tolerances)
    summary = np.full((n, K.N_SUMMARY), np.nan)
    burnout = np.full((n, 8), np.nan)
    impact = np.full((n, 6), np.nan)
    separation = np.full((n, K.MAX_STAGES, 7), np.nan)
    rec, dt = _record_buffer(n, record_dt_s, tolerances)
    with numba.parallel_chunksize(_CHUNK):
        K.fly_kernel(
            cfg, launch, np.ascontiguousarray(stages, dtype=float), np.ascontiguousarray(payload, dtype=float),
            np.ascontiguousarray(guidance, dtype=float), summary, burnout, impact, separation, rec, 0.0, dt,
        )
    t_rec, rec = _trim_record(rec, summary, dt, tolerances)
    return FlightBatch(
        earth=earth,
        launch_lat_deg=np.array(lat),
        launch_lon_deg=np.array(lon),
        status=summary[:, K.O_STATUS].astype(int),
        t_burnout_s=summary[:, K.O_T_BURNOUT],
        t_impact_s=summary[:, K.O_T_IMPACT],
        apogee_h_m=summary[:, K.O_APOGEE_H],
        t_apogee_s=summary[:, K.O_T_APOGEE],
        n_steps=summary[:, K.O_NSTEPS].astype(int),
        n_rejected=summary[:, K.O_NREJECT].astype(int),
        burnout_r_eci_m=burnout[:, 1:4],
        burnout_v_eci_mps=burnout[:, 4:7],
        impact_r_eci_m=impact[:, :3],
        impact_v_eci_mps=impact[:, 3:],
        separation=separation,
        t_record_s=t_rec,
        record_eci=rec,
    )


def _cfg(earth: EarthModel, tolerances: Tolerances) -> np.ndarray:
    cfg = np.zeros(K.N_CFG)
    cfg[K.C_OMEGA] = earth.omega_rad_s
    cfg[K.C_J2] = 1.0 if earth.j2 else 0.0
    cfg[K.C_DRAG] = 1.0 if earth.drag else 0.0
    cfg[K.C_SPHERE_R] = earth.sphere_radius_m
    cfg[K.C_RTOL] = tolerances.rtol
    cfg[K.C_ATOL] = tolerances.atol_m
    cfg[K.C_TMAX] = tolerances.t_max_s
    cfg[K.C_ORBIT_H] = tolerances.orbit_perigee_m
    cfg[K.C_RTOL_BOOST] = tolerances.rtol_boost
    cfg[K.C_ATOL_BOOST] = tolerances.atol_boost_m
    t_ = tolerances
    cfg[K.C_ATOL_V] = t_.atol_m * 0.01 if t_.atol_mps is None else t_.atol_mps
    cfg[K.C_ATOL_V_BOOST] = t_.atol_boost_m * 0.01 if t_.atol_boost_mps is None else t_.atol_boost_mps
    cfg[K.C_VACUUM_H] = t_.boost_vacuum_h_m
    cfg[K.C_VACUUM_FACTOR] = t_.boost_vacuum_factor
    return cfg


def _record_buffer(n: int, record_dt_s: float | None, tolerances: Tolerances) -> tuple[np.ndarray, float]:
    """The record buffer, uninitialised: the kernel notes the rows it writes (``O_REC_FIRST``,
    ``O_REC_LAST``) and `_trim_record` sets the others to NaN within what is kept, so the pages
    past the last impact are never touched."""
    if not record_dt_s:
        return np.zeros((n, 0, 6)), 0.0
    n_rec = int(np.ceil(tolerances.t_max_s / record_dt_s)) + 1
    return np.empty((n, n_rec, 6)), float(record_dt_s)


def _trim_record(rec, summary, dt, tolerances):
    """Cut the record buffer after the last impact, NaN where a body has no record (before its
    start, after its impact); (None, None) when nothing was recorded."""
    if dt <= 0.0:
        return None, None
    t_imp = summary[:, K.O_T_IMPACT]
    t_last = np.nanmax(np.where(np.isnan(t_imp), tolerances.t_max_s, t_imp))
    keep = min(rec.shape[1], int(np.floor(t_last / dt)) + 2)
    rec = rec[:, :keep]
    rows = np.arange(keep)
    first = np.nan_to_num(summary[:, K.O_REC_FIRST], nan=keep)
    last = np.nan_to_num(summary[:, K.O_REC_LAST], nan=-1)
    rec[(rows[None, :] < first[:, None]) | (rows[None, :] > last[:, None])] = np.nan
    return rows * dt, rec


def coast(
    t0_s,
    r_eci_m,
    v_eci_mps,
    beta_kg_m2,
    *,
    earth: EarthModel = FULL_EARTH,
    record_dt_s: float | None = None,
    tolerances: Tolerances = Tolerances(),
) -> FlightBatch:
    """Unpowered flight of N bodies from ECI states at times t0_s to impact (or t_max_s).

    The body is a reentry vehicle (or spent stage) with ballistic coefficient beta; records start
    at t = 0 (NaN before t0).
    """
    r = np.atleast_2d(np.asarray(r_eci_m, dtype=float))
    v = np.atleast_2d(np.asarray(v_eci_mps, dtype=float))
    n = r.shape[0]
    t0 = np.broadcast_to(np.asarray(t0_s, dtype=float), (n,)).copy()
    beta = np.broadcast_to(np.asarray(beta_kg_m2, dtype=float), (n,)).copy()
    cfg = _cfg(earth, tolerances)
    summary = np.full((n, K.N_SUMMARY), np.nan)
    impact = np.full((n, 6), np.nan)
    rec, dt = _record_buffer(n, record_dt_s, tolerances)
    with numba.parallel_chunksize(_CHUNK):
        K.coast_kernel(cfg, t0, np.ascontiguousarray(np.hstack([r, v])), beta, summary, impact, rec, 0.0, dt)
    t_rec, rec = _trim_record(rec, summary, dt, tolerances)
    apo = summary[:, K.O_APOGEE_H]
    rot = frames.rotation_eci_to_ecef(t0 * (1.0 if earth.rotating else 0.0))
    r0_ecef = np.einsum("nij,nj->ni", rot, r)
    if earth.sphere_radius_m > 0:
        lat0 = np.degrees(np.arcsin(r0_ecef[:, 2] / np.linalg.norm(r0_ecef, axis=1)))
        lon0 = np.degrees(np.arctan2(r0_ecef[:, 1], r0_ecef[:, 0]))
    else:
        lat0, lon0, _ = frames.ecef_to_geodetic(r0_ecef)
    return FlightBatch(
        earth=earth,
        launch_lat_deg=lat0,
        launch_lon_deg=lon0,
        status=summary[:, K.O_STATUS].astype(int),
        t_burnout_s=t0,
        t_impact_s=summary[:, K.O_T_IMPACT],
        apogee_h_m=np.where(apo < -1e29, np.nan, apo),
        t_apogee_s=summary[:, K.O_T_APOGEE],
        n_steps=summary[:, K.O_NSTEPS].astype(int),
        n_rejected=summary[:, K.O_NREJECT].astype(int),
        burnout_r_eci_m=r,
        burnout_v_eci_mps=v,
        impact_r_eci_m=impact[:, :3],
        impact_v_eci_mps=impact[:, 3:],
        separation=np.full((n, K.MAX_STAGES, 7), np.nan),
        t_record_s=t_rec,
        record_eci=rec,
    )


