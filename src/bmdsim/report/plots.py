"""Pictures of an engagement, as PNG files, drawn from plain arrays and dicts.

Three pictures, each a function that writes one PNG and returns its path:

- `plot_map`: threat ground tracks, predicted impact ellipses, interceptor flyouts, intercepts
  and sites over the region, with the protected territories highlighted;
- `plot_altitude`: altitude against time after the first launch, with key events marked;
- `plot_timeline`: the engagement as a Gantt chart, one lane per threat (or fire unit).

The inputs are plain dicts of numbers and numpy arrays (degrees, metres, seconds), so the
pictures do not depend on the simulation's objects; the caller (the engine's report) flattens
its results into them. Matplotlib is imported inside the functions, with the Agg backend, so
``import bmdsim`` does not need it (DESIGN.md, habit 9).

The map
-------
Projection: azimuthal equidistant on WGS-84 (PROJ ``aeqd``) centred on the data [Snyder 1987,
p. 191]. Distances and azimuths from the centre are true, so a regional map from Korea to
Hawaii or Alaska is drawn without the stretching of a plate carree, and the Pacific stays whole.
The centre is the normalised mean of the data's unit vectors (so it does not care where the
longitude convention wraps), then moved once to the middle of the projected data's bounding box.

The seam: the projection cuts the world along the meridian opposite the centre, lon0 + 180.
Every longitude is carried into the continuous window [lon0 - 180, lon0 + 180) (`MapFrame.shift_lon`)
before it is projected. Polygons are clipped to the map's box in that window: the Natural Earth
land, stored in [-180, 180], is clipped three times, to the box shifted by -360, 0 and +360
degrees, and each piece carried back by the same shift, so a country cut at 180 degrees (Russia,
Fiji, the Aleutians) is put back together and no ring ever spans the seam (no streaks across the
map). Polylines are broken (NaN inserted) where consecutive shifted longitudes jump by more than
180 degrees, which happens only at the seam, far outside the map.

Speed: the world's land simplified to 0.02 degree (~2 km, a pixel at these scales) is built once
per process (`functools.cache`, ~0.6 s); each map then clips it to its box with shapely's
vectorised ``clip_by_rect`` and draws all of it as one compound path.

[Snyder 1987] J. P. Snyder, Map Projections - A Working Manual, USGS Professional Paper 1395,
              pp. 191-202 (azimuthal equidistant).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import shapely

from bmdsim.earth import geodesy
from bmdsim.earth.geography import all_territories, land_geometry, resolve_protected, territory_geometry
from bmdsim.errors import BmdsimInputError

# ---------------------------------------------------------------------------------------------
# Styles: one place, shared by the three pictures so a kind has one look everywhere.

OCEAN = "#eef3f7"
LAND = "#d9d9d9"
LAND_EDGE = "#b3b3b3"
PROTECTED_LAND = "#9cc3e6"      # friendly blue, the convention for own forces
PROTECTED_EDGE = "#3b6fa6"
GRATICULE = "#a7b3bf"

TRACK_STYLE = {
    "threat": dict(color="#d62728", lw=1.6, ls="-"),
    "leaker": dict(color="#8b0000", lw=2.4, ls="-"),
    "intercepted": dict(color="#ff7f0e", lw=1.6, ls="-"),
    "not engaged": dict(color="#7f7f7f", lw=1.4, ls="--"),
    "interceptor": dict(color="#1f4e9c", lw=1.3, ls="-"),
}
TRACK_KINDS = ("threat", "leaker", "intercepted", "not engaged")
SERIES_KINDS = TRACK_KINDS + ("interceptor",)
FLYOUT_STYLE = dict(color="#1f4e9c", lw=1.2, ls=(0, (4, 2)))
ELLIPSE_STYLE = dict(edgecolor="#7b2d8e", facecolor="#7b2d8e33", lw=1.3)
SITE_STYLE = {
    "sensor": dict(marker="^", color="#6a3d9a", ms=8),
    "battery": dict(marker="s", color="#1f4e9c", ms=7),
    "launch": dict(marker="D", color="#8b0000", ms=7),
}
HIT_STYLE = dict(marker="*", color="#ffd700", mec="#000000", ms=15, mew=0.8)
MISS_STYLE = dict(marker="X", color="#000000", mec="#ffffff", ms=10, mew=0.8)

PHASE_STYLE = {
    "boost": "#fdae6b",
    "midcourse": "#fb6a4a",
    "terminal": "#a50f15",
    "flyout": "#4a84c4",
}
EVENT_STYLE = {
    "detection": dict(marker="o", color="#6a3d9a", ms=7, mec="white", mew=0.7),
    "decision": dict(marker="d", color="#000000", ms=8, mec="white", mew=0.7),
    "launch": dict(marker="^", color="#1f4e9c", ms=8, mec="white", mew=0.7),
    "intercept-hit": HIT_STYLE | dict(ms=14),
    "intercept-miss": MISS_STYLE,
    "impact": dict(marker="v", color="#8b0000", ms=9, mec="white", mew=0.7),
    "leaker": dict(marker="P", color="#8b0000", ms=10, mec="white", mew=0.7),
}

_R_M = 6_371_008.8           # mean Earth radius, only to size the frame
_WORLD_TOL_DEG = 0.02        # simplification of the grey world: ~2 km, about a pixel
_PROTECTED_TOL_DEG = 0.005   # finer for the highlighted land, so atolls (Wake, Midway) survive
_SEGMENT_DEG = 1.0           # longest lon/lat edge before projecting (edges are curves on the map)
_DPI = 110


def _style(kind: str, table: Mapping, field: str) -> dict:
    if kind not in table:
        raise BmdsimInputError(field, kind, f"allowed: {', '.join(table)}")
    v = table[kind]
    return dict(v) if isinstance(v, Mapping) else v


def _need(d: Mapping, key: str, where: str):
    try:
        return d[key]
    except (KeyError, TypeError):
        raise BmdsimInputError(where, d, f"needs the key {key!r}") from None


def _arr(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float)).ravel()


def _savefig(fig, path) -> str:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return str(path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------------------
# The map's frame: projection, continuous longitudes, extent.

@dataclass(frozen=True)
class MapFrame:
    """An azimuthal-equidistant map centred on (lat0_deg, lon0_deg).

    xlim_m, ylim_m: the visible extent in projected metres. lon_box: (west, south, east, north)
    in degrees with longitudes in the continuous window [lon0 - 180, lon0 + 180): a box that
    contains everything visible (polygons are clipped to it before projecting).
    """

    lat0_deg: float
    lon0_deg: float
    xlim_m: tuple[float, float]
    ylim_m: tuple[float, float]
    lon_box: tuple[float, float, float, float]

    @functools.cached_property
    def _proj(self) -> pyproj.Proj:
        return pyproj.Proj(proj="aeqd", lat_0=self.lat0_deg, lon_0=self.lon0_deg, ellps="WGS84")

    def shift_lon(self, lon_deg) -> np.ndarray:
        """Longitudes carried into the continuous window [lon0 - 180, lon0 + 180)."""
        lon = np.asarray(lon_deg, dtype=float)
        return self.lon0_deg + (lon - self.lon0_deg + 180.0) % 360.0 - 180.0

    def xy(self, lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
        """Projected metres; NaN in, NaN out."""
        return _project(self._proj, lat_deg, lon_deg)

    def line_xy(self, lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
        """Projected polyline, broken (NaN) where it crosses the seam at lon0 + 180."""
        lat, lon = _arr(lat_deg), self.shift_lon(_arr(lon_deg))
        jump = np.flatnonzero(np.abs(np.diff(lon)) > 180.0)
        if jump.size:
            lat = np.insert(lat, jump + 1, np.nan)
            lon = np.insert(lon, jump + 1, np.nan)
        return self.xy(lat, lon)

    @property
    def width_deg_equiv(self) -> float:
        """Map width as degrees of longitude on the equator (111.3 km each)."""
        return (self.xlim_m[1] - self.xlim_m[0]) / (math.pi / 180.0 * 6_378_137.0)


def _project(proj, lat_deg, lon_deg):
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    x, y = proj(lon, lat)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    bad = ~(np.isfinite(lat) & np.isfinite(lon))
    if bad.any():
        x, y = np.where(bad, np.nan, x), np.where(bad, np.nan, y)
    return x, y


def _mean_direction(lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[float, float]:
    """Centre of points on the sphere: their normalised mean unit vector (lat, lon degrees)."""
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    v = np.array([np.mean(np.cos(la) * np.cos(lo)), np.mean(np.cos(la) * np.sin(lo)), np.mean(np.sin(la))])
    if np.linalg.norm(v) < 1e-6:   # points all round the globe: any centre will do
        return float(np.mean(lat_deg)), float(lon_deg[0])
    return (math.degrees(math.atan2(v[2], math.hypot(v[0], v[1]))), math.degrees(math.atan2(v[1], v[0])))


def map_frame(lat_deg, lon_deg, *, margin: float = 0.10, min_span_m: float = 1_000e3,
              aspect_range: tuple[float, float] = (0.45, 1.25)) -> MapFrame:
    """The frame that shows these points (degrees, any longitude convention; NaN ignored).

    The data's bounding box in the projection, grown by `margin` of its size on each side, at
    least `min_span_m` across, and grown in its short direction so that height/width lies in
    `aspect_range` (a map neither a ribbon nor a tower).
    """
    lat, lon = _arr(lat_deg), _arr(lon_deg)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        raise BmdsimInputError("map", "no points", "give at least one track, ellipse, flyout, intercept or site to frame the map")
    lat, lon = lat[ok], lon[ok]
    lat0, lon0 = _mean_direction(lat, lon)
    for _ in range(2):   # recentre on the middle of the projected bounding box
        proj = pyproj.Proj(proj="aeqd", lat_0=lat0, lon_0=lon0, ellps="WGS84")
        x, y = _project(proj, lat, lon)
        cx, cy = 0.5 * (x.min() + x.max()), 0.5 * (y.min() + y.max())
        lon_c, lat_c = proj(cx, cy, inverse=True)
        lat0, lon0 = float(lat_c), float(lon_c)
    proj = pyproj.Proj(proj="aeqd", lat_0=lat0, lon_0=lon0, ellps="WGS84")
    x, y = _project(proj, lat, lon)
    cx, cy = 0.5 * (x.min() + x.max()), 0.5 * (y.min() + y.max())
    w = max(x.max() - x.min(), 1.0) * (1.0 + 2.0 * margin)
    h = max(y.max() - y.min(), 1.0) * (1.0 + 2.0 * margin)
    w, h = max(w, min_span_m), max(h, min_span_m)
    lo, hi = aspect_range
    if h / w < lo:
        h = lo * w
    elif h / w > hi:
        w = h / hi
    xlim, ylim = (cx - w / 2, cx + w / 2), (cy - h / 2, cy + h / 2)
    frame = MapFrame(lat0, lon0, xlim, ylim, (lon0 - 180.0, -90.0, lon0 + 180.0, 90.0))
    return MapFrame(lat0, lon0, xlim, ylim, _lon_box(frame, proj))


def _lon_box(frame: MapFrame, proj) -> tuple[float, float, float, float]:
    """A lon/lat box (continuous longitudes) holding the whole visible rectangle."""
    (x0, x1), (y0, y1) = frame.xlim_m, frame.ylim_m
    n = 200
    t = np.linspace(0.0, 1.0, n)
    bx = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
    by = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
    full = (frame.lon0_deg - 180.0, -90.0, frame.lon0_deg + 180.0, 90.0)
    if np.hypot(bx, by).max() > 0.95 * math.pi * _R_M:   # reaches round to the antipode
        return full
    lon, lat = proj(bx, by, inverse=True)
    lon, lat = frame.shift_lon(np.asarray(lon)), np.asarray(lat)
    west, east = float(lon.min()) - 2.0, float(lon.max()) + 2.0
    south, north = max(float(lat.min()) - 2.0, -90.0), min(float(lat.max()) + 2.0, 90.0)
    for pole in (90.0, -90.0):
        px, py = _project(proj, pole, frame.lon0_deg)
        if x0 <= px <= x1 and y0 <= py <= y1:   # a pole in view: every longitude is
            west, east = full[0], full[2]
            south, north = (south, 90.0) if pole > 0 else (-90.0, north)
    west, east = max(west, full[0]), min(east, full[2])
    return (west, south, east, north)


# ---------------------------------------------------------------------------------------------
# Land, clipped and projected.

@functools.cache
def _world_land() -> tuple[np.ndarray, np.ndarray]:
    """Every admin-0 unit's land simplified for drawing: (codes, geometries in [-180, 180])."""
    codes = np.array([t.code for t in all_territories()])
    geoms = np.array([land_geometry(c) for c in codes], dtype=object)
    return codes, shapely.simplify(geoms, _WORLD_TOL_DEG)


@functools.cache
def _protected_land(code: str):
    return shapely.simplify(land_geometry(code), _PROTECTED_TOL_DEG)


@functools.cache
def _protected_sea(code: str):
    return shapely.simplify(territory_geometry(code), _PROTECTED_TOL_DEG)


def _clip_shifted(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Geometries in [-180, 180] clipped to a box in continuous longitudes, carried into it.

    Each is clipped to the box moved by -360, 0 and +360 degrees and the pieces moved back; a
    geometry with pieces from two sides (cut by Natural Earth at 180) is joined again.
    """
    w, s, e, n = box
    geoms = np.asarray(geoms, dtype=object)
    pieces = []
    for k in (-1, 0, 1):
        lo, hi = max(w - 360.0 * k, -181.0), min(e - 360.0 * k, 181.0)
        if hi <= lo:
            pieces.append(np.full(geoms.shape, None, dtype=object))
            continue
        p = shapely.clip_by_rect(geoms, lo, s, hi, n)
        if k:
            p = np.array([shapely.transform(g, lambda xy, d=360.0 * k: xy + np.array([d, 0.0]))
                          if not g.is_empty else g for g in p], dtype=object)
        pieces.append(np.where(shapely.is_empty(p), None, p))
    out = np.full(geoms.shape, None, dtype=object)
    for i in range(geoms.size):
        parts = [p[i] for p in pieces if p[i] is not None]
        if len(parts) == 1:
            out[i] = parts[0]
        elif parts:
            out[i] = shapely.union_all(parts)
    return out


def _polygon_path(frame: MapFrame, geoms):
    """One matplotlib Path of all polygon rings of geoms (lon/lat), projected; None if empty."""
    from matplotlib.path import Path as MplPath

    geoms = [g for g in np.atleast_1d(np.asarray(geoms, dtype=object)) if g is not None and not g.is_empty]
    if not geoms:
        return None
    polys = shapely.get_parts(np.array(geoms, dtype=object))
    polys = polys[shapely.get_type_id(polys) == 3]   # polygons only (clips can leave lines)
    if polys.size == 0:
        return None
    # Exterior anticlockwise, holes clockwise: matplotlib fills with the nonzero rule.
    polys = shapely.orient_polygons(shapely.segmentize(polys, _SEGMENT_DEG), exterior_cw=False)
    rings = shapely.get_rings(polys)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    px, py = frame.xy(xy[:, 1], xy[:, 0])
    codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
    first = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    last = np.r_[first[1:] - 1, len(xy) - 1]
    codes[first] = MplPath.MOVETO
    codes[last] = MplPath.CLOSEPOLY
    return MplPath(np.column_stack([px, py]), codes)


# ---------------------------------------------------------------------------------------------
# Geometry of the things drawn.

def ellipse_points(lat_deg: float, lon_deg: float, semi_major_m: float, semi_minor_m: float,
                   orientation_deg: float, n: int = 97) -> tuple[np.ndarray, np.ndarray]:
    """A closed ellipse on the ellipsoid: n points (lat, lon degrees) around its centre.

    The point at parameter t is the local-tangent-plane offset a cos t along the major axis
    (azimuth orientation_deg, clockwise from north) plus b sin t along the minor axis, carried to
    the ellipsoid by the geodesic of that azimuth and length (`geodesy.direct`), so the semi-axes
    are true distances on the ground, not degrees.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n)
    a, b = float(semi_major_m), float(semi_minor_m)
    phi = math.radians(float(orientation_deg))
    u = a * np.cos(t)   # along the major axis
    v = b * np.sin(t)   # along the minor axis (major rotated 90 deg clockwise)
    east = u * math.sin(phi) + v * math.cos(phi)
    north = u * math.cos(phi) - v * math.sin(phi)
    az = np.degrees(np.arctan2(east, north))
    lat, lon, _ = geodesy.direct(np.full(n, float(lat_deg)), np.full(n, float(lon_deg)), az, np.hypot(east, north))
    return np.asarray(lat), np.asarray(lon)


def densify(lat_deg, lon_deg, max_step_m: float = 50e3) -> tuple[np.ndarray, np.ndarray]:
    """A polyline with geodesic points inserted where consecutive points are > max_step_m apart.

    A flyout given as its two ends then draws as the geodesic between them (curved on the
    map), not as a straight chord. NaN breaks are kept.
    """
    lat, lon = _arr(lat_deg), _arr(lon_deg)
    if lat.size < 2:
        return lat, lon
    ok = np.isfinite(lat[:-1]) & np.isfinite(lat[1:]) & np.isfinite(lon[:-1]) & np.isfinite(lon[1:])
    d = np.zeros(lat.size - 1)
    if ok.any():
        d[ok], _, _ = geodesy.inverse(lat[:-1][ok], lon[:-1][ok], lat[1:][ok], lon[1:][ok])
    long_ = np.flatnonzero(ok & (d > max_step_m))
    if long_.size == 0:
        return lat, lon
    out_lat, out_lon, start = [], [], 0
    for i in long_:
        out_lat.append(lat[start:i])
        out_lon.append(lon[start:i])
        n = int(math.ceil(d[i] / max_step_m)) + 1
        glat, glon = geodesy.ground_track(lat[i], lon[i], lat[i + 1], lon[i + 1], n)
        out_lat.append(glat[:-1])
        out_lon.append(glon[:-1])
        start = i + 1
    out_lat.append(lat[start:])
    out_lon.append(lon[start:])
    return np.concatenate(out_lat), np.concatenate(out_lon)


def _nice_step(span: float, target: float, steps: Sequence[float]) -> float:
    for s in steps:
        if span / s <= target:
            return s
    return steps[-1]


def _fmt_lon(lon: float) -> str:
    lon = (lon + 180.0) % 360.0 - 180.0
    if abs(abs(lon) - 180.0) < 1e-9:
        return "180°"
    if abs(lon) < 1e-9:
        return "0°"
    return f"{abs(lon):g}°{'E' if lon > 0 else 'W'}"


def _fmt_lat(lat: float) -> str:
    if abs(lat) < 1e-9:
        return "0°"
    return f"{abs(lat):g}°{'N' if lat > 0 else 'S'}"


def _edge_crossings(a: np.ndarray, b: np.ndarray, level: float) -> np.ndarray:
    """Values of b where the polyline (a, b) crosses a = level (linear interpolation)."""
    d = a - level
    i = np.flatnonzero(np.isfinite(d[:-1]) & np.isfinite(d[1:]) & (np.sign(d[:-1]) != np.sign(d[1:])))
    f = d[i] / (d[i] - d[i + 1])
    return b[i] + f * (b[i + 1] - b[i])


def _graticule(ax, frame: MapFrame) -> None:
    w, s, e, n = frame.lon_box
    (x0, x1), (y0, y1) = frame.xlim_m, frame.ylim_m
    lon_step = _nice_step(e - w, 9, (1, 2, 5, 10, 15, 20, 30, 45, 60))
    lat_step = _nice_step(n - s, 7, (1, 2, 5, 10, 15, 20, 30))
    style = dict(color=GRATICULE, lw=0.6, zorder=1.5)
    label = dict(fontsize=8, color="#4d5a66")
    lat_line = np.linspace(max(s, -89.0), min(n, 89.0), 300)
    for lon in np.arange(math.ceil(w / lon_step) * lon_step, e + 1e-9, lon_step):
        x, y = frame.xy(lat_line, np.full_like(lat_line, lon))
        ax.plot(x, y, **style)
        for xc in _edge_crossings(y, x, y0):
            if x0 < xc < x1:
                ax.annotate(_fmt_lon(lon), (xc, y0), xytext=(0, -4), textcoords="offset points",
                            ha="center", va="top", annotation_clip=False, **label)
    lon_line = np.linspace(w, e, 600)
    for lat in np.arange(math.ceil(s / lat_step) * lat_step, n + 1e-9, lat_step):
        if abs(lat) >= 90.0:
            continue
        x, y = frame.xy(np.full_like(lon_line, lat), lon_line)
        ax.plot(x, y, **style)
        for yc in _edge_crossings(x, y, x0):
            if y0 < yc < y1:
                ax.annotate(_fmt_lat(lat), (x0, yc), xytext=(-4, 0), textcoords="offset points",
                            ha="right", va="center", annotation_clip=False, **label)


def _scale_bar(ax, frame: MapFrame, data_x: np.ndarray, data_y: np.ndarray) -> None:
    """A scale bar in the bottom corner (left or right) with fewer data points in it."""
    (x0, x1), (y0, y1) = frame.xlim_m, frame.ylim_m
    target = (x1 - x0) / 5.0
    km = max(k for k in (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000) if k * 1e3 <= max(target, 50e3))
    low = data_y < y0 + 0.15 * (y1 - y0)
    n_left = np.count_nonzero(low & (data_x < x0 + 0.35 * (x1 - x0)))
    n_right = np.count_nonzero(low & (data_x > x1 - 0.35 * (x1 - x0)))
    if n_left < n_right:
        bx = x0 + 0.04 * (x1 - x0)
    else:
        bx = x1 - 0.04 * (x1 - x0) - km * 1e3
    by = y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + km * 1e3], [by, by], color="#222222", lw=3, solid_capstyle="butt", zorder=6)
    ax.text(bx + km * 5e2, by + 0.012 * (y1 - y0), f"{km:,} km (true at the centre)", ha="center",
            va="bottom", fontsize=8, zorder=6,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.7))


# ---------------------------------------------------------------------------------------------
# 1. The map.

def plot_map(path, *, tracks: Sequence[Mapping] = (), ellipses: Sequence[Mapping] = (),
             flyouts: Sequence[Mapping] = (), intercepts: Sequence[Mapping] = (),
             sites: Sequence[Mapping] = (), protect: Sequence[str] | str = ("USA", "JPN", "KOR"),
             title: str = "", territorial_sea: bool = True) -> str:
    """Draw the engagement on a map of the region; write a PNG to `path` and return the path.

    tracks: threat ground tracks, dicts {label: str, lat_deg: array, lon_deg: array,
        kind: 'threat' | 'leaker' | 'intercepted' | 'not engaged'}. NaN separates pieces;
        longitudes in any convention, wrapped or unrolled.
    ellipses: predicted impact ellipses (2 sigma), dicts {lat, lon (degrees), semi_major_km,
        semi_minor_km, orientation_deg (major axis, clockwise from north), label}; drawn as
        geodesic ellipses (`ellipse_points`).
    flyouts: interceptor ground tracks, dicts {label, lat_deg, lon_deg} (site to intercept
        point; two points are enough: long segments are drawn as geodesics).
    intercepts: dicts {lat, lon, hit: bool, label}.
    sites: dicts {lat, lon, label, kind: 'sensor' | 'battery' | 'launch'}.
    protect: sovereign or territory codes (as `geography.resolve_protected`) whose land is
        highlighted, with the outline of their 12-nmi territorial sea when territorial_sea.
    Labels may be empty. The frame fits all of the above (see `map_frame`); the projection and
    the seam are described in the module docstring.
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, PathPatch

    # Gather geometry in lon/lat first: it sets the frame.
    trk = []
    for i, t in enumerate(tracks):
        where = f"tracks[{i}]"
        kind = t.get("kind", "threat") if isinstance(t, Mapping) else None
        st = _style(kind, {k: TRACK_STYLE[k] for k in TRACK_KINDS}, f"{where}.kind")
        la, lo = _arr(_need(t, "lat_deg", where)), _arr(_need(t, "lon_deg", where))
        if la.shape != lo.shape:
            raise BmdsimInputError(f"{where}.lon_deg", f"{lo.size} values", f"as many as lat_deg ({la.size})")
        trk.append((str(t.get("label", "")), la, lo, kind, st))
    ell = []
    for i, e in enumerate(ellipses):
        where = f"ellipses[{i}]"
        la, lo = ellipse_points(float(_need(e, "lat", where)), float(_need(e, "lon", where)),
                                1e3 * float(_need(e, "semi_major_km", where)),
                                1e3 * float(_need(e, "semi_minor_km", where)),
                                float(e.get("orientation_deg", 0.0)))
        ell.append((str(e.get("label", "")), la, lo, float(e["lat"]), float(e["lon"])))
    fly = []
    for i, f in enumerate(flyouts):
        where = f"flyouts[{i}]"
        la, lo = densify(_need(f, "lat_deg", where), _need(f, "lon_deg", where))
        fly.append((str(f.get("label", "")), la, lo))
    icp = []
    for i, c in enumerate(intercepts):
        where = f"intercepts[{i}]"
        icp.append((str(c.get("label", "")), float(_need(c, "lat", where)), float(_need(c, "lon", where)),
                    bool(c.get("hit", False))))
    sit = []
    for i, s in enumerate(sites):
        where = f"sites[{i}]"
        kind = s.get("kind", "sensor") if isinstance(s, Mapping) else None
        st = _style(kind, SITE_STYLE, f"{where}.kind")
        sit.append((str(s.get("label", "")), float(_need(s, "lat", where)), float(_need(s, "lon", where)), kind, st))

    all_lat = [x[1] for x in trk] + [x[1] for x in ell] + [x[1] for x in fly] + \
        [np.array([x[1] for x in icp])] + [np.array([x[1] for x in sit])]
    all_lon = [x[2] for x in trk] + [x[2] for x in ell] + [x[2] for x in fly] + \
        [np.array([x[2] for x in icp])] + [np.array([x[2] for x in sit])]
    frame = map_frame(np.concatenate(all_lat), np.concatenate(all_lon))
    (x0, x1), (y0, y1) = frame.xlim_m, frame.ylim_m

    # Figure: the map at a fixed width, the legend in a strip on the right.
    map_w, left, right, bottom, top = 8.6, 0.75, 2.7, 0.55, (0.65 if title else 0.35)
    map_h = map_w * (y1 - y0) / (x1 - x0)
    fig_w, fig_h = left + map_w + right, bottom + map_h + top
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((left / fig_w, bottom / fig_h, map_w / fig_w, map_h / fig_h))
    ax.set_facecolor(OCEAN)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])

    # Land: the world in grey, the protected territories over it.
    codes, world = _world_land()
    w, s, e, n = frame.lon_box
    bounds = shapely.bounds(world)
    near = (bounds[:, 1] <= n) & (bounds[:, 3] >= s)
    clipped = _clip_shifted(world[near], frame.lon_box)
    land_path = _polygon_path(frame, clipped)
    if land_path is not None:
        ax.add_patch(PathPatch(land_path, facecolor=LAND, edgecolor=LAND_EDGE, lw=0.4, zorder=1))
    handles = [Patch(facecolor=LAND, edgecolor=LAND_EDGE, lw=0.4, label="land (Natural Earth 1:10m)")]
    box_geom = shapely.box(*frame.lon_box)
    units = resolve_protected(protect) if protect else ()
    shown = []
    for u in units:
        gb = shapely.box(*land_geometry(u.code).bounds)
        gb_shifted = [shapely.transform(gb, lambda xy, d=d: xy + np.array([d, 0.0])) for d in (-360.0, 0.0, 360.0)]
        if not any(shapely.intersects(g, box_geom) for g in gb_shifted):
            continue
        shown.append(u)
        lp = _polygon_path(frame, _clip_shifted(np.array([_protected_land(u.code)], dtype=object), frame.lon_box))
        if lp is not None:
            ax.add_patch(PathPatch(lp, facecolor=PROTECTED_LAND, edgecolor=PROTECTED_EDGE, lw=0.5, zorder=2))
        if territorial_sea:
            sp = _polygon_path(frame, _clip_shifted(np.array([_protected_sea(u.code)], dtype=object), frame.lon_box))
            if sp is not None:
                ax.add_patch(PathPatch(sp, facecolor="none", edgecolor=PROTECTED_EDGE, lw=0.6,
                                       ls=(0, (2, 1.5)), zorder=2.1))
    if shown:
        sovs = sorted({u.sovereign for u in shown})
        handles.append(Patch(facecolor=PROTECTED_LAND, edgecolor=PROTECTED_EDGE, lw=0.5,
                             label=f"protected: {', '.join(sovs)}"))
        if territorial_sea:
            handles.append(Line2D([], [], color=PROTECTED_EDGE, lw=0.8, ls=(0, (2, 1.5)), label="12-nmi territorial sea"))

    _graticule(ax, frame)

    # The data.
    label_tracks = len(trk) <= 12
    kinds_seen = []
    for label, la, lo, kind, st in trk:
        x, y = frame.line_xy(la, lo)
        ax.plot(x, y, zorder=4, solid_capstyle="round", **st)
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        ok = np.flatnonzero(np.isfinite(x))
        if ok.size:
            ax.plot(x[ok[0]], y[ok[0]], "o", color=st["color"], ms=3.5, zorder=4.1)
            ax.plot(x[ok[-1]], y[ok[-1]], "o", color=st["color"], ms=5, mec="white", mew=0.6, zorder=4.1)
            if label and label_tracks:
                right = x[ok[-1]] > x1 - 0.2 * (x1 - x0)   # near the right edge: label to the left
                ax.annotate(label, (x[ok[-1]], y[ok[-1]]), xytext=(-5, 4) if right else (5, 4),
                            textcoords="offset points", ha="right" if right else "left",
                            fontsize=8, color=st["color"], zorder=7,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.6))
    for kind in kinds_seen:
        handles.append(Line2D([], [], label=f"threat track: {kind}" if kind != "threat" else "threat track",
                              **TRACK_STYLE[kind]))
    for label, la, lo, clat, clon in ell:
        x, y = frame.line_xy(la, lo)
        ax.fill(x, y, zorder=3.5, **ELLIPSE_STYLE)
        if label:
            # Below the ellipse: the track's label sits above its end.
            cx, _ = frame.xy(clat, clon)
            ax.annotate(label, (float(cx), float(np.nanmin(y))), xytext=(0, -3), textcoords="offset points",
                        ha="center", va="top", fontsize=7.5, color=ELLIPSE_STYLE["edgecolor"], zorder=7)
    if ell:
        handles.append(Patch(label="predicted impact, 2σ", **ELLIPSE_STYLE))
    for label, la, lo in fly:
        x, y = frame.line_xy(la, lo)
        ax.plot(x, y, zorder=4.2, **FLYOUT_STYLE)
    if fly:
        handles.append(Line2D([], [], label="interceptor flyout", **FLYOUT_STYLE))
    seen_hit = set()
    for label, la, lo, hit in icp:
        x, y = frame.xy(la, lo)
        ax.plot(x, y, zorder=5, ls="none", **(HIT_STYLE if hit else MISS_STYLE))
        seen_hit.add(hit)
        if label:
            ax.annotate(label, (float(x), float(y)), xytext=(7, -9), textcoords="offset points",
                        fontsize=7.5, zorder=7)
    for hit in (True, False):
        if hit in seen_hit:
            handles.append(Line2D([], [], ls="none", label="intercept: hit" if hit else "intercept: miss",
                                  **(HIT_STYLE if hit else MISS_STYLE)))
    site_kinds = []
    placed: list[tuple[float, float]] = []
    for label, la, lo, kind, st in sit:
        x, y = frame.xy(la, lo)
        ax.plot(x, y, ls="none", zorder=5.5, mec="white", mew=0.7, **st)
        if kind not in site_kinds:
            site_kinds.append(kind)
        if label:
            # A site close to one already labelled gets its label below left, not on top.
            crowded = any(math.hypot(float(x) - px, float(y) - py) < 0.04 * (x1 - x0) for px, py in placed)
            placed.append((float(x), float(y)))
            ax.annotate(label, (float(x), float(y)), xytext=(-6, -5) if crowded else (6, 3),
                        textcoords="offset points", ha="right" if crowded else "left",
                        va="top" if crowded else "baseline",
                        fontsize=7.5, color=st["color"], zorder=7,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.6))
    names = {"sensor": "sensor", "battery": "interceptor battery", "launch": "launch site"}
    for kind in site_kinds:
        handles.append(Line2D([], [], ls="none", label=names[kind], mec="white", mew=0.7, **SITE_STYLE[kind]))

    dx, dy = frame.xy(np.concatenate(all_lat), np.concatenate(all_lon))
    _scale_bar(ax, frame, dx[np.isfinite(dx)], dy[np.isfinite(dy)])
    if title:
        ax.set_title(title, fontsize=12, pad=8)
    fig.legend(handles=handles, loc="upper left", fontsize=8.5, frameon=False,
               bbox_to_anchor=((left + map_w + 0.15) / fig_w, (bottom + map_h) / fig_h))
    fig.text((left + map_w + 0.15) / fig_w, bottom / fig_h,
             f"azimuthal equidistant\ncentred on {_fmt_lat(round(frame.lat0_deg, 1))} "
             f"{_fmt_lon(round(frame.lon0_deg, 1))}", fontsize=7.5, color="#555555", va="bottom")
    return _savefig(fig, path)


# ---------------------------------------------------------------------------------------------
# 2. Altitude against time.

def _t0(times: list[np.ndarray]) -> float:
    finite = [np.nanmin(t) for t in times if t.size and np.isfinite(t).any()]
    return float(min(finite)) if finite else 0.0


def _event_marks(ax, events, t0_s, where: str) -> None:
    """Vertical dotted lines with labels at the top of the axes."""
    import matplotlib.transforms as mtransforms

    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for i, ev in enumerate(events):
        t = (float(_need(ev, "t_s", f"{where}[{i}]")) - t0_s) / 60.0
        ax.axvline(t, color="#555555", lw=0.8, ls=":", zorder=1)
        label = str(ev.get("label", ""))
        if label:
            ax.text(t, 0.985, " " + label, transform=trans, rotation=90, ha="right", va="top",
                    fontsize=7.5, color="#333333",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))


def plot_altitude(path, *, series: Sequence[Mapping], events: Sequence[Mapping] = (), title: str = "",
                  t0_s: float | None = None) -> str:
    """Altitude (km) against minutes after the first launch; write a PNG and return its path.

    series: dicts {label, t_s: array (s), alt_m: array (m), kind: 'threat' | 'leaker' |
        'intercepted' | 'not engaged' | 'interceptor'}; NaN breaks a line.
    events: dicts {t_s, label}: a dotted vertical line each, labelled at the top.
    t0_s: the time origin; default the earliest time of all series (the first launch).
    """
    plt = _pyplot()

    data = []
    for i, s in enumerate(series):
        where = f"series[{i}]"
        kind = s.get("kind", "threat") if isinstance(s, Mapping) else None
        st = _style(kind, TRACK_STYLE, f"{where}.kind")
        t, h = _arr(_need(s, "t_s", where)), _arr(_need(s, "alt_m", where))
        if t.shape != h.shape:
            raise BmdsimInputError(f"{where}.alt_m", f"{h.size} values", f"as many as t_s ({t.size})")
        data.append((str(s.get("label", "")), t, h, kind, st))
    t0 = float(t0_s) if t0_s is not None else _t0([d[1] for d in data])

    fig, ax = plt.subplots(figsize=(10, 5.6))
    by_label = len(data) <= 12
    kinds_seen = set()
    for label, t, h, kind, st in data:
        lab = (label or kind) if by_label else (kind if kind not in kinds_seen else None)
        kinds_seen.add(kind)
        ax.plot((t - t0) / 60.0, h / 1e3, label=lab, zorder=3, **st)
        ok = np.flatnonzero(np.isfinite(t) & np.isfinite(h))
        if ok.size:
            ax.plot((t[ok[-1]] - t0) / 60.0, h[ok[-1]] / 1e3, "o", color=st["color"], ms=4, zorder=3.1)
    _event_marks(ax, events, t0, "events")
    ax.set_xlabel("time after first launch (min)")
    ax.set_ylabel("altitude (km)")
    ax.set_ylim(bottom=0.0, top=ax.get_ylim()[1] * 1.12)   # headroom for the event labels
    ax.grid(True, color="#e0e0e0", lw=0.6, zorder=0)
    if data:
        ax.legend(fontsize=8.5, loc="best", framealpha=0.85)
    if title:
        ax.set_title(title, fontsize=12)
    fig.tight_layout()
    return _savefig(fig, path)


# ---------------------------------------------------------------------------------------------
# 3. The timeline.

PHASE_KINDS = tuple(PHASE_STYLE)
EVENT_KINDS = tuple(EVENT_STYLE)


def plot_timeline(path, *, lanes: Sequence[Mapping], title: str = "", t0_s: float | None = None) -> str:
    """The engagement as a Gantt chart, one lane per threat (or fire unit); write a PNG.

    lanes: top to bottom, dicts
        {label: str,
         phases: [{start_s, end_s, kind: 'boost' | 'midcourse' | 'terminal' | 'flyout', label}],
         events: [{t_s, kind: 'detection' | 'decision' | 'launch' | 'intercept-hit' |
                   'intercept-miss' | 'impact' | 'leaker', label}]}
    phases and events may be absent, labels empty. Threat phases fill the lane; flyout bars are
    drawn thinner along the lane's lower edge, since an interceptor flies while its target does.
    Event markers sit in a row just above the lane's bar, their labels above them; a phase label
    is written in its bar when it fits.
    Times in seconds; the axis is minutes after t0_s (default: the earliest time given).
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    parsed = []
    times = []
    for i, lane in enumerate(lanes):
        where = f"lanes[{i}]"
        if not isinstance(lane, Mapping):
            raise BmdsimInputError(where, lane, "a lane is a dict {label, phases, events}")
        phases = []
        for j, p in enumerate(lane.get("phases", ())):
            w = f"{where}.phases[{j}]"
            kind = p.get("kind", "midcourse") if isinstance(p, Mapping) else None
            _style(kind, PHASE_STYLE, f"{w}.kind")
            a, b = float(_need(p, "start_s", w)), float(_need(p, "end_s", w))
            if not b >= a:
                raise BmdsimInputError(f"{w}.end_s", b, f"must be >= start_s ({a})")
            phases.append((a, b, kind, str(p.get("label", ""))))
            times += [a, b]
        events = []
        for j, ev in enumerate(lane.get("events", ())):
            w = f"{where}.events[{j}]"
            kind = ev.get("kind") if isinstance(ev, Mapping) else None
            _style(kind, EVENT_STYLE, f"{w}.kind")
            t = float(_need(ev, "t_s", w))
            events.append((t, kind, str(ev.get("label", ""))))
            times.append(t)
        parsed.append((str(lane.get("label", f"lane {i + 1}")), phases, events))
    t0 = float(t0_s) if t0_s is not None else (min(times) if times else 0.0)
    span_min = max((max(times) - t0) / 60.0 if times else 1.0, 1e-3)

    n = max(len(parsed), 1)
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.62 * n))
    kinds_p, kinds_e = [], []
    for y, (label, phases, events) in enumerate(parsed):
        for a, b, kind, plabel in phases:
            x, wdt = (a - t0) / 60.0, (b - a) / 60.0
            if kind == "flyout":
                yb, hgt = y + 0.17, 0.2
            else:
                yb, hgt = y - 0.19, 0.32
            ax.broken_barh([(x, wdt)], (yb, hgt), facecolors=PHASE_STYLE[kind], edgecolor="white", lw=0.6, zorder=2)
            if kind not in kinds_p:
                kinds_p.append(kind)
            if plabel and wdt > 0.07 * span_min * max(len(plabel), 6) / 10.0:
                ax.text(x + wdt / 2, yb + hgt / 2, plabel, ha="center", va="center", fontsize=7.5,
                        color="white" if kind in ("terminal", "flyout") else "black", zorder=3, clip_on=True)
        for t, kind, elabel in events:
            ax.plot((t - t0) / 60.0, y - 0.31, ls="none", zorder=4, **EVENT_STYLE[kind])
            if kind not in kinds_e:
                kinds_e.append(kind)
            if elabel:
                ax.annotate(elabel, ((t - t0) / 60.0, y - 0.31), xytext=(0, 7), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, zorder=5)
    ax.set_yticks(range(len(parsed)))
    ax.set_yticklabels([p[0] for p in parsed], fontsize=9)
    ax.set_ylim(n - 0.55, -0.7)   # first lane on top; room for the top lane's event labels
    ax.set_xlim(-0.03 * span_min, span_min * 1.03)
    ax.set_xlabel("time after first launch (min)" if t0_s is None else "time (min)")
    ax.grid(True, axis="x", color="#e0e0e0", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    handles = [Patch(facecolor=PHASE_STYLE[k], label=k) for k in kinds_p]
    handles += [Line2D([], [], ls="none", label=k, **EVENT_STYLE[k]) for k in kinds_e]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False, borderaxespad=0.0)
    if title:
        ax.set_title(title, fontsize=12)
    fig.tight_layout()
    return _savefig(fig, path)
