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

from dataclasses import dataclass

import numpy as np

from bmdsim.defense.flyout import ground_range_altitude, time_of_flight_s
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
    lat_deg: np.ndarray  # intercept points
    lon_deg: np.ndarray
    alt_m: np.ndarray
    reason: str  # why it is empty, or "" when it is not

    @property
    def empty(self) -> bool:
        return self.t_intercept_s.size == 0

    @property
    def earliest_s(self) -> float:
        return float(self.t_intercept_s[0]) if not self.empty else float("nan")

    @property
    def latest_s(self) -> float:
        return float(self.t_intercept_s[-1]) if not self.empty else float("nan")

    def flyout_at(self, t_intercept_s: float) -> float:
        """Flyout time to the intercept point at a time within the window."""
        return float(np.interp(t_intercept_s, self.t_intercept_s, self.flyout_s))

    def point_at(self, t_intercept_s: float) -> tuple[float, float, float]:
        """Predicted intercept point (lat, lon, alt) at a time within the window."""
        i = int(np.clip(np.searchsorted(self.t_intercept_s, t_intercept_s), 0, self.t_intercept_s.size - 1))
        return float(self.lat_deg[i]), float(self.lon_deg[i]), float(self.alt_m[i])


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
    spec = battery.interceptor_spec()
    lat, lon, alt = path.geodetic()
    # the flyout model's own coordinates (sphere ground range and height), for its table
    rng_m, h_m = ground_range_altitude(battery.site_lat_deg, battery.site_lon_deg, path.r_ecef_m)
    rng_m = np.asarray(rng_m, float)
    tof, reach = time_of_flight_s(spec, rng_m, h_m)
    tof = np.asarray(tof, float)
    reach = np.asarray(reach, bool) & (path.t_s < path.t_impact_s)
    t_launch = path.t_s - tof
    timely = reach & (t_launch >= commit_s + spec.launch_delay_s)
    ok = timely.copy()
    if track_sigma_m is not None and ok.any():
        sig = np.asarray(track_sigma_m(np.where(ok, t_launch, commit_s)), float)
        ok &= sig <= fc_sigma_m
    reason = ""
    if not ok.any():
        in_band = (h_m >= spec.min_intercept_alt_m) & (h_m <= spec.max_intercept_alt_m)
        if not in_band.any():
            reason = "the threat never passes through the interceptor's altitude band"
        elif not (in_band & (rng_m <= spec.max_range_m)).any():
            reason = f"the threat passes no closer than {np.min(rng_m[in_band]) / 1e3:,.0f} km in the altitude band (reach {spec.max_range_m / 1e3:,.0f} km)"
        elif not reach.any():
            reason = "the flyout cannot reach any point of the path in the envelope"
        elif not timely.any():
            reason = "too late: every reachable intercept needs a launch before the decision"
        else:
            reason = "no fire-control quality track at the launch times"
    return EngagementWindow(
        battery=battery,
        interceptor=spec,
        t_intercept_s=path.t_s[ok],
        t_launch_s=t_launch[ok],
        flyout_s=tof[ok],
        lat_deg=lat[ok],
        lon_deg=lon[ok],
        alt_m=alt[ok],
        reason=reason,
    )
