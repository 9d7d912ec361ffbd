"""One trajectory as a summary a person (or a script) reads: the `bmdsim trajectory` answer."""

from __future__ import annotations

import numpy as np

from bmdsim.earth import geodesy
from bmdsim.earth.places import resolve_point
from bmdsim.errors import BmdsimInputError, UnreachableError
from bmdsim.flight.shaping import PROFILES, shape
from bmdsim.threats.catalog import get_missile


def trajectory_summary(missile: str, launch: str, aim: str, profile: str = "min-energy", apogee_km: float | None = None) -> dict:
    """Shape and fly one missile; the keys are the CLI's JSON contract."""
    m = get_missile(missile)
    lp = resolve_point(launch, field="launch")
    ap = resolve_point(aim, field="aim")
    if profile not in PROFILES:
        raise BmdsimInputError("profile", profile, f"allowed: {', '.join(PROFILES)}")
    if profile == "min-energy" and apogee_km is not None:
        raise BmdsimInputError("apogee_km", apogee_km, "only lofted and depressed profiles take an apogee")
    if apogee_km is not None and not (0 < apogee_km < 20000):
        raise BmdsimInputError("apogee_km", apogee_km, "must be within (0, 20000) km")
    dist, _, _ = geodesy.inverse(lp.lat_deg, lp.lon_deg, ap.lat_deg, ap.lon_deg)
    if float(dist) < 50e3:
        raise BmdsimInputError("aim", aim, f"is {float(dist) / 1e3:.1f} km from the launch point; aim at least 50 km away")
    try:
        s = shape([m], lp.lat_deg, lp.lon_deg, ap.lat_deg, ap.lon_deg, profile, None if apogee_km is None else apogee_km * 1e3)
    except UnreachableError as exc:
        if exc.field != "aim":
            raise
        raise UnreachableError("aim", aim, exc.allowed) from None
    f = s.flight
    ilat, ilon = f.impact_lat_lon_deg
    miss, _, _ = geodesy.inverse(ilat[0], ilon[0], ap.lat_deg, ap.lon_deg)
    return {
        "missile": m.name,
        "launch": {"name": lp.name, "lat": lp.lat_deg, "lon": lp.lon_deg},
        "aim": {"name": ap.name, "lat": ap.lat_deg, "lon": ap.lon_deg},
        "profile": profile,
        "range_km": float(f.ground_range_m[0]) / 1e3,
        "apogee_km": float(f.apogee_h_m[0]) / 1e3,
        "flight_time_s": float(f.t_impact_s[0]),
        "burnout_time_s": float(f.t_burnout_s[0]),
        "burnout_speed_mps": float(f.burnout_speed_mps[0]),
        "burnout_altitude_km": float(f.burnout_h_m[0]) / 1e3,
        "burnout_flight_path_angle_deg": float(f.burnout_flight_path_angle_deg[0]),
        "impact": {"lat": float(ilat[0]), "lon": float(ilon[0])},
        "miss_km": float(miss) / 1e3,
        "guidance": {
            "azimuth_deg": float(s.azimuth_deg[0]),
            "pitch_deg": float(s.theta_deg[0]),
            "cutoff_s": float(s.t_cutoff_s[0]),
        },
    }
