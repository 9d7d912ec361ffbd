"""The ``bmdsim`` command.

Imports of numpy, numba and the physics happen inside the commands, so ``bmdsim --help``
answers at once.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from typing import Annotated, Optional

import typer


app = typer.Typer(
    name="bmdsim",
    help="Ballistic missile defense simulator: threats, sensors, assessment, engagement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.echo(f"bmdsim: error: {message}", err=True)
    raise typer.Exit(2)


def handles_input_errors(fn):
    """Bad input ends in one clear message and status 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from bmdsim.errors import BmdsimInputError

        try:
            return fn(*args, **kwargs)
        except BmdsimInputError as exc:
            _fail(str(exc))

    return wrapper


def _console():
    from rich.console import Console

    # piped or captured output gets a width that keeps the tables readable
    return Console(width=None if sys.stdout.isatty() else 120)


def _print_json(obj) -> None:
    typer.echo(json.dumps(obj, indent=2))


@app.command()
@handles_input_errors
def trajectory(
    missile: Annotated[str, typer.Option(help="missile id from the catalog, e.g. hwasong-15")],
    launch: Annotated[str, typer.Option(help="launch point: LAT,LON or a place name")],
    aim: Annotated[str, typer.Option(help="aim point: LAT,LON or a place name")],
    profile: Annotated[str, typer.Option(help="min-energy, lofted or depressed")] = "min-energy",
    apogee_km: Annotated[Optional[float], typer.Option(help="apogee for lofted/depressed profiles")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Fly a missile from a launch point onto an aim point (rotating Earth, J2, drag)."""
    from bmdsim.report.trajectory import trajectory_summary

    out = trajectory_summary(missile, launch, aim, profile, apogee_km)
    if as_json:
        _print_json(out)
        return
    from rich.table import Table

    t = Table(title=f"{out['missile']}: {out['launch']['name']} -> {out['aim']['name']} ({out['profile']})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    rows = [
        ("ground range", f"{out['range_km']:,.1f} km"),
        ("apogee", f"{out['apogee_km']:,.1f} km"),
        ("flight time", f"{out['flight_time_s'] / 60:,.2f} min ({out['flight_time_s']:,.0f} s)"),
        ("burnout", f"T+{out['burnout_time_s']:.1f} s at {out['burnout_altitude_km']:,.1f} km, {out['burnout_speed_mps']:,.0f} m/s"),
        ("impact", f"{out['impact']['lat']:.4f}, {out['impact']['lon']:.4f}"),
        ("miss distance", f"{out['miss_km'] * 1000:,.1f} m"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    _console().print(t)


@app.command()
@handles_input_errors
def reach(
    apogee_km: Annotated[float, typer.Option(help="observed apogee of the test")],
    range_km: Annotated[float, typer.Option(help="observed ground range of the test")],
    flight_time_s: Annotated[float, typer.Option(help="observed flight time of the test")],
    missile: Annotated[Optional[str], typer.Option(help="catalog missile to fit (default: a generic two-stage liquid model)")] = None,
    launch: Annotated[str, typer.Option(help="launch point for the reach toward targets: LAT,LON or a place")] = "Pyongyang",
    targets: Annotated[Optional[str], typer.Option(help="comma-separated places (default: the defended places)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What a lofted test says about a missile: fit the boost, then fly it for maximum range."""
    from bmdsim.threats.reach import reach_report

    out = reach_report(apogee_km, range_km, flight_time_s, missile, launch, targets)
    if as_json:
        _print_json(out)
        return
    from rich.table import Table

    c = _console()
    fit = out["fit"]
    c.print(
        f"[bold]{out['model']}[/bold] fitted to the test (apogee {apogee_km:,.0f} km, range {range_km:,.0f} km): "
        f"payload {fit['payload_kg']:,.0f} kg, flight time {fit['flight_time_s']:,.0f} s (observed {flight_time_s:,.0f} s)"
    )
    c.print(
        f"Maximum range, non-rotating Earth: [bold]{out['max_range_km']:,.0f} km[/bold] "
        f"(burnout {out['burnout_speed_mps']:,.0f} m/s; a Kepler ellipse from that speed alone: "
        f"{out['kepler_only_max_range_km']:,.0f} km)"
    )
    t = Table(title=f"Reach from {out['launch']['name']} (rotating Earth)")
    for col, j in (("target", "left"), ("distance km", "right"), ("max range km", "right"), ("in reach", "center")):
        t.add_column(col, justify=j)
    for row in out["targets"]:
        t.add_row(row["name"], f"{row['distance_km']:,.0f}", f"{row['max_range_km']:,.0f}", "yes" if row["in_reach"] else "no")
    c.print(t)


@app.command()
@handles_input_errors
def assess(
    missile: Annotated[str, typer.Option(help="missile id from the catalog, e.g. hwasong-15")],
    launch: Annotated[str, typer.Option(help="launch point: LAT,LON or a place name")],
    aim: Annotated[str, typer.Option(help="aim point: LAT,LON or a place name (for 'orbit': the launch direction)")],
    profile: Annotated[str, typer.Option(help="min-energy, lofted, depressed, or orbit (space launch)")] = "min-energy",
    apogee_km: Annotated[Optional[float], typer.Option(help="apogee for lofted/depressed profiles")] = None,
    protect: Annotated[str, typer.Option(help="protected sovereigns or territory codes, comma-separated")] = "USA,JPN,KOR",
    sensors: Annotated[Optional[str], typer.Option(help="sensor names, comma-separated (default: the whole catalog)")] = None,
    threshold: Annotated[float, typer.Option(help="P(impact in protected territory) that triggers engagement")] = 0.05,
    seed: Annotated[int, typer.Option(help="random seed (sensor noise, impact sampling)")] = 1,
    tracker: Annotated[str, typer.Option(help="ekf or ukf")] = "ekf",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Detect, track and decide: would the defense engage this missile?"""
    from bmdsim.report.assessment import assess_report, print_assessment

    out = assess_report(missile, launch, aim, profile, apogee_km, protect, sensors, threshold, seed, tracker)
    if as_json:
        _print_json(out)
        return
    print_assessment(_console(), out)


@app.command()
@handles_input_errors
def validate(file: Annotated[str, typer.Argument(help="scenario TOML file")]) -> None:
    """Check a scenario file without running it."""
    from bmdsim.engine.scenario import load_scenario

    sc = load_scenario(file).resolved()
    n = len(sc.threat_specs())
    typer.echo(
        f"{file}: valid: '{sc.name}', {n} threat{'s' * (n != 1)}, {len(sc.sensors)} sensors, "
        f"{len(sc.batteries)} fire units, seed {sc.seed}"
    )


@app.command()
@handles_input_errors
def run(
    file: Annotated[str, typer.Argument(help="scenario TOML file")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    out: Annotated[Optional[str], typer.Option(help="folder for result.json and the pictures")] = None,
    assessments: Annotated[bool, typer.Option(help="show every assessment update in the timeline")] = False,
) -> None:
    """Run a scenario: detection, tracks, decisions, interceptors, outcomes."""
    from bmdsim.engine.scenario import load_scenario
    from bmdsim.report.run import print_run, run_resolved, write_outputs

    sc = load_scenario(file).resolved()
    result = run_resolved(sc, quiet=as_json)
    if as_json:
        _print_json(result.as_json())
    else:
        print_run(_console(), result, show_assessments=assessments)
    if out:
        from pathlib import Path

        # the scenario's text goes into result.json: `bmdsim export` runs it again from there
        paths = write_outputs(result, out, scenario_toml=Path(file).read_text(encoding="utf-8"))
        if not as_json:
            typer.echo("wrote " + ", ".join(paths))


@app.command()
@handles_input_errors
def export(
    source: Annotated[str, typer.Argument(help="scenario TOML file, or the result.json (or folder) of `bmdsim run --out`")],
    czml: Annotated[Optional[str], typer.Option(help="CZML file to write (CesiumJS)")] = None,
    kml: Annotated[Optional[str], typer.Option(help="KML file to write (Google Earth)")] = None,
) -> None:
    """A run on a globe: trajectories, interceptors, impact ellipses, sensors and territories as
    CZML and/or KML, with time (T+0 at 2026-01-01T00:00:00Z)."""
    from pathlib import Path

    if czml is None and kml is None:
        _fail("--czml/--kml: neither given; give at least one output file: --czml FILE and/or --kml FILE")
    try:
        from bmdsim.viewer.export import export as export_run

        out = export_run(source, None if czml is None else Path(czml), None if kml is None else Path(kml))
    except ModuleNotFoundError as exc:
        if exc.name != "czml3":
            raise
        _fail("CZML needs the package 'czml3': run `make setup` or pip install -e '.[viewer]'")
    what = f"{out['kind']} '{out['scenario']}', seed {out['seed']}"
    if out["czml"]:
        typer.echo(f"wrote {out['czml']} ({out['czml_packets']} CZML packets; {what})")
    if out["kml"]:
        typer.echo(f"wrote {out['kml']} ({out['kml_placemarks']} KML placemarks; {what})")


@app.command()
@handles_input_errors
def campaign(
    file: Annotated[str, typer.Argument(help="scenario TOML file")],
    trials: Annotated[int, typer.Option(help="number of Monte Carlo trials")] = 100,
    workers: Annotated[int, typer.Option(help="workers: this process and workers - 1 more processes (1: this process only)")] = 1,
    out: Annotated[Optional[str], typer.Option(help="folder for the chunk files (none: keep in memory)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="skip the chunks already complete in --out")] = False,
    seed: Annotated[Optional[int], typer.Option(help="root seed (default: the scenario's)")] = None,
    chunk_size: Annotated[Optional[int], typer.Option(help="trials per chunk (and chunk file); default: the runner's DEFAULT_CHUNK_SIZE")] = None,
    pk: Annotated[Optional[bool], typer.Option("--pk/--no-pk", help="draw each interceptor's Pk from its Beta per trial (default: the scenario's [dispersion] pk)")] = None,
    sweep: Annotated[Optional[str], typer.Option(help="KEY=V1,V2,...: a campaign per value of pk, shots, rounds or count")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a local process pool)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Monte Carlo campaign: many trials of a scenario, with reproducible seeds, resumable."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bmdsim.campaign import run_campaign
    from bmdsim.campaign.runner import DEFAULT_CHUNK_SIZE, tune_allocator

    tune_allocator()  # this process runs chunks too: keep their memory for the next one
    if sweep is not None:
        from bmdsim.campaign.sweep import parse_sweep, run_sweep

        key, values = parse_sweep(sweep)
        folder = out or "out/sweep"
        res = run_sweep(file, key, values, trials, out_dir=folder, workers=workers, resume=resume, seed=seed)
        if as_json:
            _print_json(res)
            return
        from rich.table import Table

        t = Table(title=f"{trials} trials per point, sweeping {key}")
        for col in (key, "P(no leaker)", "95 % CI", "expected leakers", "interceptors/trial"):
            t.add_column(col, justify="right")
        for p in res["points"]:
            t.add_row(f"{p['value']:g}", f"{p['p_no_leaker']:.3f}", f"{p['ci95'][0]:.3f}-{p['ci95'][1]:.3f}",
                      f"{p['expected_leakers']:.3f}", f"{p['mean_interceptors']:.2f}")
        _console().print(t)
        typer.echo(f"table and plot: {folder}/sweep.csv, {folder}/sweep.png")
        return

    bar = Progress(
        TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )
    task = bar.add_task("trials", total=trials, rate="")
    first: list[tuple[float, int]] = []  # when the first report came, and the trials done then (resumed)

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if not first:
            first.append((now, done))
        t0, d0 = first[0]
        rate = f"{(done - d0) / (now - t0):,.1f} trials/s" if done > d0 and now > t0 else ""
        bar.update(task, completed=done, total=total, rate=rate)
    try:
        with bar:
            result = run_campaign(
                file, trials, workers=workers, out_dir=out, resume=resume, seed=seed,
                chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                dispersion=None if pk is None else {"pk": pk}, scheduler=scheduler, progress=show,
            )
    except KeyboardInterrupt:
        hint = f"; the chunks written stay in {out}: rerun with --resume" if out else ""
        typer.echo(f"bmdsim: interrupted{hint}", err=True)
        raise typer.Exit(130) from None
    if as_json:
        _print_json(result.as_json())
        return
    from rich.table import Table

    s = result.summary
    c = _console()
    c.print(
        f"[bold]{result.scenario}[/bold]: {s['trials']} trials, root seed {result.seed}"
        f" ({result.chunks_run} chunks run, {result.chunks_skipped} resumed, {result.elapsed_s:,.1f} s)"
    )
    c.print(
        f"P(no leaker) {s['p_no_leaker']:.3f} (95 % CI {s['ci95'][0]:.3f}-{s['ci95'][1]:.3f}); "
        f"expected leakers {s['expected_leakers']:.3f}; interceptors per trial {s['mean_interceptors']:.2f}"
    )
    t = Table()
    for col, j in (("threat", "left"), ("P(intercepted)", "right"), ("P(leaked)", "right")):
        t.add_column(col, justify=j)
    for r in s["per_threat"]:
        t.add_row(r["id"], f"{r['p_intercepted']:.3f}", f"{r['p_leaked']:.3f}")
    c.print(t)
    if out:
        c.print(f"rows in {out}/chunk-*.parquet (query them with DuckDB: bmdsim.campaign.query)")


@app.command()
@handles_input_errors
def demo(
    out: Annotated[Optional[str], typer.Option(help="folder for the pictures (none: print only)")] = "out/demo",
) -> None:
    """The built-in scenarios: the defense of Alaska against Hwasong-15s, the 2017 overflight of
    Hokkaido that is not engaged, and a Hwasong-12 salvo against Guam."""
    from bmdsim.report.run import demo_scenarios

    demo_scenarios(_console(), out_dir=out or None)


@app.command()
@handles_input_errors
def threats(
    out: Annotated[Optional[str], typer.Option(help="folder for the pictures (none: print only)")] = "out/threats",
) -> None:
    """The threat side alone: the missile catalog and its ranges, Hwasong-15 trajectories from
    Sohae to US cities, and what the 2017 lofted tests say about reach."""
    from bmdsim.report.demo import demo_report

    demo_report(_console(), out_dir=out or None)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind (default: this machine only; the server has no authentication)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
) -> None:
    """The globe viewer: run the example scenarios and play them on an offline CesiumJS globe."""
    try:
        from bmdsim.viewer.server import CesiumMissingError, serve as serve_viewer
    except ModuleNotFoundError as exc:
        if exc.name not in ("fastapi", "uvicorn", "starlette", "czml3"):
            raise
        _fail(f"the viewer needs the package {exc.name!r}: run `make setup` or pip install -e '.[viewer]'")

    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"bmdsim: warning: serving on {host}: anyone who can reach it can run scenarios", err=True)
    try:
        serve_viewer(host=host, port=port)
    except CesiumMissingError as exc:
        _fail(str(exc))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
