"""A run as CZML (CesiumJS) and KML (Google Earth): what flew, what watched, what was defended.

What is drawn, from a ``RunResult`` (and its ``ResolvedScenario`` where given):

- threats (``threat-<k>``, k the threat's index in ``result.threats`` from 0): the true
  trajectory, time-tagged, from launch to its end: the first hit intercept, else the impact,
  else the end of the record (an orbit). Each carries its assessment: decision, reason,
  predicted impact, P(impact) per territory, outcome, and its own events.
- interceptors (``interceptor-<n>``, n the look's index in ``result.battle.looks``): from the
  fire unit's site at launch to the planned intercept point at the intercept time. The path is
  a drawing (`flyout_path`), not a simulated flyout.
- intercepts (``intercept-<n>``): the intercept point of look n, hit or miss, from its time on.
- predicted impacts (``impact-<k>``): the 2-sigma impact ellipse of the assessment that decided
  threat k (``ThreatAssessment.decision.deciding``), from the time it was made.
- sensors (``sensor-<slug of the name>``): radars at their sites with their coverage
  (`radar_coverage`); infrared satellites as points at their longitudes on their orbit
  (children ``sensor-<slug>-<i>``).
- fire units (``battery-<slug>``): their sites.
- protected territories (``territory-<code>``, children ``territory-<code>-<i>`` one polygon
  each): land plus territorial sea, as the assessment uses them, simplified (`territory_rings`).
- the event list (``RunResult.events``) as the document's description.

Time: scenarios carry no calendar date, so a run's t = 0 is drawn at `EPOCH`
(2026-01-01T00:00:00Z, a fixed, arbitrary instant) and every time is EPOCH + t_s, the t_s of
the run's timeline (a threat's own times plus its launch time). Positions are Earth-fixed
(CZML ``FIXED``, metres; KML longitude, latitude, altitude in metres above the WGS-84 ellipsoid).
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from bmdsim.constants import WGS84_A_M
from bmdsim.engine.run import RunResult
from bmdsim.errors import BmdsimInputError

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
"""The instant a run's t = 0 is drawn at (scenarios carry no date; an arbitrary fixed choice)."""
EPOCH_ISO = "2026-01-01T00:00:00Z"

MAX_THREAT_SAMPLES = 600  # a trajectory's recorded samples are thinned to at most this many
FLYOUT_SAMPLES = 40
LOFT_FRACTION = 0.1  # the drawn flyout bulges up by this fraction of its ground distance
ELLIPSE_POINTS = 72
FAN_POINTS = 64
MIN_ELLIPSE_KM = 1.0  # smaller ellipses are drawn this big, so they can be seen
TERRITORY_VERTEX_BUDGET = 4000  # all protected territories together
TERRITORY_TOLERANCES_DEG = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
CLOCK_MULTIPLIER = 10.0

SOURCE_ALLOWED = (
    "a scenario TOML file, or the result.json (or its folder) written by `bmdsim run --out`"
)

# RGBA colours (0-255)
_RED = (230, 40, 40, 255)
_ORANGE = (255, 150, 0, 255)
_GREY = (170, 170, 170, 255)
_CYAN = (0, 200, 255, 255)
_LIME = (120, 255, 60, 255)
_MAGENTA = (220, 60, 220, 255)
_GREEN = (40, 200, 90, 255)
_WHITE = (255, 255, 255, 255)
_BLUE = (60, 120, 255, 255)
_THREAT_COLOUR = {"intercepted": _ORANGE, "leaker": _RED, "impact": _RED, "not engaged": _GREY, "orbital": _GREY}


# ---------------------------------------------------------------------------------------------
# Geometry


def _iso(t_s: float) -> str:
    """EPOCH + t_s as ISO 8601 UTC, to the millisecond (the run's clock has millisecond ticks)."""
    return (EPOCH + timedelta(milliseconds=round(float(t_s) * 1000.0))).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _wrap_lon(lon):
    return (np.asarray(lon, float) + 180.0) % 360.0 - 180.0


def flyout_path(
    site_lat_deg: float, site_lon_deg: float, site_alt_m: float,
    lat_deg: float, lon_deg: float, alt_m: float, n: int = FLYOUT_SAMPLES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A drawing of an interceptor's flight from its site to the intercept point, not a flyout.

    Returns (tau, lat_deg, lon_deg, h_m) for n points, tau in [0, 1] the fraction of the flight
    time (the points are drawn at equal time steps from launch to intercept). The ground track
    is the WGS-84 geodesic, its points equally spaced in distance; the height rises from the
    site's to the intercept's as sin(pi tau / 2) plus a bulge LOFT_FRACTION x ground distance
    x sin(pi tau). Its last point is the intercept point exactly. The simulation does not fly
    this path: it times the flyout from the interceptor's kinematics (``defense.flyout``) and
    takes the intercept point on the threat's predicted path.
    """
    from bmdsim.earth import geodesy

    tau = np.linspace(0.0, 1.0, n)
    d = float(geodesy.inverse(site_lat_deg, site_lon_deg, lat_deg, lon_deg)[0])
    if d < 1.0:
        lat, lon = np.full(n, float(site_lat_deg)), np.full(n, float(site_lon_deg))
    else:
        lat, lon = geodesy.ground_track(site_lat_deg, site_lon_deg, lat_deg, lon_deg, n)
    h = site_alt_m + (alt_m - site_alt_m) * np.sin(0.5 * np.pi * tau) + LOFT_FRACTION * d * np.sin(np.pi * tau)
    lat, lon, h = np.array(lat, float), _wrap_lon(lon), np.array(h, float)
    lat[-1], lon[-1], h[-1] = lat_deg, float(_wrap_lon(lon_deg)), alt_m
    return tau, lat, lon, h


def ellipse_ring(lat_deg: float, lon_deg: float, semi_major_km: float, semi_minor_km: float,
                 orientation_deg: float, n: int = ELLIPSE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Closed ring (lat_deg, lon_deg) of an ellipse on the ground: semi-axes in km, the major
    axis at orientation_deg clockwise from north (``ImpactPrediction``'s convention); each point
    at its tangent-plane distance and bearing from the centre along the WGS-84 geodesic."""
    from bmdsim.earth import geodesy

    th = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    o = math.radians(orientation_deg)
    a, b = semi_major_km * 1e3, semi_minor_km * 1e3
    east = a * np.cos(th) * math.sin(o) + b * np.sin(th) * math.cos(o)
    north = a * np.cos(th) * math.cos(o) - b * np.sin(th) * math.sin(o)
    lat, lon, _ = geodesy.direct(np.full(n, lat_deg), np.full(n, lon_deg), np.degrees(np.arctan2(east, north)), np.hypot(east, north))
    lat, lon = np.append(lat, lat[0]), np.append(lon, lon[0])
    return lat, lon


def radar_coverage(spec) -> tuple[np.ndarray, np.ndarray, float]:
    """Closed ring (lat_deg, lon_deg) of a radar's coverage on the ground, and its radius (m).

    The ground within the radar's maximum range against a reentry vehicle (RCS_RV_M2, what the
    run's radars look for after burnout) and within its azimuth sector: a fan from the site, or
    a circle for an all-round radar. The range is a slant range, so this is an outer bound of
    the ground under its detection volume; the elevation limits are not drawn.
    """
    from bmdsim.earth import geodesy
    from bmdsim.engine.assess import RCS_RV_M2

    r = float(spec.max_range_m(RCS_RV_M2))
    lat0, lon0 = spec.site_lat_deg, float(_wrap_lon(spec.site_lon_deg))
    if spec.half_width_az_deg >= 180.0:
        az = np.linspace(0.0, 360.0, FAN_POINTS, endpoint=False)
        lat, lon, _ = geodesy.direct(np.full(az.size, lat0), np.full(az.size, lon0), az, np.full(az.size, r))
        return np.append(lat, lat[0]), np.append(lon, lon[0]), r
    hw = spec.half_width_az_deg
    az = spec.boresight_az_deg + np.linspace(-hw, hw, FAN_POINTS)
    lat, lon, _ = geodesy.direct(np.full(az.size, lat0), np.full(az.size, lon0), az, np.full(az.size, r))
    return np.concatenate([[lat0], lat, [lat0]]), np.concatenate([[lon0], lon, [lon0]]), r


@functools.cache
def territory_rings(codes: tuple[str, ...], budget: int = TERRITORY_VERTEX_BUDGET) -> tuple[dict, float]:
    """Simplified polygons of protected territories (land plus 12 nmi territorial sea, as
    ``TerritoryIndex.geometry`` gives them to the assessment).

    codes: what a policy protects (sovereigns expand to their units). Returns ({unit code:
    (Territory, [(exterior, [holes])])} with rings as (n, 2) lon/lat arrays, tolerance_deg):
    the finest tolerance of TERRITORY_TOLERANCES_DEG (Douglas-Peucker, shapely ``simplify``
    with topology kept) at which all of them together have at most ``budget`` vertices; parts
    smaller than (2 x tolerance)^2 square degrees are dropped, except each unit's largest.
    """
    import shapely

    from bmdsim.earth.geography import TerritoryIndex, resolve_protected

    index = TerritoryIndex(resolve_protected(codes))
    parts = {t.code: (t, shapely.get_parts(index.geometry(t.code))) for t in index.territories}
    best = None
    for tol in TERRITORY_TOLERANCES_DEG:
        out, total = {}, 0
        for code, (t, p) in parts.items():
            area = shapely.area(p)
            keep = p[(area >= (2.0 * tol) ** 2) | (area == area.max())]
            simple = shapely.simplify(keep, tol, preserve_topology=True)
            polys = []
            for g in simple:
                for poly in shapely.get_parts(g):
                    if poly.geom_type != "Polygon" or poly.is_empty:
                        continue
                    ext = np.asarray(poly.exterior.coords)[:, :2]
                    holes = [np.asarray(r.coords)[:, :2] for r in poly.interiors]
                    polys.append((ext, holes))
                    total += len(ext) + sum(len(h) for h in holes)
            out[code] = (t, polys)
        best = (out, tol)
        if total <= budget:
            break
    return best


# ---------------------------------------------------------------------------------------------
# The scene: what both formats draw


def _html_table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _clock(t_s: float) -> str:
    m, s = divmod(int(round(t_s)), 60)
    return f"T+{m:02d}:{s:02d}"


def _events_html(events) -> str:
    return _html_table([(_clock(e["t_s"]), e["kind"], e["detail"]) for e in events], ("time", "event", "detail"))


def _threat_item(k: int, result: RunResult, row: dict) -> dict:
    from bmdsim.earth import frames

    spec, a = result.threats[k], result.assessments[k]
    f = a.truth.flight
    t = np.asarray(f.t_record_s, float)
    r = f.record_ecef()[0][0]
    ok = np.all(np.isfinite(r), axis=1)
    t, r = t[ok], r[ok]
    kills = [lk["t_intercept_s"] for lk in result.battle.looks if lk["threat"] == k and lk["hit"]]
    if kills:
        t_end, outcome = float(min(kills)), "intercepted"
    elif a.truth.impacted:
        t_end = float(f.t_impact_s[0])
        outcome = "leaker" if row["leaked"] else "not engaged" if row["decision"] != "engage" else "impact"
    else:
        t_end, outcome = float(t[-1]), "orbital" if row["orbital"] else "not engaged"
    before = t < t_end
    t_in, r_in = t[before], r[before]
    step = max(1, math.ceil(len(t_in) / MAX_THREAT_SAMPLES))
    t_s, r_s = t_in[::step], r_in[::step]
    if kills or not a.truth.impacted:
        # the truth at the end time, linear between the 1 s records (< 2 m off the curve)
        r_end = np.array([np.interp(t_end, t, r[:, i]) for i in range(3)])
    else:
        lat_i, lon_i = f.impact_lat_lon_deg
        r_end = frames.geodetic_to_ecef(float(lat_i[0]), float(lon_i[0]), 0.0)
    t_s = np.append(t_s, t_end) + spec.time_s
    r_s = np.vstack([r_s, r_end])
    lat, lon, h = frames.ecef_to_geodetic(r_s)
    dec = a.decision.deciding
    pred = dec.prediction if dec is not None else None
    props = {
        "threat": k,
        "label": row["id"],
        "missile": spec.missile.name,
        "launch": spec.launch.name,
        "aim": spec.aim.name,
        "profile": spec.profile,
        "launch_s": float(spec.time_s),
        "end_s": float(t_s[-1]),
        "outcome": outcome,
        "decision": a.decision.decision,
        "reason": a.decision.reason,
        "declared_at_s": row["declared_at_s"],
        "threatened": ", ".join(row["threatened"]),
        "overflown": ", ".join(row["overflown"]),
        "interceptors_fired": row["interceptors_fired"],
    }
    if pred is not None and np.isfinite(pred.mean_lat_deg):
        props.update({
            "predicted_impact_lat": round(pred.mean_lat_deg, 5), "predicted_impact_lon": round(pred.mean_lon_deg, 5),
            "predicted_semi_major_km": round(pred.semi_major_km, 3), "predicted_semi_minor_km": round(pred.semi_minor_km, 3),
            "predicted_orientation_deg": round(pred.orientation_deg, 2),
            "predicted_at_s": float(pred.t_s + spec.time_s),
        })
        props.update({f"p_impact_{c}": round(float(v), 4) for c, v in sorted(pred.p_impact.items())})
    if row["impact"] is not None:
        props.update({"impact_lat": round(row["impact"]["lat"], 5), "impact_lon": round(row["impact"]["lon"], 5)})
    events = [e for e in result.events if e["threat"] == k]
    desc_rows = [(key.replace("_", " "), v) for key, v in props.items() if key not in ("threat", "label") and v not in (None, "")]
    desc = f"<h3>{html.escape(row['id'])}: {html.escape(spec.missile.name)}</h3>" + _html_table(desc_rows) + _events_html(events)
    return {
        "id": f"threat-{k}", "name": f"{row['id']} ({spec.missile.name})", "outcome": outcome,
        "t_s": t_s, "r_ecef_m": r_s, "lat": lat, "lon": lon, "h": h,
        "properties": props, "description": desc,
    }


def _impact_item(k: int, result: RunResult, row: dict) -> dict | None:
    spec, a = result.threats[k], result.assessments[k]
    dec = a.decision.deciding
    if dec is None or not np.isfinite(dec.prediction.mean_lat_deg):
        return None
    p = dec.prediction
    lat, lon = ellipse_ring(p.mean_lat_deg, p.mean_lon_deg, max(p.semi_major_km, MIN_ELLIPSE_KM),
                            max(p.semi_minor_km, MIN_ELLIPSE_KM), p.orientation_deg)
    ps = ", ".join(f"P({c}) = {v:.2f}" for c, v in sorted(p.p_impact.items(), key=lambda kv: -kv[1]) if v > 0) or "P(protected) = 0"
    props = {
        "threat": k, "lat": p.mean_lat_deg, "lon": p.mean_lon_deg, "semi_major_km": p.semi_major_km,
        "semi_minor_km": p.semi_minor_km, "orientation_deg": p.orientation_deg,
        "predicted_at_s": float(p.t_s + spec.time_s), "time_to_impact_s": p.mean_time_to_impact_s,
    } | {f"p_impact_{c}": round(float(v), 4) for c, v in sorted(p.p_impact.items())}
    desc = (
        f"<p>{html.escape(row['id'])}: predicted impact {p.mean_lat_deg:.3f}, {p.mean_lon_deg:.3f}; 2-sigma ellipse "
        f"{p.semi_major_km:,.1f} x {p.semi_minor_km:,.1f} km, major axis {p.orientation_deg:.0f} deg from north; "
        f"{html.escape(ps)}; predicted at {_clock(p.t_s + spec.time_s)}, decision: {html.escape(a.decision.decision)}</p>"
    )
    return {
        "id": f"impact-{k}", "name": f"{row['id']} predicted impact", "t0_s": float(p.t_s + spec.time_s),
        "lat": lat, "lon": _wrap_lon(lon), "center": (p.mean_lat_deg, p.mean_lon_deg),
        "properties": props, "description": desc,
    }


def _look_items(n: int, lk: dict, result: RunResult, site_alt: dict) -> tuple[dict, dict]:
    from bmdsim.earth import frames

    spec = result.threats[lk["threat"]]
    t0, t1 = spec.time_s + float(lk["t_launch_s"]), spec.time_s + float(lk["t_intercept_s"])
    alt0 = float(site_alt.get(lk["battery"], 0.0))
    tau, lat, lon, h = flyout_path(lk["site_lat"], lk["site_lon"], alt0, lk["lat"], lk["lon"], lk["alt_m"])
    tag = spec.label or f"T{lk['threat'] + 1}"
    props = {
        "look": n, "threat": lk["threat"], "threat_label": tag, "battery": lk["battery"], "shots": lk["shots"],
        "hit": bool(lk["hit"]), "t_launch_s": t0, "t_intercept_s": t1,
        "intercept_lat": lk["lat"], "intercept_lon": lk["lon"], "intercept_alt_m": lk["alt_m"],
    }
    what = "hit" if lk["hit"] else "miss"
    desc = (
        f"<p>{html.escape(lk['battery'])}: {lk['shots']} interceptor(s) at {html.escape(tag)}, launched "
        f"{_clock(t0)}, intercept {_clock(t1)} at {lk['alt_m'] / 1e3:,.0f} km over {lk['lat']:.2f}, {lk['lon']:.2f}: "
        f"{what}. The path drawn is a sketch from the site to the intercept point, not a simulated flyout.</p>"
    )
    flyout = {
        "id": f"interceptor-{n}", "name": f"{lk['battery']} at {tag}", "t_s": t0 + tau * (t1 - t0),
        "r_ecef_m": frames.geodetic_to_ecef(lat, lon, h), "lat": lat, "lon": lon, "h": h,
        "properties": props, "description": desc,
    }
    point = {
        "id": f"intercept-{n}", "name": f"{tag}: {what} ({lk['battery']})", "t_s": t1, "hit": bool(lk["hit"]),
        "lat": float(lk["lat"]), "lon": float(_wrap_lon(lk["lon"])), "h": float(lk["alt_m"]),
        "properties": dict(props), "description": desc,
    }
    return flyout, point


def _sensor_items(result: RunResult, resolved) -> list[dict]:
    from bmdsim.sensors.spec import InfraredSpec, RadarSpec

    if resolved is not None:
        specs = list(resolved.sensors)
    else:
        # no scenario: the catalog sensors of the names the run used (overrides such as a
        # moved site are not known here)
        from bmdsim.sensors.catalog import get_sensor

        names = dict.fromkeys(n for a in result.assessments for n in a.sensor_names)
        specs = [get_sensor(n) for n in names]
    out, seen = [], set()
    for s in specs:
        slug = _slug(s.name)
        while slug in seen:
            slug += "-2"
        seen.add(slug)
        if isinstance(s, RadarSpec):
            lat, lon, r = radar_coverage(s)
            sector = "all round" if s.half_width_az_deg >= 180 else f"{s.boresight_az_deg:.0f} +/- {s.half_width_az_deg:.0f} deg"
            props = {
                "kind": "radar", "site_lat": s.site_lat_deg, "site_lon": s.site_lon_deg, "site_alt_m": s.site_alt_m,
                "coverage_range_km": r / 1e3, "boresight_az_deg": s.boresight_az_deg, "half_width_az_deg": s.half_width_az_deg,
                "min_elevation_deg": s.min_elevation_deg, "max_elevation_deg": s.max_elevation_deg,
            }
            desc = (
                f"<p>{html.escape(s.name)}: radar at {s.site_lat_deg:.3f}, {s.site_lon_deg:.3f}; azimuth {sector}, "
                f"elevation {s.min_elevation_deg:g}-{s.max_elevation_deg:g} deg; drawn to its maximum range against a "
                f"reentry vehicle, {r / 1e3:,.0f} km.</p>"
            )
            out.append({
                "id": f"sensor-{slug}", "name": s.name, "kind": "radar", "site": (s.site_lat_deg, float(_wrap_lon(s.site_lon_deg)), s.site_alt_m),
                "coverage": (lat, _wrap_lon(lon)), "properties": props, "description": desc,
            })
        elif isinstance(s, InfraredSpec):
            h = s.satellite_radius_m - WGS84_A_M
            sats = [(0.0, float(_wrap_lon(lon)), h) for lon in s.satellite_lon_deg]
            desc = (
                f"<p>{html.escape(s.name)}: infrared satellites on the equator at longitudes "
                f"{', '.join(f'{lon:g}' for lon in s.satellite_lon_deg)} deg, {h / 1e3:,.0f} km up; they see a "
                f"burning motor.</p>"
            )
            out.append({
                "id": f"sensor-{slug}", "name": s.name, "kind": "infrared", "satellites": sats,
                "properties": {"kind": "infrared", "satellite_lon_deg": ", ".join(f"{x:g}" for x in s.satellite_lon_deg), "altitude_km": h / 1e3},
                "description": desc,
            })
    return out


def _battery_items(result: RunResult, resolved) -> list[dict]:
    if resolved is not None:
        units = [(b.name, b.site_lat_deg, b.site_lon_deg, b.site_alt_m, b.interceptor, b.rounds) for b in resolved.batteries]
    else:
        units = list({lk["battery"]: (lk["battery"], lk["site_lat"], lk["site_lon"], 0.0, "", None) for lk in result.battle.looks}.values())
    out, seen = [], set()
    for name, lat, lon, alt, interceptor, rounds in units:
        slug = _slug(name)
        while slug in seen:
            slug += "-2"
        seen.add(slug)
        fired = sum(lk["shots"] for lk in result.battle.looks if lk["battery"] == name)
        desc = f"<p>{html.escape(name)}: {html.escape(interceptor)}" + (f", {rounds} rounds" if rounds is not None else "") + f"; fired {fired}</p>"
        out.append({
            "id": f"battery-{slug}", "name": name, "site": (lat, float(_wrap_lon(lon)), alt),
            "properties": {"interceptor": interceptor, "rounds": rounds, "fired": fired}, "description": desc,
        })
    return out


def _territory_items(result: RunResult) -> list[dict]:
    if not result.protect:
        return []
    rings, tol = territory_rings(tuple(result.protect))
    out = []
    for code, (t, polys) in rings.items():
        desc = (
            f"<p>{html.escape(t.name)} ({code}, held by {t.sovereign}): protected. Land plus the 12 nmi territorial "
            f"sea (Natural Earth 1:10m), simplified to {tol:g} deg for drawing.</p>"
        )
        out.append({
            "id": f"territory-{code}", "name": f"{t.name} ({code})", "polygons": polys,
            "properties": {"code": code, "name": t.name, "sovereign": t.sovereign, "simplified_deg": tol}, "description": desc,
        })
    return out


def run_scene(result: RunResult, resolved=None) -> dict:
    """What `run_czml` and `run_kml` draw, format-neutral (arrays in degrees, metres, seconds)."""
    rows = result.threat_rows()
    threats = [_threat_item(k, result, row) for k, row in enumerate(rows)]
    impacts = [it for it in (_impact_item(k, result, row) for k, row in enumerate(rows)) if it is not None]
    site_alt = {b.name: b.site_alt_m for b in resolved.batteries} if resolved is not None else {}
    flyouts, intercepts = [], []
    for n, lk in enumerate(result.battle.looks):
        f, p = _look_items(n, lk, result, site_alt)
        flyouts.append(f)
        intercepts.append(p)
    t_start = min([float(s.time_s) for s in result.threats] + [e["t_s"] for e in result.events[:1]])
    t_stop = max([e["t_s"] for e in result.events] + [float(th["t_s"][-1]) for th in threats] + [float(f["t_s"][-1]) for f in flyouts])
    head = (
        f"<h3>{html.escape(result.name)}</h3><p>seed {result.seed}; protected: {html.escape(', '.join(result.protect) or '-')}; "
        f"T+0 drawn at {EPOCH_ISO} (scenarios carry no date)</p>"
    )
    return {
        "name": result.name, "seed": result.seed, "start_s": t_start, "stop_s": t_stop,
        "description": head + _events_html(result.events),
        "threats": threats, "impacts": impacts, "flyouts": flyouts, "intercepts": intercepts,
        "sensors": _sensor_items(result, resolved), "batteries": _battery_items(result, resolved),
        "territories": _territory_items(result),
    }


# ---------------------------------------------------------------------------------------------
# CZML


def _czml_samples(t_s, r_ecef_m) -> list[float]:
    """[t, x, y, z, t, x, y, z, ...]: seconds after EPOCH (to the microsecond), ECEF metres (to 0.1 m)."""
    return np.column_stack([np.round(np.asarray(t_s, float), 6), np.round(np.asarray(r_ecef_m, float), 1)]).ravel().tolist()


def _degrees_list(lat, lon, h=None) -> list[float]:
    h = np.zeros(len(lat)) if h is None else np.broadcast_to(np.asarray(h, float), (len(lat),))
    return np.column_stack([np.round(lon, 6), np.round(lat, 6), np.round(h, 1)]).ravel().tolist()


def _props(item: dict) -> dict:
    """An item's properties for CZML: flat values, None left out (Cesium reads each as a
    constant property; a list would be read as time intervals)."""
    return {k: v for k, v in item["properties"].items() if v is not None}


def run_czml(result: RunResult, resolved=None) -> list[dict]:
    """The run as a CZML document: a list of JSON-able packets, the document packet first.

    resolved: the run's ``ResolvedScenario`` (its sensors with their overrides, its fire units
    with their site heights); without it the catalog sensors of the names the run used are
    drawn and fire units only where they fired. The module docstring lists the packets.
    """
    from czml3 import Document, Packet
    from czml3.enums import ClockRanges, ClockSteps, HorizontalOrigins, InterpolationAlgorithms, LabelStyles, VerticalOrigins
    from czml3.properties import (
        Clock, Color, Label, Material, Path, Point, Polygon, PolylineMaterial, Position, PositionList,
        PositionListOfLists, SolidColorMaterial,
    )
    from czml3.types import Cartesian2Value, TimeInterval

    sc = run_scene(result, resolved)
    start, stop = _iso(sc["start_s"]), _iso(sc["stop_s"])

    def color(rgba, alpha=None):
        return Color(rgba=list(rgba[:3]) + [rgba[3] if alpha is None else alpha])

    def solid(rgba, alpha=None):
        return Material(solidColor=SolidColorMaterial(color=color(rgba, alpha)))

    def line(rgba):
        return PolylineMaterial(solidColor=SolidColorMaterial(color=color(rgba)))

    def label(text, rgba=_WHITE, scale=0.5):
        return Label(text=text, font="20px sans-serif", scale=scale, fillColor=color(rgba), outlineColor=color((0, 0, 0, 255)),
                     outlineWidth=2, style=LabelStyles.FILL_AND_OUTLINE, horizontalOrigin=HorizontalOrigins.LEFT,
                     verticalOrigin=VerticalOrigins.BOTTOM, pixelOffset=Cartesian2Value(values=[8.0, -4.0]))

    def moving(it, rgba, width, lead=0.0):
        return dict(
            availability=TimeInterval(start=_iso(it["t_s"][0]), end=_iso(it["t_s"][-1])),
            position=Position(epoch=EPOCH_ISO, cartesian=_czml_samples(it["t_s"], it["r_ecef_m"]), referenceFrame="FIXED",
                              interpolationAlgorithm=InterpolationAlgorithms.LINEAR),
            path=Path(width=width, leadTime=lead, trailTime=1e7, resolution=5, material=line(rgba)),
            point=Point(pixelSize=7, color=color(rgba), outlineColor=color((0, 0, 0, 255)), outlineWidth=1),
        )

    packets = [Packet(
        id="document", name=sc["name"], version="1.0", description=sc["description"],
        clock=Clock(interval=TimeInterval(start=start, end=stop), currentTime=start, multiplier=CLOCK_MULTIPLIER,
                    range=ClockRanges.LOOP_STOP, step=ClockSteps.SYSTEM_CLOCK_MULTIPLIER),
    )]
    for te in sc["territories"]:
        packets.append(Packet(id=te["id"], name=te["name"], description=te["description"], properties=_props(te)))
        for i, (ext, holes) in enumerate(te["polygons"]):
            poly = Polygon(
                positions=PositionList(cartographicDegrees=_degrees_list(ext[:-1, 1], ext[:-1, 0])),
                material=solid(_BLUE, 60), height=0.0, outline=True, outlineColor=color(_BLUE),
                holes=PositionListOfLists(cartographicDegrees=[_degrees_list(h[:-1, 1], h[:-1, 0]) for h in holes]) if holes else None,
            )
            packets.append(Packet(id=f"{te['id']}-{i}", parent=te["id"], name=te["name"], description=te["description"], polygon=poly))
    for s in sc["sensors"]:
        if s["kind"] == "radar":
            lat, lon, h = s["site"]
            lat_c, lon_c = s["coverage"]
            packets.append(Packet(
                id=s["id"], name=s["name"], description=s["description"], properties=_props(s),
                position=Position(cartographicDegrees=[lon, lat, h]), point=Point(pixelSize=8, color=color(_GREEN)),
                label=label(s["name"], _GREEN),
                polygon=Polygon(positions=PositionList(cartographicDegrees=_degrees_list(lat_c[:-1], lon_c[:-1])),
                                material=solid(_GREEN, 35), height=0.0, outline=True, outlineColor=color(_GREEN)),
            ))
        else:
            packets.append(Packet(id=s["id"], name=s["name"], description=s["description"], properties=_props(s)))
            for i, (lat, lon, h) in enumerate(s["satellites"]):
                packets.append(Packet(
                    id=f"{s['id']}-{i}", parent=s["id"], name=f"{s['name']} {i + 1}", description=s["description"],
                    position=Position(cartographicDegrees=[lon, lat, h]), point=Point(pixelSize=8, color=color(_WHITE)),
                    label=label(f"{s['name']} {i + 1}"),
                ))
    for b in sc["batteries"]:
        lat, lon, h = b["site"]
        packets.append(Packet(
            id=b["id"], name=b["name"], description=b["description"], properties=_props(b),
            position=Position(cartographicDegrees=[lon, lat, h]), point=Point(pixelSize=8, color=color(_CYAN)),
            label=label(b["name"], _CYAN),
        ))
    for th in sc["threats"]:
        rgba = _THREAT_COLOUR[th["outcome"]]
        packets.append(Packet(id=th["id"], name=th["name"], description=th["description"], properties=_props(th),
                              label=label(th["properties"]["label"], rgba), **moving(th, rgba, 2.0)))
    for im in sc["impacts"]:
        packets.append(Packet(
            id=im["id"], name=im["name"], description=im["description"], properties=_props(im),
            availability=TimeInterval(start=_iso(im["t0_s"]), end=stop),
            polygon=Polygon(positions=PositionList(cartographicDegrees=_degrees_list(im["lat"][:-1], im["lon"][:-1])),
                            material=solid(_RED, 70), height=0.0, outline=True, outlineColor=color(_RED)),
        ))
    for fl in sc["flyouts"]:
        packets.append(Packet(id=fl["id"], name=fl["name"], description=fl["description"], properties=_props(fl),
                              **moving(fl, _CYAN, 1.5)))
    for ip in sc["intercepts"]:
        rgba = _LIME if ip["hit"] else _MAGENTA
        packets.append(Packet(
            id=ip["id"], name=ip["name"], description=ip["description"], properties=_props(ip),
            availability=TimeInterval(start=_iso(ip["t_s"]), end=stop),
            position=Position(cartographicDegrees=[ip["lon"], ip["lat"], ip["h"]]),
            point=Point(pixelSize=10, color=color(rgba), outlineColor=color((0, 0, 0, 255)), outlineWidth=1),
        ))
    return json.loads(Document(packets=packets).dumps())


# ---------------------------------------------------------------------------------------------
# KML

_KML_NS = "http://www.opengis.net/kml/2.2"
_GX_NS = "http://www.google.com/kml/ext/2.2"


def _kml_color(rgba, alpha=None) -> str:
    r, g, b, a = rgba
    return f"{alpha if alpha is not None else a:02x}{b:02x}{g:02x}{r:02x}"  # KML: aabbggrr


def _coords(lat, lon, h=None) -> str:
    lon = _wrap_lon(lon)
    h = np.zeros(len(lat)) if h is None else np.asarray(h, float)
    return " ".join(f"{x:.6f},{y:.6f},{z:.1f}" for x, y, z in zip(lon, lat, h))


def run_kml(result: RunResult, resolved=None) -> str:
    """The run as a KML document (text): the same things as `run_czml`, with the same ids.

    Trajectories are a ``LineString`` placemark (the whole path, with its time span) plus a
    ``gx:Track`` placemark (id ``<id>-track``) that Google Earth's time slider animates;
    coordinates are longitude, latitude, altitude (m above the ellipsoid).
    """
    # prefixed names written as they are, with the namespaces declared on the root (no global
    # ElementTree.register_namespace)
    K, GX = "", "gx:"
    sc = run_scene(result, resolved)

    def sub(parent, tag, text=None, **attrib):
        el = ET.SubElement(parent, tag, attrib)
        if text is not None:
            el.text = str(text)
        return el

    root = ET.Element("kml", {"xmlns": _KML_NS, "xmlns:gx": _GX_NS})
    doc = sub(root, K + "Document")
    sub(doc, K + "name", sc["name"])
    sub(doc, K + "description", sc["description"])
    styles = {
        "threat-intercepted": (_ORANGE, 3), "threat-leaker": (_RED, 3), "threat-impact": (_RED, 3),
        "threat-not-engaged": (_GREY, 2), "threat-orbital": (_GREY, 2), "interceptor": (_CYAN, 2),
        "intercept-hit": (_LIME, 2), "intercept-miss": (_MAGENTA, 2), "impact": (_RED, 2), "sensor": (_GREEN, 1),
        "infrared": (_WHITE, 1), "battery": (_CYAN, 1), "territory": (_BLUE, 1),
    }
    fill_alpha = {"impact": 70, "sensor": 35, "territory": 60}
    for sid, (rgba, width) in styles.items():
        st = sub(doc, K + "Style", id=sid)
        sub(sub(st, K + "IconStyle"), K + "color", _kml_color(rgba))
        ls = sub(st, K + "LineStyle")
        sub(ls, K + "color", _kml_color(rgba))
        sub(ls, K + "width", width)
        sub(sub(st, K + "PolyStyle"), K + "color", _kml_color(rgba, fill_alpha.get(sid, 80)))

    def placemark(folder, it, style, begin=None, end=None, when=None):
        pm = sub(folder, K + "Placemark", id=it["id"])
        sub(pm, K + "name", it["name"])
        sub(pm, K + "description", it["description"])
        if begin is not None:
            span = sub(pm, K + "TimeSpan")
            sub(span, K + "begin", _iso(begin))
            if end is not None:
                sub(span, K + "end", _iso(end))
        if when is not None:
            sub(sub(pm, K + "TimeStamp"), K + "when", _iso(when))
        sub(pm, K + "styleUrl", f"#{style}")
        ext = sub(pm, K + "ExtendedData")
        for key, v in it.get("properties", {}).items():
            sub(sub(ext, K + "Data", name=key), K + "value", "" if v is None else v)
        return pm

    def point(pm, lat, lon, h):
        pt = sub(pm, K + "Point")
        sub(pt, K + "altitudeMode", "absolute")
        sub(pt, K + "coordinates", _coords([lat], [lon], [h]))

    def polygon(parent, ext_lat, ext_lon, holes=()):
        pg = sub(parent, K + "Polygon")
        sub(pg, K + "tessellate", 1)
        sub(pg, K + "altitudeMode", "clampToGround")
        sub(sub(sub(pg, K + "outerBoundaryIs"), K + "LinearRing"), K + "coordinates", _coords(ext_lat, ext_lon))
        for h_lat, h_lon in holes:
            sub(sub(sub(pg, K + "innerBoundaryIs"), K + "LinearRing"), K + "coordinates", _coords(h_lat, h_lon))

    def trajectory(folder, it, style):
        pm = placemark(folder, it, style, begin=it["t_s"][0], end=it["t_s"][-1])
        ls = sub(pm, K + "LineString")
        sub(ls, K + "altitudeMode", "absolute")
        sub(ls, K + "coordinates", _coords(it["lat"], it["lon"], it["h"]))
        tr_pm = sub(folder, K + "Placemark", id=f"{it['id']}-track")
        sub(tr_pm, K + "name", it["name"])
        sub(tr_pm, K + "styleUrl", f"#{style}")
        track = sub(tr_pm, GX + "Track")
        sub(track, K + "altitudeMode", "absolute")
        for t in it["t_s"]:
            sub(track, K + "when", _iso(t))
        for x, y, z in zip(_wrap_lon(it["lon"]), it["lat"], it["h"]):
            sub(track, GX + "coord", f"{x:.6f} {y:.6f} {z:.1f}")

    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Protected territories")
    for te in sc["territories"]:
        mg = sub(placemark(folder, te, "territory"), K + "MultiGeometry")
        for ext, holes in te["polygons"]:
            polygon(mg, ext[:, 1], ext[:, 0], [(h[:, 1], h[:, 0]) for h in holes])
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Sensors")
    for s in sc["sensors"]:
        if s["kind"] == "radar":
            pm = placemark(folder, s, "sensor")
            mg = sub(pm, K + "MultiGeometry")
            point(mg, *s["site"])
            polygon(mg, *s["coverage"])
        else:
            mg = sub(placemark(folder, s, "infrared"), K + "MultiGeometry")
            for lat, lon, h in s["satellites"]:
                point(mg, lat, lon, h)
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Fire units")
    for b in sc["batteries"]:
        point(placemark(folder, b, "battery"), *b["site"])
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Threats")
    for th in sc["threats"]:
        trajectory(folder, th, f"threat-{th['outcome'].replace(' ', '-')}")
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Predicted impacts (2 sigma)")
    for im in sc["impacts"]:
        polygon(placemark(folder, im, "impact", begin=im["t0_s"]), im["lat"], im["lon"])
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Interceptors")
    for fl in sc["flyouts"]:
        trajectory(folder, fl, "interceptor")
    folder = sub(doc, K + "Folder")
    sub(folder, K + "name", "Intercepts")
    for ip in sc["intercepts"]:
        point(placemark(folder, ip, "intercept-hit" if ip["hit"] else "intercept-miss", when=ip["t_s"]), ip["lat"], ip["lon"], ip["h"])
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------
# Loading a run, and the command's work


def load_run(source: str | Path):
    """The run a source stands for: (RunResult, ResolvedScenario, kind 'scenario' or 'result').

    source: a scenario TOML file (run here, with its seed), or the ``result.json`` written by
    ``bmdsim run --out`` (or that folder): it records the scenario's text, which is run again
    with the same seed; runs are deterministic, so it is the same run. Its events are checked
    against the recorded ones: a mismatch (the result came from another version of bmdsim)
    is an error rather than a picture of a different run.
    """
    from bmdsim.engine.scenario import load_scenario, parse_scenario
    from bmdsim.report.run import run_resolved

    p = Path(source)
    if p.is_dir():
        if not (p / "result.json").is_file():
            raise BmdsimInputError("source", str(source), f"this folder holds no result.json; give {SOURCE_ALLOWED}")
        p = p / "result.json"
    if not p.is_file():
        raise BmdsimInputError("source", str(source), f"no such file; give {SOURCE_ALLOWED}")
    suffix = p.suffix.lower()
    if suffix == ".toml":
        sc = load_scenario(p).resolved()
        return run_resolved(sc, quiet=True), sc, "scenario"
    if suffix != ".json":
        raise BmdsimInputError("source", str(source), f"unknown file type {p.suffix!r}; give {SOURCE_ALLOWED}")
    try:
        saved = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BmdsimInputError("source", str(source), f"not a readable JSON file ({exc}); give {SOURCE_ALLOWED}") from None
    text = saved.get("scenario_toml") if isinstance(saved, dict) else None
    if not isinstance(text, str):
        raise BmdsimInputError(
            "source", str(source),
            "this JSON records no scenario (`scenario_toml`): give the scenario TOML, or a result.json written by "
            "`bmdsim run --out` with this version",
        )
    sc = parse_scenario(text, source=f"{p} (scenario_toml)").resolved()
    if "seed" in saved and saved["seed"] != sc.seed:
        raise BmdsimInputError("source", str(source), f"its seed {saved['seed']!r} differs from its scenario's ({sc.seed})")
    result = run_resolved(sc, quiet=True)
    if "events" in saved and saved["events"] != result.as_json()["events"]:
        raise BmdsimInputError(
            "source", str(source),
            "running its scenario again gives other events than it records (written by another version of bmdsim?); "
            "export the scenario TOML instead",
        )
    return result, sc, "result"


def export(source: str | Path, czml: Path | None, kml: Path | None) -> dict:
    """`bmdsim export`: run (or re-run) ``source`` and write the CZML and/or KML files.

    Returns what was written: {"source", "kind", "scenario", "seed", "czml", "czml_packets",
    "kml", "kml_placemarks"} (paths as text; None for a format not asked for).
    """
    if czml is None and kml is None:
        raise BmdsimInputError("--czml/--kml", None, "give at least one output file: --czml FILE and/or --kml FILE")
    result, resolved, kind = load_run(source)
    out = {"source": str(source), "kind": kind, "scenario": result.name, "seed": result.seed,
           "czml": None, "czml_packets": 0, "kml": None, "kml_placemarks": 0}
    if czml is not None:
        packets = run_czml(result, resolved)
        _write(Path(czml), json.dumps(packets, separators=(",", ":")), "--czml")
        out.update(czml=str(czml), czml_packets=len(packets))
    if kml is not None:
        text = run_kml(result, resolved)
        _write(Path(kml), text, "--kml")
        out.update(kml=str(kml), kml_placemarks=text.count("<Placemark "))
    return out


def _write(path: Path, text: str, field: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BmdsimInputError(field, str(path), f"cannot be written ({exc.strerror or exc})") from None
