"""Battlespace: when and where a fire unit can meet a threat.

For a threat's predicted path (positions on a time grid, from its track) and one fire unit, a
candidate intercept at time t on the path is feasible when

- the point lies in the interceptor's envelope: altitude within its band, ground range from
  the site within its reach, and inside its flyout fan (``defense.flyout``);
- the interceptor can get there in time: it must lift off at t - flyout(t), no earlier than the
  commit time (the decision plus the fire unit's launch delay);
- the track supports fire control at lift-off: its position uncertainty (RSS of the 1-sigma
  axes) within ``fc_sigma_m`` (the kill vehicle needs an in-flight target update it can use).

The engagement window is the span of feasible intercept times: the earliest and the latest
intercept, with the launch times and intercept points that go with them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from bmdsim.defense.flyout import ground_range_m, time_of_flight_s
from bmdsim.defense.interceptors import BatterySpec, InterceptorSpec
from bmdsim.earth import frames

# Fire-control track quality: 1-sigma position error (RSS of the axes) at lift-off. An order of
# magnitude inside the few-km field of view of a kill vehicle's seeker (assumed; no public figure).
FC_SIGMA_M = 1000.0


@dataclass
class ThreatPath:
    """A threat's predicted path: times and ECEF positions, until its predicted impact."""

    t_s: np.ndarray  # (T,)
    r_ecef_m: np.ndarray  # (T, 3)
    t_impact_s: float

    def geodetic(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return frames.ecef_to_geodetic(self.r_ecef_m)


@dataclass
class EngagementWindow:
    """Feasible intercepts of one threat by one fire unit (empty when none)."""

    battery: BatterySpec
    interceptor: InterceptorSpec
    t_intercept_s: np.ndarray  # feasible intercept times, increasing
    t_launch_s: np.ndarray  # lift-off for each
    flyout_s: np.ndarray
    r_ecef_m: np.ndarray  # (n, 3) intercept points
    alt_m: np.ndarray  # their heights above the ellipsoid
    reason: str  # why it is empty, or "" when it is not
    _lat_lon: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return self.t_intercept_s.size == 0

    @property
    def earliest_s(self) -> float:
        return float(self.t_intercept_s[0]) if not self.empty else float("nan")

    @property
    def latest_s(self) -> float:
        return float(self.t_intercept_s[-1]) if not self.empty else float("nan")

    @property
    def lat_deg(self) -> np.ndarray:
        """Geodetic latitudes of the intercept points (computed when first asked: a campaign
        needs them only where it fires)."""
        return self._geodetic()[0]

    @property
    def lon_deg(self) -> np.ndarray:
        return self._geodetic()[1]

    def _geodetic(self) -> tuple:
        if self._lat_lon is None:
            lat, lon = np.empty(self.t_intercept_s.size), np.empty(self.t_intercept_s.size)
            _lat_lon(np.ascontiguousarray(self.r_ecef_m, float), lat, lon)
            self._lat_lon = (lat, lon)
        return self._lat_lon

    def flyout_at(self, t_intercept_s: float) -> float:
        """Flyout time to the intercept point at a time within the window."""
        return float(np.interp(t_intercept_s, self.t_intercept_s, self.flyout_s))

    def point_at(self, t_intercept_s: float) -> tuple[float, float, float]:
        """Predicted intercept point (lat, lon, alt) at a time within the window."""
        i = int(np.clip(np.searchsorted(self.t_intercept_s, t_intercept_s), 0, self.t_intercept_s.size - 1))
        lat, lon, _ = frames.ecef_to_geodetic_1(self.r_ecef_m[i, 0], self.r_ecef_m[i, 1], self.r_ecef_m[i, 2])
        return math.degrees(lat), math.degrees(lon), float(self.alt_m[i])


@njit(cache=True)
def _lat_lon(r, lat_deg, lon_deg):
    """Geodetic latitude and longitude (deg) of ECEF points r (n, 3) (`frames.ecef_to_geodetic_1`)."""
    for i in range(r.shape[0]):
        lat, lon, _ = frames.ecef_to_geodetic_1(r[i, 0], r[i, 1], r[i, 2])
        lat_deg[i] = math.degrees(lat)
        lon_deg[i] = math.degrees(lon)


def engagement_window(
    battery: BatterySpec,
    path: ThreatPath,
    commit_s: float,
    track_sigma_m=None,
    fc_sigma_m: float = FC_SIGMA_M,
) -> EngagementWindow:
    """The engagement window of one fire unit against one predicted threat path.

    commit_s: the earliest time a fire order can be given (the engage decision).
    track_sigma_m: callable t_s -> 1-sigma position error (m) of the track (None: always good).
    """
    sigma = None if track_sigma_m is None else per_path_sigma([track_sigma_m])
    return PathSet([path]).windows(battery, [commit_s], sigma, fc_sigma_m)[0]


def per_path_sigma(sigmas):
    """A `PathSet.windows` sigma from one callable t_s -> sigma (m) per path (None: always good)."""

    def sigma(seg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        out = np.zeros(t_s.shape)
        for k in np.unique(seg):
            if sigmas[k] is not None:
                m = seg == k
                out[m] = np.asarray(sigmas[k](t_s[m]), float)
        return out

    return sigma


@njit(cache=True)
def _height_and_unit(r, alt_m, unit):
    """Height above the ellipsoid (m, `frames.height_m_1`: Vermeille 2002 without the latitude
    and longitude, whose two arctangents are most of its cost; a window takes them when they are
    asked for, `EngagementWindow.lat_deg`) and unit vector of ECEF points r (n, 3)."""
    for i in range(r.shape[0]):
        x, y, z = r[i, 0], r[i, 1], r[i, 2]
        alt_m[i] = frames.height_m_1(x, y, z)
        inv = 1.0 / math.sqrt(x * x + y * y + z * z)
        unit[i, 0] = x * inv
        unit[i, 1] = y * inv
        unit[i, 2] = z * inv


class PathSet:
    """Several threats' predicted paths end to end, for their engagement windows in one pass.

    The geometry every fire unit needs (heights, unit vectors) is computed once; each
    `windows` call then costs a few array operations over all the paths together.
    """

    def __init__(self, paths: Sequence[ThreatPath]):
        self.paths = list(paths)
        n = [p.t_s.shape[0] for p in self.paths]
        self.offsets = np.zeros(len(n) + 1, np.int64)
        np.cumsum(n, out=self.offsets[1:])
        self.seg = np.repeat(np.arange(len(n)), n)
        self.t_s = np.concatenate([p.t_s for p in self.paths]) if n else np.zeros(0)
        r = np.ascontiguousarray(np.concatenate([p.r_ecef_m for p in self.paths]) if n else np.zeros((0, 3)), float)
        self.r_ecef_m = r
        self.alt_m = np.empty(r.shape[0])
        self.unit = np.empty_like(r)
        _height_and_unit(r, self.alt_m, self.unit)
        self.t_impact_s = np.array([p.t_impact_s for p in self.paths], float)

    def windows(
        self,
        battery: BatterySpec,
        commit_s,
        track_sigma=None,
        fc_sigma_m: float = FC_SIGMA_M,
        spec: InterceptorSpec | None = None,
    ) -> list[EngagementWindow]:
        """The engagement window of one fire unit against each path (`engagement_window`).

        commit_s (n,): each threat's commit time. track_sigma: None (tracks always good) or a
        callable (path index (m,), t_s (m,)) -> 1-sigma RSS position error (m), e.g.
        `per_path_sigma`. spec: the fire unit's interceptor when the caller has it already.
        """
        spec = battery.interceptor_spec() if spec is None else spec
        seg, t = self.seg, self.t_s
        commit = np.asarray(commit_s, float).reshape(-1)[seg]
        # the flyout model's own coordinates (sphere ground range and height), for its table
        rng_m = ground_range_m(battery.site_lat_deg, battery.site_lon_deg, self.unit)
        h_m = self.alt_m
        tof, reach = time_of_flight_s(spec, rng_m, h_m)
        tof = np.asarray(tof, float)
        reach = np.asarray(reach, bool) & (t < self.t_impact_s[seg])
        t_launch = t - tof
        timely = reach & (t_launch >= commit + spec.launch_delay_s)
        ok = timely.copy()
        if track_sigma is not None and ok.any():
            # the track's quality at each feasible launch time (the others are out already)
            ok[ok] = np.asarray(track_sigma(seg[ok], t_launch[ok]), float) <= fc_sigma_m
        out = []
        for k in range(len(self.paths)):
            s = slice(self.offsets[k], self.offsets[k + 1])
            okk = ok[s]
            reason = "" if okk.any() else _why_empty(spec, rng_m[s], h_m[s], reach[s], timely[s])
            out.append(EngagementWindow(
                battery=battery, interceptor=spec, t_intercept_s=t[s][okk], t_launch_s=t_launch[s][okk],
                flyout_s=tof[s][okk], r_ecef_m=self.r_ecef_m[s][okk], alt_m=h_m[s][okk], reason=reason,
            ))
        return out


def _why_empty(spec: InterceptorSpec, rng_m, h_m, reach, timely) -> str:
    in_band = (h_m >= spec.min_intercept_alt_m) & (h_m <= spec.max_intercept_alt_m)
    if not in_band.any():
        return "the threat never passes through the interceptor's altitude band"
    if not (in_band & (rng_m <= spec.max_range_m)).any():
        return f"the threat passes no closer than {np.min(rng_m[in_band]) / 1e3:,.0f} km in the altitude band (reach {spec.max_range_m / 1e3:,.0f} km)"
    if not reach.any():
        return "the flyout cannot reach any point of the path in the envelope"
    if not timely.any():
        return "too late: every reachable intercept needs a launch before the decision"
    return "no fire-control quality track at the launch times"
