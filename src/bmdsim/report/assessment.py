"""`bmdsim assess`: the decision chain for one missile, as a person reads it."""

from __future__ import annotations

import numpy as np
from pydantic import ValidationError

from bmdsim.assessment.policy import Policy
from bmdsim.earth.geography import resolve_protected
from bmdsim.earth.places import resolve_point
from bmdsim.engine.assess import ASSESS_PROFILES, assess_threat, fly_truth, result_dict
from bmdsim.errors import BmdsimInputError, UnreachableError
from bmdsim.sensors import catalog as sensor_catalog
from bmdsim.sensors import get_sensor
from bmdsim.threats.catalog import get_missile


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def assess_report(
    missile: str,
    launch: str,
    aim: str,
    profile: str = "min-energy",
    apogee_km: float | None = None,
    protect: str = "USA,JPN,KOR",
    sensors: str | None = None,
    threshold: float = 0.05,
    seed: int = 1,
    tracker: str = "ekf",
) -> dict:
    """Run the chain; the keys are the CLI's JSON contract."""
    m = get_missile(missile)
    lp = resolve_point(launch, field="launch")
    ap = resolve_point(aim, field="aim")
    if profile not in ASSESS_PROFILES:
        raise BmdsimInputError("profile", profile, f"allowed: {', '.join(ASSESS_PROFILES)}")
    if profile in ("min-energy", "orbit") and apogee_km is not None:
        raise BmdsimInputError("apogee_km", apogee_km, "only lofted and depressed profiles take an apogee")
    if tracker not in ("ekf", "ukf"):
        raise BmdsimInputError("tracker", tracker, "allowed: ekf, ukf")
    codes = _split(protect)
    if not codes:
        raise BmdsimInputError("protect", protect, "give one or more sovereigns or territory codes, e.g. USA,JPN,KOR")
    resolve_protected(codes)  # unknown codes fail here, with suggestions
    try:
        policy = Policy(protect=tuple(c.upper() for c in codes), threshold=threshold)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BmdsimInputError(str(err["loc"][0]), err.get("input"), err["msg"]) from None
    names = _split(sensors)
    specs = [get_sensor(n, field="sensors") for n in names] if sensors is not None else list(sensor_catalog().values())
    if not specs:
        raise BmdsimInputError("sensors", sensors, "give one or more sensor names")
    try:
        truth = fly_truth(m, lp, ap, profile, apogee_km)
    except UnreachableError as exc:
        if exc.field != "aim":
            raise
        raise UnreachableError("aim", aim, exc.allowed) from None
    ta = assess_threat(truth, specs, policy, np.random.default_rng(seed), method=tracker)
    out = result_dict(ta)
    out = {
        "missile": m.name,
        "launch": {"name": lp.name, "lat": lp.lat_deg, "lon": lp.lon_deg},
        "aim": {"name": ap.name, "lat": ap.lat_deg, "lon": ap.lon_deg},
        "profile": profile,
        "protect": list(policy.protect),
        "threshold": policy.threshold,
        "seed": seed,
        **out,
    }
    return out


def _clock(t_s: float) -> str:
    m, s = divmod(int(round(t_s)), 60)
    return f"T+{m:02d}:{s:02d}"


def print_assessment(console, out: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{out['missile']} from {out['launch']['name']} toward {out['aim']['name']} ({out['profile']})")
    t.add_column("time", justify="right")
    t.add_column("event")
    t.add_column("detail")
    for e in out["timeline"]:
        t.add_row(_clock(e["t_s"]), e["event"], e["detail"])
    console.print(t)
    d = out["decision"].upper()
    colour = "red" if out["decision"] == "engage" else "green"
    when = f" at {_clock(out['declared_at_s'])}" if out["declared_at_s"] is not None else ""
    console.print(f"[bold {colour}]{d}[/bold {colour}]{when}: {out['reason']}")
    pi = out["predicted_impact"]
    if pi:
        console.print(
            f"Predicted impact {pi['lat']:.3f}, {pi['lon']:.3f}, 2-sigma ellipse {pi['semi_major_km']:,.1f} x "
            f"{pi['semi_minor_km']:,.1f} km; time to impact {out['time_to_impact_s']:,.0f} s"
        )
    if out["overflown"]:
        console.print(f"Overflies: {', '.join(out['overflown'])}")
    tr = out["truth"]
    if tr["impact"]:
        console.print(
            f"Truth: impact {tr['impact']['lat']:.3f}, {tr['impact']['lon']:.3f}; apogee {tr['apogee_km']:,.0f} km, "
            f"range {tr['range_km']:,.0f} km, flight {tr['flight_time_s']:,.0f} s"
        )
    elif tr.get("orbital"):
        console.print("Truth: in orbit")
    zones = [z for z in out["drop_zones"] if not z["orbital"]]
    if zones and out["orbital"]:
        console.print("Spent stages fall at: " + "; ".join(f"stage {z['stage']} {z['lat']:.2f}, {z['lon']:.2f}" for z in zones))
