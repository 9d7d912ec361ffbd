"""`bmdsim run`: the engagement as a timeline, a summary, and pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bmdsim.engine.run import RunResult


def run_resolved(sc, quiet: bool = False) -> RunResult:
    """Run a resolved scenario (``engine.scenario.ResolvedScenario``) with a progress display."""
    from bmdsim.engine.run import run_scenario

    specs = sc.threat_specs()
    if quiet:
        return run_scenario(sc.name, sc.seed, specs, sc.sensors, sc.batteries, sc.policy, sc.doctrine_map())
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("running", total=len(specs) + 1)

        def progress(done, total, label):
            bar.update(task, completed=done, description=label)

        return run_scenario(sc.name, sc.seed, specs, sc.sensors, sc.batteries, sc.policy, sc.doctrine_map(), progress=progress)


def clock(t_s: float) -> str:
    m, s = divmod(int(round(t_s)), 60)
    return f"T+{m:02d}:{s:02d}"


def print_run(console, result: RunResult, *, show_assessments: bool = False) -> None:
    """A readable timeline (T+mm:ss, event, detail) and a summary table."""
    from rich.table import Table

    t = Table(title=result.name)
    t.add_column("time", justify="right")
    t.add_column("event")
    t.add_column("detail")
    for e in result.events:
        if e["kind"] == "assessment" and not show_assessments:
            continue
        t.add_row(clock(e["t_s"]), e["kind"], e["detail"])
    console.print(t)
    s = Table(title="Summary")
    for col in ("threat", "missile", "decision", "threatened", "interceptors", "outcome", "impact"):
        s.add_column(col)
    for r in result.threat_rows():
        if r["intercepted"]:
            outcome = "[green]intercepted[/green]"
        elif r["leaked"]:
            outcome = "[red]LEAKER[/red]"
        elif r["decision"] == "engage":
            outcome = "not intercepted"
        else:
            outcome = "not engaged"
        imp = "-" if r["impact"] is None else f"{r['impact']['lat']:.2f}, {r['impact']['lon']:.2f}"
        s.add_row(r["id"], r["missile"], r["decision"], ", ".join(r["threatened"]) or "-", str(r["interceptors_fired"]), outcome, imp)
    console.print(s)
    j = result.as_json()["summary"]
    console.print(
        f"{j['threats']} threats, {j['engaged']} engaged, {j['intercepted']} intercepted, "
        f"{j['leakers']} leakers; {j['interceptors_fired']} interceptors fired"
    )


def write_outputs(result: RunResult, out_dir, scenario_toml: str | None = None) -> list[str]:
    """result.json and the pictures: map, altitude against time, engagement timeline.

    scenario_toml: the scenario's text, recorded in result.json (``scenario_toml``) so that
    ``bmdsim export`` can run it again (same seed, same numbers) for the trajectories.
    """
    from bmdsim.report import plots

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    p = out / "result.json"
    saved = result.as_json()
    if scenario_toml is not None:
        saved["scenario_toml"] = scenario_toml
    p.write_text(json.dumps(saved, indent=2))
    paths.append(str(p))

    rows = result.threat_rows()
    tracks, ellipses, series, sites = [], [], [], []
    for j, (spec, a, row) in enumerate(zip(result.threats, result.assessments, rows)):
        f = a.truth.flight
        lat, lon, h = f.record_geodetic()
        kind = "intercepted" if row["intercepted"] else "leaker" if row["leaked"] else "not engaged" if row["decision"] != "engage" else "threat"
        ok = np.isfinite(h[0])
        if row["intercepted"]:
            t_kill = min((lk["t_intercept_s"] for lk in result.battle.looks if lk["threat"] == j and lk["hit"]), default=np.inf)
            ok &= f.t_record_s <= t_kill
        tracks.append({"label": row["id"], "lat_deg": lat[0, ok], "lon_deg": lon[0, ok], "kind": kind})
        series.append({"label": row["id"], "t_s": f.t_record_s[ok] + spec.time_s, "alt_m": h[0, ok], "kind": "threat"})
        dec = a.decision.deciding
        if dec is not None and np.isfinite(dec.prediction.mean_lat_deg):
            pr = dec.prediction
            ellipses.append({
                "lat": pr.mean_lat_deg, "lon": pr.mean_lon_deg, "semi_major_km": max(pr.semi_major_km, 1.0),
                "semi_minor_km": max(pr.semi_minor_km, 1.0), "orientation_deg": pr.orientation_deg, "label": f"{row['id']} predicted",
            })
        sites.append({"lat": spec.launch.lat_deg, "lon": spec.launch.lon_deg, "label": spec.launch.name, "kind": "launch"})
    flyouts, intercepts, seen = [], [], set()
    for lk in result.battle.looks:
        flyouts.append({"label": lk["battery"], "lat_deg": np.array([lk["site_lat"], lk["lat"]]), "lon_deg": np.array([lk["site_lon"], lk["lon"]])})
        intercepts.append({"lat": lk["lat"], "lon": lk["lon"], "hit": lk["hit"], "label": ""})
        if lk["battery"] not in seen:
            seen.add(lk["battery"])
            sites.append({"lat": lk["site_lat"], "lon": lk["site_lon"], "label": lk["battery"], "kind": "battery"})
    paths.append(plots.plot_map(
        out / "map.png", tracks=tracks, ellipses=ellipses, flyouts=flyouts, intercepts=intercepts, sites=_dedupe(sites),
        protect=result.protect, title=result.name,
    ))
    events = [{"t_s": e["t_s"], "label": e["kind"]} for e in result.events if e["kind"] in ("threat declared", "intercept")]
    paths.append(plots.plot_altitude(out / "altitude.png", series=series, events=events[:8], title=result.name))
    paths.append(plots.plot_timeline(out / "timeline.png", lanes=_lanes(result, rows), title=result.name))
    return paths


def _dedupe(sites):
    out, seen = [], set()
    for s in sites:
        key = (round(s["lat"], 3), round(s["lon"], 3), s["kind"])
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _lanes(result: RunResult, rows) -> list[dict]:
    lanes = []
    for j, (spec, a, row) in enumerate(zip(result.threats, result.assessments, rows)):
        f = a.truth.flight
        t0 = spec.time_s
        t_bo = t0 + float(f.t_burnout_s[0])
        t_flight = t0 + (float(f.t_impact_s[0]) if a.truth.impacted else float(f.t_record_s[-1]))
        kills = [lk["t_intercept_s"] + t0 for lk in result.battle.looks if lk["threat"] == j and lk["hit"]]
        t_end = min([t_flight] + kills)
        phases = [{"start_s": t0, "end_s": t_bo, "kind": "boost", "label": "boost"}]
        # terminal: the last two minutes before the (true) impact, as far as the threat gets
        t_term = max(t_bo, t_flight - 120.0) if a.truth.impacted else t_flight
        phases.append({"start_s": t_bo, "end_s": min(t_term, t_end), "kind": "midcourse", "label": ""})
        if t_term < t_end:
            phases.append({"start_s": t_term, "end_s": t_end, "kind": "terminal", "label": ""})
        events = []
        for lk in result.battle.looks:
            if lk["threat"] != j:
                continue
            phases.append({"start_s": lk["t_launch_s"] + t0, "end_s": lk["t_intercept_s"] + t0, "kind": "flyout", "label": lk["battery"]})
            events.append({"t_s": lk["t_launch_s"] + t0, "kind": "launch", "label": ""})
            events.append({"t_s": lk["t_intercept_s"] + t0, "kind": "intercept-hit" if lk["hit"] else "intercept-miss", "label": ""})
        if a.decision.declared_at_s is not None:
            events.append({"t_s": a.decision.declared_at_s + t0, "kind": "decision", "label": a.decision.decision})
        if a.established_at_s is not None:
            events.append({"t_s": a.established_at_s + t0, "kind": "detection", "label": ""})
        if row["leaked"]:
            events.append({"t_s": t_end, "kind": "leaker", "label": "leaker"})
        elif row["impact"] is not None:
            events.append({"t_s": t_end, "kind": "impact", "label": ""})
        lanes.append({"label": row["id"], "phases": phases, "events": events})
    return lanes


DEMO_FILES = ("alaska_hwasong15.toml", "hokkaido_overflight_2017.toml", "guam_salvo_defense.toml")


def demo_scenarios(console, out_dir=None) -> list[RunResult]:
    """Run the built-in scenarios (shipped in ``bmdsim/data/demo``), print them, draw them."""
    from importlib import resources

    from bmdsim.engine.scenario import parse_scenario

    results = []
    for name in DEMO_FILES:
        text = resources.files("bmdsim.data").joinpath("demo").joinpath(name).read_text(encoding="utf-8")
        sc = parse_scenario(text, source=f"bmdsim/data/demo/{name}").resolved()
        console.rule(f"[bold]{sc.name}")
        if sc.description:
            console.print(sc.description)
        result = run_resolved(sc)
        print_run(console, result)
        if out_dir is not None:
            paths = write_outputs(result, Path(out_dir) / name.removesuffix(".toml"), scenario_toml=text)
            console.print("pictures: " + ", ".join(p for p in paths if p.endswith(".png")))
        results.append(result)
    return results
