"""Protected territories: which country's land or territorial sea a point is in.

Answers the question of the engagement policy, "is this missile coming toward the territory of
the United States or an ally": a point is in a territory when it is on the territory's land or
within its territorial sea, 12 nautical miles (22,224 m) from its coast [UNCLOS art. 3].

The land is Natural Earth 1:10m admin-0 (public domain; 250 units, each with an ISO 3166-1
alpha-3 code and its sovereign's code), stored unsimplified in ``bmdsim/data/territories.npz``
by ``tools/make_territories.py``. A sovereign code expands to every unit it holds: "USA" is the
50 states (Alaska, Hawaii and the Aleutians included) plus Guam (GUM), the Northern Mariana
Islands (MNP), American Samoa (ASM), Puerto Rico (PRI), the US Virgin Islands (VIR) and the US
Minor Outlying Islands (UMI: Midway, Wake, Johnston, Palmyra, ...).

How the territorial sea is drawn
--------------------------------
Buffering in degrees would be wrong by a factor 1/cos(lat) east-west, so the land is buffered
in metres: it is cut into cells of a global grid about 4 degrees (at most ~450 km) across, each
cell's land is projected to an ellipsoidal azimuthal-equidistant projection centred on the
cell (PROJ ``aeqd`` on WGS-84, exact distances from the centre [Snyder 1987, p. 191]), buffered
by 22,224 m there and projected back. Buffering distributes over union, so the union of the
cells' buffers is the buffer of the land. Within 320 km of the centre the projection's scale
across the radial direction is off by at most theta^2/6 = 5e-4, so the 22,224 m line is right
to about 10 m; land edges are cut to at most 0.05 degree before projecting and buffered edges
to at most 10 km before projecting back, so straight lines in longitude/latitude stay within a
few metres of what they stand for, and arcs have 128 chords a circle (6.7 m sagitta). Checked:
sampled points of the drawn line are 22,212-22,224 m (geodesic) from the Natural Earth coast
off Guam, Oahu, the Aleutians, North Carolina and Chiba. No simplification. The
buffer is then cut out of every other country's land (a territorial sea is sea: a point in
Canada 5 km from the US border is in Canada, not the USA). Where two territories' seas overlap
(coasts closer than 24 nmi) both contain the overlap: maritime boundaries (median lines) are not
drawn; `TerritoryIndex.locate` then reports the one whose land the point is on, else the first
in the index's order.

The antimeridian: Natural Earth cuts land at 180 degrees (the Aleutians run from Attu, 172.9 E,
to Adak, 176.6 W and on). Each cell is buffered with longitudes continuous across 180, then cut
back into [-180, 180] with the part beyond carried round by 360 degrees, and every geometry
overlaps the antimeridian by 1e-7 degrees (1 cm) on both sides so a point on 180 itself is found.
Query longitudes may be given in any convention (-180..180, 0..360, ...).

Polar caps (Antarctica's land reaches the pole) are buffered too but the cells at the pole are
only approximate; no protected territory is near a pole.

Geometries are built once per territory, on first use, and cached for the process (USA, its
six other units, JPN and KOR: about 1 s on a 2-core machine). Queries use shapely 2's vectorised
``contains_xy`` on prepared geometries of the protected territories only (a few million points
per second).

[UNCLOS] United Nations Convention on the Law of the Sea (1982), art. 3: breadth of the
         territorial sea up to 12 nautical miles; 1 nmi = 1852 m (International Hydrographic
         Conference, 1929).
[Snyder 1987] J. P. Snyder, Map Projections - A Working Manual, USGS Professional Paper 1395.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pyproj
import shapely

from bmdsim.errors import BmdsimInputError, UnknownNameError

NMI_M = 1852.0
"""One international nautical mile, metres."""

TERRITORIAL_SEA_M = 12 * NMI_M
"""Breadth of the territorial sea, 12 nmi = 22,224 m [UNCLOS art. 3]."""

DEFAULT_PROTECTED = ("USA", "JPN", "KOR")
"""The sovereigns protected unless a scenario says otherwise."""

_CELL_DEG = 4.0          # grid cell height; width chosen so a cell is at most ~450 km across
_SEGMENT_M = 10_000.0    # longest buffered edge before projecting back
_QUAD_SEGS = 32          # segments per quarter circle of the buffer: 1.1 km chords, 6.7 m sagitta
_LAND_SEGMENT_DEG = 0.05 # longest land edge (~5 km) before projecting
_SEAM_EPS_DEG = 1e-7     # overlap across the antimeridian, ~1 cm
_WINDOW = (-180.0 - _SEAM_EPS_DEG, -90.0, 180.0 + _SEAM_EPS_DEG, 90.0)

LAT_ALLOWED = "latitude must be within [-90, 90] degrees"


@dataclass(frozen=True)
class Territory:
    """One Natural Earth admin-0 unit.

    code: ISO 3166-1 alpha-3 (Natural Earth's ADM0_A3 where ISO has none, e.g. "KOS").
    name: Natural Earth's ADMIN name, e.g. "Guam".
    sovereign: alpha-3 code of the state it belongs to, e.g. "USA" for Guam.
    """

    code: str
    name: str
    sovereign: str


@dataclass(frozen=True)
class _Table:
    territories: tuple[Territory, ...]
    by_code: dict[str, int]
    holdings: dict[str, tuple[str, ...]]   # sovereign -> its units, home unit first
    wkb: np.ndarray
    offsets: np.ndarray
    source: str


@functools.cache
def _table() -> _Table:
    with resources.files("bmdsim").joinpath("data", "territories.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as z:
            codes, names, sovs = (z[k].tolist() for k in ("code", "name", "sovereign"))
            wkb, offsets, source = z["wkb"], z["wkb_offsets"], str(z["source"])
    territories = tuple(Territory(c, n, s) for c, n, s in zip(codes, names, sovs))
    holdings: dict[str, list[str]] = {}
    for t in territories:
        holdings.setdefault(t.sovereign, []).append(t.code)
    holdings_t = {s: tuple(sorted(v, key=lambda c: (c != s, c))) for s, v in holdings.items()}
    return _Table(territories, {c: i for i, c in enumerate(codes)}, holdings_t, wkb, offsets, source)


def all_territories() -> tuple[Territory, ...]:
    """Every admin-0 unit, sorted by code."""
    return _table().territories


def data_source() -> str:
    """Where the territory polygons come from (edition and version)."""
    return _table().source


def _code(code: object, field: str) -> str:
    if not isinstance(code, str):
        raise BmdsimInputError(field, code, "a territory or sovereign code is an ISO 3166-1 alpha-3 text, e.g. 'USA'")
    return code.strip().upper()


def get_territory(code: str) -> Territory:
    """The admin-0 unit with this alpha-3 code (any case). Unknown: UnknownNameError."""
    tab = _table()
    c = _code(code, "territory")
    if c not in tab.by_code:
        raise UnknownNameError("territory", code, tab.by_code)
    return tab.territories[tab.by_code[c]]


def resolve_protected(codes: Iterable[str] | str = DEFAULT_PROTECTED) -> tuple[Territory, ...]:
    """The territories a list of codes protects, in the order given, each once.

    A sovereign's code stands for everything it holds ("USA" -> USA, ASM, GUM, MNP, PRI, UMI,
    VIR; its home unit first); any other unit's code for that unit alone ("GUM"). Case is
    ignored. An unknown code raises UnknownNameError (field "protect") with close suggestions.
    """
    tab = _table()
    if isinstance(codes, str):
        codes = (codes,)
    out: dict[str, Territory] = {}
    for raw in codes:
        c = _code(raw, "protect")
        if c in tab.holdings:
            members = tab.holdings[c]
        elif c in tab.by_code:
            members = (c,)
        else:
            raise UnknownNameError("protect", raw, tab.by_code)
        for m in members:
            out.setdefault(m, tab.territories[tab.by_code[m]])
    return tuple(out.values())


# ---------------------------------------------------------------------------------------------
# Geometry: land as stored, and land plus territorial sea, built on first use.

def _raw_land(code: str) -> shapely.MultiPolygon:
    tab = _table()
    i = tab.by_code[code]
    geom = shapely.from_wkb(tab.wkb[tab.offsets[i]:tab.offsets[i + 1]].tobytes())
    # Natural Earth's cut at the antimeridian sits at -179.99999999999991 on one side; snap it
    # to -180 so the two sides meet and a point on 180 is not left in a 1e-13 degree gap.
    return shapely.transform(geom, _snap_seam)


def _snap_seam(xy: np.ndarray) -> np.ndarray:
    x = xy[:, 0]
    near = np.abs(np.abs(x) - 180.0) < 1e-9
    if near.any():
        xy = xy.copy()
        xy[near, 0] = np.copysign(180.0, x[near])
    return xy


def _shift(geom, dlon_deg: float):
    return shapely.transform(geom, lambda xy: xy + np.array([dlon_deg, 0.0]))


def _into_window(geom) -> list:
    """Pieces of geom (longitudes possibly beyond +-180) carried into [-180, 180] + overlap."""
    xmin, _, xmax, _ = geom.bounds
    if xmin >= _WINDOW[0] and xmax <= _WINDOW[2]:
        return [geom]
    box = shapely.box(*_WINDOW)
    pieces = [shapely.intersection(_shift(geom, k * 360.0), box) for k in (-1, 0, 1)]
    return [p for p in pieces if not p.is_empty]


def _polygons(geom) -> list:
    """The polygons in a geometry (intersections can leave lines and points behind)."""
    out = []
    for p in shapely.get_parts(geom):
        if p.geom_type == "Polygon":
            if not p.is_empty:
                out.append(p)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(p))
    return out


@functools.cache
def land_geometry(code: str) -> shapely.MultiPolygon:
    """A unit's land, lon/lat degrees, in [-180, 180] plus 1 cm across 180; prepared.

    Parts that touch the antimeridian are joined to a 1 cm sliver carried over from the other
    side, so points on 180 degrees are inside.
    """
    land = _raw_land(get_territory(code).code)
    parts = list(shapely.get_parts(land))
    seam, other = [], []
    for p in parts:
        xmin, _, xmax, _ = p.bounds
        (seam if xmin <= -180.0 + 1e-9 or xmax >= 180.0 - 1e-9 else other).append(p)
    if seam:
        box = shapely.box(*_WINDOW)
        slivers = []
        for p in seam:
            xmin, _, xmax, _ = p.bounds
            for k in ((1,) if xmin <= -180.0 + 1e-9 else ()) + ((-1,) if xmax >= 180.0 - 1e-9 else ()):
                slivers.extend(_polygons(shapely.intersection(_shift(p, k * 360.0), box)))
        other.extend(_polygons(shapely.union_all(seam + slivers)))
    geom = shapely.MultiPolygon(other)
    shapely.prepare(geom)
    return geom


@functools.cache
def _world_parts() -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
    """Every unit's land parts, their owners' codes, and a tree over them."""
    tab = _table()
    parts, owners = [], []
    for t in tab.territories:
        p = shapely.get_parts(_raw_land(t.code))
        parts.append(p)
        owners.append(np.full(len(p), t.code))
    parts_a, owners_a = np.concatenate(parts), np.concatenate(owners)
    return parts_a, owners_a, shapely.STRtree(parts_a)


def _grid_cells(bounds: tuple[float, float, float, float]):
    """(west, south, east, north) of the grid cells overlapping a lon/lat box.

    Bands 4 degrees high; each band cut into n equal cells with n = floor(90 cos(lat)) at the
    band's edge nearest the equator, so a cell is at most ~445 km east-west.
    """
    xmin, ymin, xmax, ymax = bounds
    j0 = max(0, int(math.floor((ymin + 90.0) / _CELL_DEG)))
    j1 = min(int(180 / _CELL_DEG) - 1, int(math.floor((ymax + 90.0) / _CELL_DEG)))
    for j in range(j0, j1 + 1):
        s = -90.0 + j * _CELL_DEG
        n = s + _CELL_DEG
        lat_low = 0.0 if s < 0.0 < n else min(abs(s), abs(n))
        ncol = max(1, int(math.floor(360.0 / _CELL_DEG * math.cos(math.radians(lat_low)))))
        w = 360.0 / ncol
        i0 = max(0, int(math.floor((xmin + 180.0) / w)))
        i1 = min(ncol - 1, int(math.floor((xmax + 180.0) / w)))
        for i in range(i0, i1 + 1):
            yield (-180.0 + i * w, s, -180.0 + (i + 1) * w, n)


def _buffer_cell(polys: list, lon0: float, lat0: float, distance_m: float):
    """Buffer polygons by distance_m in an azimuthal-equidistant projection centred on (lat0, lon0).

    Returns the buffer in lon/lat degrees with longitudes continuous around lon0 (they may run
    past +-180).
    """
    proj = pyproj.Proj(proj="aeqd", lat_0=lat0, lon_0=lon0, ellps="WGS84")

    def fwd(xy):
        return np.column_stack(proj(xy[:, 0], xy[:, 1]))

    def inv(xy):
        lon, lat = proj(xy[:, 0], xy[:, 1], inverse=True)
        lon = lon0 + (np.asarray(lon) - lon0 + 180.0) % 360.0 - 180.0
        return np.column_stack([lon, np.clip(lat, -90.0, 90.0)])

    # Natural Earth's edges are straight in lon/lat; cut them short so the projected edges
    # follow them (a 30 km edge would otherwise move by ~25 m at 55 degrees).
    g = shapely.segmentize(shapely.MultiPolygon(polys), _LAND_SEGMENT_DEG)
    g = shapely.transform(g, fwd)
    g = shapely.segmentize(shapely.buffer(g, distance_m, quad_segs=_QUAD_SEGS), _SEGMENT_M)
    g = shapely.transform(g, inv)
    return g if g.is_valid else shapely.make_valid(g)


def _cells_of(land) -> dict[tuple[float, float, float, float], list]:
    """The land cut by the grid: cell -> polygons in it."""
    cells: dict[tuple[float, float, float, float], list] = {}
    for p in shapely.get_parts(land):
        boxes = list(_grid_cells(p.bounds))
        if len(boxes) == 1:
            cells.setdefault(boxes[0], []).append(p)
            continue
        for b, piece in zip(boxes, shapely.intersection(p, shapely.box(*np.array(boxes).T))):
            if not piece.is_empty:
                cells.setdefault(b, []).extend(_polygons(piece))
    return cells


@functools.cache
def territory_geometry(code: str, distance_m: float = TERRITORIAL_SEA_M) -> shapely.MultiPolygon:
    """A unit's land plus the sea within distance_m of it (default 12 nmi), lon/lat; prepared.

    Other countries' land is cut out. See the module docstring for the method and its accuracy.
    """
    code = get_territory(code).code
    land = _raw_land(code)
    parts, owners, tree = _world_parts()
    pieces = list(shapely.get_parts(land_geometry(code)))
    for (w, s, e, n), polys in _cells_of(land).items():
        buffered = _buffer_cell(polys, 0.5 * (w + e), 0.5 * (s + n), distance_m)
        for piece in _into_window(buffered):
            near = tree.query(piece, predicate="intersects")
            near = near[owners[near] != code]
            if near.size:
                clip = shapely.box(*piece.bounds)
                others = shapely.union_all(shapely.intersection(parts[near], clip))
                piece = shapely.difference(piece, others)
            pieces.extend(_polygons(piece))
    geom = shapely.union_all(pieces)
    geom = shapely.MultiPolygon(_polygons(geom))
    shapely.prepare(geom)
    return geom


# ---------------------------------------------------------------------------------------------
# Queries

def _points(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast float arrays (x = lon in [-180, 180), y = lat); NaN stays NaN (in nothing)."""
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float))
    bad = np.abs(lat) > 90.0
    if bad.any():
        raise BmdsimInputError("lat_deg", float(lat[bad].flat[0]), LAT_ALLOWED)
    return (lon + 180.0) % 360.0 - 180.0, lat


class TerritoryIndex:
    """Point-in-territory queries over a set of territories (the protected ones).

    territories: Territory objects or codes (codes go through `resolve_protected`, so "USA"
    means all US territories); default DEFAULT_PROTECTED. Geometries are built on first use
    of each territory and cached for the process.
    """

    def __init__(self, territories: Iterable[Territory | str] = DEFAULT_PROTECTED,
                 *, distance_m: float = TERRITORIAL_SEA_M):
        if isinstance(territories, (str, Territory)):
            territories = (territories,)
        ts: dict[str, Territory] = {}
        for t in territories:
            for u in ((get_territory(t.code),) if isinstance(t, Territory) else resolve_protected(t)):
                ts.setdefault(u.code, u)
        if not math.isfinite(distance_m) or distance_m < 0.0:
            raise BmdsimInputError("distance_m", distance_m, "a distance in metres, >= 0")
        self.territories: tuple[Territory, ...] = tuple(ts.values())
        self.distance_m = float(distance_m)
        self.by_code: dict[str, Territory] = dict(ts)
        self._codes = np.array([t.code for t in self.territories], dtype="<U3")

    def __repr__(self) -> str:
        return f"TerritoryIndex({[t.code for t in self.territories]!r})"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._codes.tolist())

    def _member(self, code: str) -> str:
        c = _code(code, "territory")
        if c not in self.by_code:
            raise UnknownNameError("territory", code, self.by_code)
        return c

    def geometry(self, code: str):
        """Land plus territorial sea of one of this index's territories (prepared shapely)."""
        c = self._member(code)
        if self.distance_m == 0.0:
            return land_geometry(c)
        return territory_geometry(c, self.distance_m)

    def contains(self, code: str, lat_deg, lon_deg) -> np.ndarray:
        """True where a point is in territory `code` (its land or territorial sea)."""
        x, y = _points(lat_deg, lon_deg)
        return shapely.contains_xy(self.geometry(code), x, y)

    def over_land(self, code: str, lat_deg, lon_deg) -> np.ndarray:
        """True where a point is over territory `code`'s land (no territorial sea)."""
        x, y = _points(lat_deg, lon_deg)
        return shapely.contains_xy(land_geometry(self._member(code)), x, y)

    def locate(self, lat_deg, lon_deg) -> np.ndarray:
        """Code of the territory each point is in, '' where in none; array of '<U3'.

        Where territorial seas overlap, the territory whose land the point is on wins, else
        the first in this index's order.
        """
        x, y = _points(lat_deg, lon_deg)
        out = np.full(x.shape, "", dtype="<U3")
        xf, yf, of = x.ravel(), y.ravel(), out.reshape(-1)
        hit_by = np.full(xf.shape, -1)
        for k, t in enumerate(self.territories):
            g = self.geometry(t.code)
            xmin, ymin, xmax, ymax = g.bounds
            sel = np.flatnonzero((yf >= ymin) & (yf <= ymax) & (xf >= xmin) & (xf <= xmax))
            if sel.size == 0:
                continue
            sel = sel[shapely.contains_xy(g, xf[sel], yf[sel])]
            clash = sel[hit_by[sel] >= 0]
            if clash.size:
                # Overlapping seas: this territory takes the point only if its land is there
                # and the earlier one's is not.
                mine = shapely.contains_xy(land_geometry(t.code), xf[clash], yf[clash])
                theirs = np.zeros(clash.size, dtype=bool)
                for h in np.unique(hit_by[clash]):
                    m = hit_by[clash] == h
                    theirs[m] = shapely.contains_xy(land_geometry(self.territories[h].code),
                                                    xf[clash[m]], yf[clash[m]])
                sel = np.concatenate([sel[hit_by[sel] < 0], clash[mine & ~theirs]])
            hit_by[sel] = k
            of[sel] = t.code
        return out

    def sovereign_of(self, codes) -> np.ndarray:
        """Sovereign code for each territory code from `locate` ('' stays '')."""
        codes = np.asarray(codes, dtype="<U3")
        table = {t.code: t.sovereign for t in self.territories} | {"": ""}
        return np.vectorize(table.__getitem__, otypes=["<U3"])(codes) if codes.size else codes.copy()
