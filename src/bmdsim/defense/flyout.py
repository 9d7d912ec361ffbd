"""Interceptor flyout: the least time from launch to a point, tabulated once per interceptor.

The model (one interceptor, `bmdsim.defense.interceptors.InterceptorSpec`):

- Earth: a sphere of radius R = 6,371.0088 km (IUGG mean radius, `constants.R_MEAN_M`),
  non-rotating, point-mass gravity mu / r^2. The flight stays in the vertical plane through the
  site and the aim point, so it is integrated in two dimensions.
- Boost: a straight path from the site at elevation angle gamma above the local horizontal,
  steered toward the aim point's azimuth; the speed grows at the constant rate v_b / t_b to the
  burnout speed v_b at the burn time t_b. The guidance holds the path straight and the thrust
  pays for gravity (and drag): the published burnout speed is the speed reached, whatever the
  angle. Path length at burnout d_b = v_b t_b / 2.
- Coast: ballistic from the burnout state, gravity on (RK4, fixed step). Drag only for
  interceptors with ``coast_ballistic_coefficient_kg_m2`` (THAAD, PAC-3 MSE): a = -rho |v| v /
  (2 beta), rho from the US Standard Atmosphere 1976 (`earth.atmosphere`), still air (the
  non-rotating Earth has a non-rotating atmosphere). For exo-atmospheric kill vehicles (GBI,
  NGI, SM-3) drag is ignored: their intercepts lie above their 70-100 km floors, and the
  low-angle shots whose coast dips into the air serve points below the floor.
- Coordinates of a point: ground range = R times the angle at the Earth's centre between the
  site and the point; altitude = height above the sphere, which the caller may take as the
  height above the WGS-84 ellipsoid (`ground_range_altitude` does so). The site sits on the
  sphere: launch-site heights (< 1 km) are ignored.

Why non-rotating: a flyout lasts seconds to ~20 minutes. In inertial space the site moves up
to ~465 cos(lat) m/s x t (about 200 km in 1,000 s at Fort Greely), but the interceptor inherits
that velocity at launch, so in Earth-fixed terms only the fictitious forces are left out:
the centrifugal acceleration (omega^2 r <= 0.034 m/s^2, <= 17 km of displacement over 1,000 s,
a speed change of ~5 m/s through its potential) and the Coriolis acceleration (2 omega v ~
0.9 m/s^2 at 6 km/s), which does no work and only bends the path, a bend the guidance takes out
by aiming. The omission changes flyout times by under 1 %: flying the same boost and coast in
inertial space from a rotating Fort Greely onto an aim point that turns with the Earth gave
+3.4 s of 828 s (+0.4 %) to 4,000 km west at 500 km altitude and -0.8 s of 623 s (-0.1 %) to
3,000 km east-northeast at 400 km (tests/defense/test_flyout.py).

The table (`FlyoutTable.build(spec)`): a fan of trajectories over elevation angles 0.5-90 deg
(0.25 deg apart), sampled at a fixed time step, is cut into triangles in the (ground range,
altitude, time) space; each triangle is rasterised onto a regular grid over [0, max_range_m] x
[0, max_intercept_alt_m], keeping at every node the least time of any triangle that covers it
(the fan folds over itself where a point is reached twice: the least time is the first
arrival). Time is linear inside each triangle. Queries interpolate bilinearly; a query whose
grid cell has a corner outside the fan is declared out of reach, so the envelope is resolved to
one grid cell (max_range_m / 400 by max_intercept_alt_m / 300). Tables are cached per
flyout-relevant spec fields.

`fly_direct` integrates the same model for one aim point, shooting on the elevation angle
(scan in 0.5 deg steps, then bisection), the check on the table.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from bmdsim.constants import MU_EARTH_M3_S2, R_MEAN_M, WGS84_A_M, WGS84_B_M
from bmdsim.defense.interceptors import InterceptorSpec
from bmdsim.earth.atmosphere import density_kg_m3

R_FLYOUT_M = R_MEAN_M
"""Radius of the flyout model's spherical Earth (IUGG mean radius)."""

ELEVATION_MIN_DEG = 0.5
ELEVATION_MAX_DEG = 90.0
ELEVATION_STEP_DEG = 0.25
N_RANGE = 401
N_ALTITUDE = 301


# ---------------------------------------------------------------------------------------------
# kernels (plane of flight: x along the ground track, y up through the site; Earth centre at 0)
# ---------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _accel(x, y, vx, vy, mu, inv_2beta, radius):
    r2 = x * x + y * y
    r = math.sqrt(r2)
    ax = 0.0
    ay = 0.0
    if mu > 0.0:
        k = -mu / (r2 * r)
        ax = k * x
        ay = k * y
    if inv_2beta > 0.0 and r > radius:  # no drag below the ground (where the fan runs on, see _fan)
        c = -density_kg_m3(r - radius) * math.sqrt(vx * vx + vy * vy) * inv_2beta
        ax += c * vx
        ay += c * vy
    return ax, ay


@njit(cache=True)
def _rk4(x, y, vx, vy, h, mu, inv_2beta, radius):
    """One classical Runge-Kutta step of the coast (gravity and optional drag)."""
    a1x, a1y = _accel(x, y, vx, vy, mu, inv_2beta, radius)
    x2, y2 = x + 0.5 * h * vx, y + 0.5 * h * vy
    v2x, v2y = vx + 0.5 * h * a1x, vy + 0.5 * h * a1y
    a2x, a2y = _accel(x2, y2, v2x, v2y, mu, inv_2beta, radius)
    x3, y3 = x + 0.5 * h * v2x, y + 0.5 * h * v2y
    v3x, v3y = vx + 0.5 * h * a2x, vy + 0.5 * h * a2y
    a3x, a3y = _accel(x3, y3, v3x, v3y, mu, inv_2beta, radius)
    x4, y4 = x + h * v3x, y + h * v3y
    v4x, v4y = vx + h * a3x, vy + h * a3y
    a4x, a4y = _accel(x4, y4, v4x, v4y, mu, inv_2beta, radius)
    return (
        x + h / 6.0 * (vx + 2.0 * v2x + 2.0 * v3x + v4x),
        y + h / 6.0 * (vy + 2.0 * v2y + 2.0 * v3y + v4y),
        vx + h / 6.0 * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + h / 6.0 * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
    )


@njit(cache=True, inline="always")
def _boost(t, cg, sg, acc, radius):
    """State on the straight boost path at time t <= t_b (speed acc * t)."""
    s = 0.5 * acc * t * t
    v = acc * t
    return s * cg, radius + s * sg, v * cg, v * sg


@njit(cache=True)
def _fan(gammas, v_b, t_b, dt, n_t, mu, inv_2beta, radius, r_stop, out_rng, out_alt, out_impact):
    """Sample each trajectory of the fan at t = n dt (t_b is a sample): ground range and altitude.

    out_impact gets the ground range where a trajectory comes back to altitude 0 (linear between
    samples). The trajectory then runs on below the ground (gravity only) until 0.1 R deep, so
    that the strip between two neighbours that land a little apart still covers the ground-level
    grid nodes between their landing points. It ends (NaN after) beyond ground range r_stop,
    which the caller sets 10 % past the grid: neighbours reach the grid's edge at different
    times, and the strip between them needs both until both are past it.
    """
    acc = v_b / t_b
    m_b = int(round(t_b / dt))
    for k in range(gammas.shape[0]):
        cg = math.cos(gammas[k])
        sg = math.sin(gammas[k])
        out_impact[k] = np.nan
        x, y, vx, vy = 0.0, radius, 0.0, 0.0
        done = False
        for n in range(n_t):
            if done:
                out_rng[k, n] = np.nan
                out_alt[k, n] = np.nan
                continue
            if n <= m_b:
                x, y, vx, vy = _boost(n * dt, cg, sg, acc, radius)
            else:
                x, y, vx, vy = _rk4(x, y, vx, vy, dt, mu, inv_2beta, radius)
            rng = radius * math.atan2(x, y)
            alt = math.sqrt(x * x + y * y) - radius
            out_rng[k, n] = rng
            out_alt[k, n] = alt
            if n > m_b and alt < 0.0 and out_alt[k, n - 1] >= 0.0 and x * vx + y * vy < 0.0:
                a0 = out_alt[k, n - 1]
                r0 = out_rng[k, n - 1]
                out_impact[k] = r0 + (rng - r0) * a0 / (a0 - alt)
            if rng > r_stop or alt < -0.1 * radius:
                done = True


@njit(cache=True, inline="always")
def _triangle(ax, ay, at, bx, by, bt, cx, cy, ct, dr, dh, table):
    """Rasterise one triangle of (range, altitude, time): least time at the grid nodes it covers."""
    if ax != ax or bx != bx or cx != cx or ay != ay or by != by or cy != cy:
        return
    det = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
    scale = (abs(bx - ax) + abs(cx - ax)) * (abs(by - ay) + abs(cy - ay))
    if scale == 0.0 or abs(det) <= 1e-12 * scale:
        return
    nr, nh = table.shape
    # bounding box in grid indices, widened by a hair: a node on an edge (the vertical shot's
    # range is cos(pi/2) R ~ 1e-10 m, not 0) must not fall out by rounding
    i0 = max(0, int(math.ceil(min(ax, bx, cx) / dr - 1e-9)))
    i1 = min(nr - 1, int(math.floor(max(ax, bx, cx) / dr + 1e-9)))
    j0 = max(0, int(math.ceil(min(ay, by, cy) / dh - 1e-9)))
    j1 = min(nh - 1, int(math.floor(max(ay, by, cy) / dh + 1e-9)))
    eps = -1e-9
    for i in range(i0, i1 + 1):
        px = i * dr
        for j in range(j0, j1 + 1):
            py = j * dh
            l1 = ((px - ax) * (cy - ay) - (cx - ax) * (py - ay)) / det
            l2 = ((bx - ax) * (py - ay) - (px - ax) * (by - ay)) / det
            l0 = 1.0 - l1 - l2
            if l0 >= eps and l1 >= eps and l2 >= eps:
                t = l0 * at + l1 * bt + l2 * ct
                if t < table[i, j]:
                    table[i, j] = t


@njit(cache=True)
def _rasterise(rng, alt, dt, dr, dh, table):
    n_ang, n_t = rng.shape
    for k in range(n_ang - 1):
        for n in range(n_t - 1):
            if rng[k, n + 1] != rng[k, n + 1] and rng[k + 1, n + 1] != rng[k + 1, n + 1]:
                if rng[k, n] != rng[k, n] and rng[k + 1, n] != rng[k + 1, n]:
                    break
            t0 = n * dt
            t1 = t0 + dt
            _triangle(rng[k, n], alt[k, n], t0, rng[k + 1, n], alt[k + 1, n], t0,
                      rng[k, n + 1], alt[k, n + 1], t1, dr, dh, table)
            _triangle(rng[k + 1, n], alt[k + 1, n], t0, rng[k + 1, n + 1], alt[k + 1, n + 1], t1,
                      rng[k, n + 1], alt[k, n + 1], t1, dr, dh, table)


@njit(cache=True)
def _coast_to(x, y, vx, vy, t, t_end, dt, mu, inv_2beta, radius):
    """Coast from time t to t_end in steps of at most dt."""
    while t < t_end:
        h = min(dt, t_end - t)
        x, y, vx, vy = _rk4(x, y, vx, vy, h, mu, inv_2beta, radius)
        t += h
    return x, y, vx, vy


@njit(cache=True)
def _cross(gamma, theta_star, v_b, t_b, dt, t_max, mu, inv_2beta, radius):
    """Time and altitude at which one trajectory first reaches the range angle theta_star.

    (nan, nan) when it lands or runs out of time first. The boost is solved in closed form; in
    the coast the crossing step is cut by bisection on RK4 sub-steps from the step's start.
    """
    cg = math.cos(gamma)
    sg = math.sin(gamma)
    acc = v_b / t_b
    tan_t = math.tan(theta_star)
    den = cg - tan_t * sg
    if den > 0.0:
        s = radius * tan_t / den
        if s <= 0.5 * v_b * t_b:
            x = s * cg
            y = radius + s * sg
            return math.sqrt(2.0 * s / acc), math.sqrt(x * x + y * y) - radius
    x, y, vx, vy = _boost(t_b, cg, sg, acc, radius)
    t = t_b
    while t < t_max:
        nx, ny, nvx, nvy = _rk4(x, y, vx, vy, dt, mu, inv_2beta, radius)
        if math.atan2(nx, ny) >= theta_star:
            lo = 0.0
            hi = dt
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                mx, my, mvx, mvy = _rk4(x, y, vx, vy, mid, mu, inv_2beta, radius)
                if math.atan2(mx, my) >= theta_star:
                    hi = mid
                else:
                    lo = mid
                if hi - lo <= 1e-10 * (1.0 + t):
                    break
            px, py, pvx, pvy = _rk4(x, y, vx, vy, hi, mu, inv_2beta, radius)
            return t + hi, math.sqrt(px * px + py * py) - radius
        if math.sqrt(nx * nx + ny * ny) < radius and nx * nvx + ny * nvy < 0.0:
            return np.nan, np.nan
        x, y, vx, vy = nx, ny, nvx, nvy
        t += dt
    return np.nan, np.nan


@njit(cache=True)
def _path(gamma, times, v_b, t_b, dt, mu, inv_2beta, radius, out_x, out_y):
    """Positions (plane coordinates) of one trajectory at increasing times."""
    cg = math.cos(gamma)
    sg = math.sin(gamma)
    acc = v_b / t_b
    x, y, vx, vy = _boost(t_b, cg, sg, acc, radius)
    t = t_b
    for i in range(times.shape[0]):
        ti = times[i]
        if ti <= t_b:
            px, py, _, _ = _boost(ti, cg, sg, acc, radius)
        else:
            x, y, vx, vy = _coast_to(x, y, vx, vy, t, ti, dt, mu, inv_2beta, radius)
            t = ti
            px, py = x, y
        out_x[i] = px
        out_y[i] = py


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------

def _physics(spec: InterceptorSpec, gravity: bool, drag: bool) -> tuple[float, float]:
    mu = MU_EARTH_M3_S2 if gravity else 0.0
    beta = spec.coast_ballistic_coefficient_kg_m2
    inv_2beta = 0.5 / beta if (drag and beta is not None) else 0.0
    return mu, inv_2beta


def _time_step_s(spec: InterceptorSpec, dr: float, dh: float) -> float:
    """Fan sampling step: about one grid cell of travel at burnout speed; t_b a whole number of steps."""
    dt0 = min(max(min(dr, dh) / spec.burnout_speed_mps, 0.01), 2.0)
    return spec.burn_time_s / math.ceil(spec.burn_time_s / dt0 - 1e-9)


@dataclass(frozen=True, eq=False)
class FlyoutTable:
    """Least flyout time from launch over a (ground range, altitude) grid, for one interceptor.

    ``t_s[i, j]`` is the least time (s, from lift-off; launch delay not included) to reach
    ground range ``i * range_step_m`` and altitude ``j * altitude_step_m``; +inf where the fan
    does not reach. ``impact_range_m[k]`` is where the trajectory at ``elevation_deg[k]`` comes
    back to the ground (NaN if it leaves the grid first). Arrays are read-only: tables are
    cached and shared.
    """

    spec_key: tuple
    min_intercept_alt_m: float
    max_intercept_alt_m: float
    max_range_m: float
    gravity: bool
    drag: bool
    range_step_m: float
    altitude_step_m: float
    time_step_s: float
    t_s: np.ndarray
    elevation_deg: np.ndarray
    impact_range_m: np.ndarray
    build_s: float

    @classmethod
    def build(cls, spec: InterceptorSpec, *, gravity: bool = True, drag: bool = True) -> FlyoutTable:
        """The table of an interceptor, built once per flyout-relevant fields (then cached).

        gravity=False, drag=False give the straight-line model (the analytic oracle of the tests).
        """
        return _build_cached(spec.flyout_key, bool(gravity), bool(drag))

    @property
    def max_fan_ground_range_m(self) -> float:
        """Greatest ground range at which a trajectory of the fan lands (NaN if none lands in the grid)."""
        r = self.impact_range_m[np.isfinite(self.impact_range_m)]
        return float(r.max()) if r.size else math.nan

    def time_of_flight_s(self, ground_range_m, altitude_m) -> tuple[np.ndarray, np.ndarray]:
        """Least flyout time (s) to points, and whether each is in reach; arrays of any shape.

        t_s is +inf where the fan does not reach (or outside the grid); reachable also needs the
        altitude within [min_intercept_alt_m, max_intercept_alt_m] and ground range <= max_range_m.
        """
        r = np.asarray(ground_range_m, dtype=float)
        h = np.asarray(altitude_m, dtype=float)
        r, h = np.broadcast_arrays(r, h)
        t = np.empty(r.shape)
        reachable = np.empty(r.shape, bool)
        _lookup(
            np.ascontiguousarray(r).reshape(-1), np.ascontiguousarray(h).reshape(-1), self.t_s, self.range_step_m,
            self.altitude_step_m, self.min_intercept_alt_m, self.max_intercept_alt_m, self.max_range_m,
            t.reshape(-1), reachable.reshape(-1),
        )
        if t.ndim == 0:
            return t[()], reachable[()]
        return t, reachable


@njit(cache=True)
def _lookup(r, h, table, dr, dh, h_min, h_max, r_max, t, reachable):
    """`FlyoutTable.time_of_flight_s` point by point: the table's bilinear interpolation at
    (r / dr, h / dh), +inf unless the point is inside the grid with all four corners finite."""
    nr, nh = table.shape
    for k in range(r.size):
        fi = r[k] / dr
        fj = h[k] / dh
        if not (fi >= 0.0 and fi <= nr - 1 and fj >= 0.0 and fj <= nh - 1):
            t[k] = np.inf
            reachable[k] = False
            continue
        i = min(int(fi), nr - 2)
        j = min(int(fj), nh - 2)
        wi = fi - i
        wj = fj - j
        c00 = table[i, j]
        c10 = table[i + 1, j]
        c01 = table[i, j + 1]
        c11 = table[i + 1, j + 1]
        if not (math.isfinite(c00) and math.isfinite(c10) and math.isfinite(c01) and math.isfinite(c11)):
            t[k] = np.inf
            reachable[k] = False
            continue
        t[k] = (1 - wi) * (1 - wj) * c00 + wi * (1 - wj) * c10 + (1 - wi) * wj * c01 + wi * wj * c11
        reachable[k] = h[k] >= h_min and h[k] <= h_max and r[k] >= 0.0 and r[k] <= r_max


def _spec_from_key(key: tuple) -> InterceptorSpec:
    v_b, t_b, h_min, h_max, r_max, beta = key
    return InterceptorSpec(
        id="flyout-key", name="flyout key", system="-", layer="midcourse", burnout_speed_mps=v_b, burn_time_s=t_b,
        min_intercept_alt_m=h_min, max_intercept_alt_m=h_max, max_range_m=r_max, divert_mps=0.0,
        coast_ballistic_coefficient_kg_m2=beta, launch_delay_s=0.0, kill_assessment_s=0.0, test_successes=0,
        test_trials=0,
    )


@functools.cache
def _build_cached(key: tuple, gravity: bool, drag: bool) -> FlyoutTable:
    t0 = time.perf_counter()
    spec = _spec_from_key(key)
    mu, inv_2beta = _physics(spec, gravity, drag)
    dr = spec.max_range_m / (N_RANGE - 1)
    dh = spec.max_intercept_alt_m / (N_ALTITUDE - 1)
    dt = _time_step_s(spec, dr, dh)
    t_cap = spec.burn_time_s + 4.0 * math.hypot(spec.max_range_m, spec.max_intercept_alt_m) / spec.burnout_speed_mps
    n_t = int(math.ceil(t_cap / dt)) + 1
    n_ang = int(round((ELEVATION_MAX_DEG - ELEVATION_MIN_DEG) / ELEVATION_STEP_DEG)) + 1
    elev = np.linspace(ELEVATION_MIN_DEG, ELEVATION_MAX_DEG, n_ang)
    rng = np.empty((n_ang, n_t))
    alt = np.empty((n_ang, n_t))
    impact = np.empty(n_ang)
    _fan(np.radians(elev), spec.burnout_speed_mps, spec.burn_time_s, dt, n_t, mu, inv_2beta, R_FLYOUT_M,
         1.1 * spec.max_range_m + 2.0 * dr, rng, alt, impact)  # run on past the grid: see the docstring
    table = np.full((N_RANGE, N_ALTITUDE), np.inf)
    _rasterise(rng, alt, dt, dr, dh, table)
    for a in (table, elev, impact):
        a.setflags(write=False)
    return FlyoutTable(
        spec_key=key, min_intercept_alt_m=spec.min_intercept_alt_m, max_intercept_alt_m=spec.max_intercept_alt_m,
        max_range_m=spec.max_range_m, gravity=gravity, drag=drag, range_step_m=dr, altitude_step_m=dh,
        time_step_s=dt, t_s=table, elevation_deg=elev, impact_range_m=impact, build_s=time.perf_counter() - t0,
    )


def time_of_flight_s(spec: InterceptorSpec, ground_range_m, altitude_m) -> tuple[np.ndarray, np.ndarray]:
    """Least flyout time (s, from lift-off) to points, and whether each is in reach.

    ground_range_m, altitude_m: arrays of any (broadcast) shape, in the model's coordinates
    (`ground_range_altitude`). Uses the cached `FlyoutTable` of the spec.
    """
    return FlyoutTable.build(spec).time_of_flight_s(ground_range_m, altitude_m)


# ---------------------------------------------------------------------------------------------
# geometry at the edges, and the direct integration
# ---------------------------------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@functools.lru_cache(maxsize=256)
def _site_up_cached(site_lat_deg: float, site_lon_deg: float) -> np.ndarray:
    from bmdsim.earth.frames import geodetic_to_ecef

    up = _unit(geodetic_to_ecef(site_lat_deg, site_lon_deg, 0.0))
    up.setflags(write=False)
    return up


def _site_up(site_lat_deg, site_lon_deg) -> np.ndarray:
    """Unit vector of the site's geocentric direction (ECEF)."""
    if np.ndim(site_lat_deg) == 0 and np.ndim(site_lon_deg) == 0:
        return _site_up_cached(float(site_lat_deg), float(site_lon_deg))
    from bmdsim.earth.frames import geodetic_to_ecef

    return _unit(geodetic_to_ecef(site_lat_deg, site_lon_deg, 0.0))


def ground_range_altitude(site_lat_deg, site_lon_deg, r_ecef_m) -> tuple[np.ndarray, np.ndarray]:
    """A point's ground range from a site and its altitude, as the flyout model measures them.

    Ground range: R_FLYOUT_M times the angle at the Earth's centre between the site (its
    geocentric direction) and the point; within 0.5 % of the WGS-84 geodesic distance.
    Altitude: the point's height above the WGS-84 ellipsoid. r_ecef_m: (..., 3).
    """
    from bmdsim.earth.frames import ecef_to_geodetic

    r = np.asarray(r_ecef_m, dtype=float)
    _, _, h = ecef_to_geodetic(r)
    return ground_range_m(site_lat_deg, site_lon_deg, _unit(r)), h


def ground_range_m(site_lat_deg, site_lon_deg, u: np.ndarray) -> np.ndarray:
    """`ground_range_altitude`'s ground range of points given by their unit vectors u (..., 3)."""
    up = _site_up(site_lat_deg, site_lon_deg)
    cosang = np.clip(u @ up, -1.0, 1.0)
    # |up x u|, written out: np.cross costs more than the arithmetic on short arrays
    cx = up[1] * u[..., 2] - up[2] * u[..., 1]
    cy = up[2] * u[..., 0] - up[0] * u[..., 2]
    cz = up[0] * u[..., 1] - up[1] * u[..., 0]
    sinang = np.sqrt(cx * cx + cy * cy + cz * cz)
    return R_FLYOUT_M * np.arctan2(sinang, cosang)


def _ellipsoid_radius_m(u: np.ndarray) -> np.ndarray:
    """Geocentric radius of the WGS-84 ellipsoid along unit directions u (..., 3)."""
    a, b = WGS84_A_M, WGS84_B_M
    return a * b / np.sqrt(b * b * (u[..., 0] ** 2 + u[..., 1] ** 2) + a * a * u[..., 2] ** 2)


@dataclass(frozen=True)
class FlyoutPath:
    """One direct flyout to an aim point.

    t_s (n,): times from lift-off; r_ecef_m (n, 3): positions, drawn over the WGS-84 ellipsoid
    (each point radially at its model altitude above it, so the path ends at the aim point to
    within metres); elevation_deg: the launch elevation found (NaN if none reaches the point);
    ground_range_m, altitude_m: the aim point in model coordinates; reachable: the fan reaches it
    and it lies within the interceptor's altitude band and maximum range.
    """

    t_s: np.ndarray
    r_ecef_m: np.ndarray
    elevation_deg: float
    ground_range_m: float
    altitude_m: float
    reachable: bool


def _solve_elevation(spec, theta_star, h_star, dt, t_max, mu, inv_2beta) -> tuple[float, float]:
    """(least time, elevation rad) of the fan trajectories through (theta_star, h_star), or (inf, nan)."""
    args = (spec.burnout_speed_mps, spec.burn_time_s, dt, t_max, mu, inv_2beta, R_FLYOUT_M)

    def f(g):
        t, h = _cross(g, theta_star, *args)
        return t, h

    g_lo, g_hi = math.radians(ELEVATION_MIN_DEG), math.radians(ELEVATION_MAX_DEG)
    gs = np.linspace(g_lo, g_hi, int(round((ELEVATION_MAX_DEG - ELEVATION_MIN_DEG) / 0.5)) + 1)
    hs = np.array([f(g)[1] for g in gs])

    def edge(g_in, g_out):
        """Last elevation still reaching theta_star between a reaching and a non-reaching one."""
        for _ in range(60):
            mid = 0.5 * (g_in + g_out)
            if np.isfinite(f(mid)[1]):
                g_in = mid
            else:
                g_out = mid
        return g_in

    def peak(a, b):
        """Elevation of the highest crossing between a and b (golden section: h rises, then falls)."""
        ratio = (math.sqrt(5.0) - 1.0) / 2.0
        for _ in range(60):
            c, d = b - ratio * (b - a), a + ratio * (b - a)
            hc, hd = f(c)[1], f(d)[1]
            if np.isfinite(hc) and (not np.isfinite(hd) or hc > hd):
                b = d
            else:
                a = c
        return 0.5 * (a + b)

    # points where h(gamma) - h_star may change sign: the samples, the fan's edges (where a
    # trajectory just lands at the aim point's range: h -> 0) and the peaks of h(gamma) between
    # samples (a local maximum of the samples, or next to an edge, where h rises then falls)
    knots: list[tuple[float, float]] = []
    for i in range(gs.size):
        if np.isfinite(hs[i]):
            knots.append((gs[i], hs[i]))
        if i + 1 < gs.size and np.isfinite(hs[i]) != np.isfinite(hs[i + 1]):
            g_in, g_out = (gs[i], gs[i + 1]) if np.isfinite(hs[i]) else (gs[i + 1], gs[i])
            g_e = edge(g_in, g_out)
            knots.append((g_e, f(g_e)[1]))
            g_p = peak(min(g_in, g_e), max(g_in, g_e))
            knots.append((g_p, f(g_p)[1]))
        if 0 < i < gs.size - 1 and np.all(np.isfinite(hs[i - 1:i + 2])) and hs[i] >= hs[i - 1] and hs[i] >= hs[i + 1]:
            g_p = peak(gs[i - 1], gs[i + 1])
            knots.append((g_p, f(g_p)[1]))
    knots.sort()
    best_t, best_g = math.inf, math.nan
    for (ga, ha), (gb, hb) in zip(knots[:-1], knots[1:]):
        if not (np.isfinite(ha) and np.isfinite(hb)) or (ha - h_star) * (hb - h_star) > 0.0:
            continue
        for _ in range(80):
            mid = 0.5 * (ga + gb)
            hm = f(mid)[1]
            if not np.isfinite(hm):
                break
            if (ha - h_star) * (hm - h_star) <= 0.0:
                gb, hb = mid, hm
            else:
                ga, ha = mid, hm
        g = ga if abs(ha - h_star) <= abs(hb - h_star) else gb
        t, h = f(g)
        if np.isfinite(t) and abs(h - h_star) <= 1.0 + 1e-6 * abs(h_star) and t < best_t:  # a true crossing
            best_t, best_g = t, g
    return best_t, best_g


def fly_direct(
    spec: InterceptorSpec,
    site_lat_deg: float,
    site_lon_deg: float,
    target_ecef_m,
    *,
    gravity: bool = True,
    drag: bool = True,
    dt_s: float | None = None,
    n_path: int = 200,
) -> tuple[float, FlyoutPath]:
    """Fly the flyout model straight onto one aim point: (least time from lift-off, path).

    Shoots on the launch elevation (0.5-90 deg): for each elevation the trajectory's altitude
    where it reaches the aim point's ground range; brackets of that altitude around the aim
    point's are cut by bisection, and the earliest arrival wins. The time is +inf (and the path
    empty) where no elevation reaches the point. dt_s: the coast's RK4 step (default: a quarter
    of the table's sampling step).
    """
    target = np.asarray(target_ecef_m, dtype=float)
    if target.shape != (3,):
        raise ValueError(f"target_ecef_m must be one ECEF position (3,), got shape {target.shape}")
    ground_range, altitude = ground_range_altitude(site_lat_deg, site_lon_deg, target)
    ground_range, altitude = float(ground_range), float(altitude)
    mu, inv_2beta = _physics(spec, gravity, drag)
    table_dt = _time_step_s(spec, spec.max_range_m / (N_RANGE - 1), spec.max_intercept_alt_m / (N_ALTITUDE - 1))
    dt = table_dt / 4.0 if dt_s is None else float(dt_s)
    t_max = spec.burn_time_s + 8.0 * math.hypot(max(ground_range, spec.max_range_m),
                                                max(altitude, spec.max_intercept_alt_m)) / spec.burnout_speed_mps
    theta_star = max(ground_range, 1e-3) / R_FLYOUT_M
    t_star, g_star = _solve_elevation(spec, theta_star, altitude, dt, t_max, mu, inv_2beta)
    in_band = (spec.min_intercept_alt_m <= altitude <= spec.max_intercept_alt_m) and ground_range <= spec.max_range_m
    if not np.isfinite(t_star):
        empty = FlyoutPath(np.empty(0), np.empty((0, 3)), math.nan, ground_range, altitude, False)
        return math.inf, empty
    times = np.linspace(0.0, t_star, max(int(n_path), 2))
    px = np.empty_like(times)
    py = np.empty_like(times)
    _path(g_star, times, spec.burnout_speed_mps, spec.burn_time_s, dt, mu, inv_2beta, R_FLYOUT_M, px, py)
    up = _site_up(site_lat_deg, site_lon_deg)
    toward = _unit(target) - np.dot(_unit(target), up) * up
    if np.linalg.norm(toward) < 1e-12:  # overhead: any horizontal direction (east)
        toward = np.cross(np.array([0.0, 0.0, 1.0]), up)
        if np.linalg.norm(toward) < 1e-12:
            toward = np.array([1.0, 0.0, 0.0])
    east = _unit(toward)
    theta = np.arctan2(px, py)
    h = np.hypot(px, py) - R_FLYOUT_M
    u = np.cos(theta)[:, None] * up + np.sin(theta)[:, None] * east
    r = u * (_ellipsoid_radius_m(u) + h)[:, None]
    path = FlyoutPath(times, r, math.degrees(g_star), ground_range, altitude, bool(in_band))
    return float(t_star), path


__all__ = [
    "ELEVATION_MAX_DEG",
    "ELEVATION_MIN_DEG",
    "R_FLYOUT_M",
    "FlyoutPath",
    "FlyoutTable",
    "fly_direct",
    "ground_range_altitude",
    "ground_range_m",
    "time_of_flight_s",
]
