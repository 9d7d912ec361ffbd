"""`bmdsim demo`: what the flight physics says, on its built-in cases.

Until the engagement engine exists, the demo shows the threat side of the chain: the catalog
missiles and their ranges, Hwasong-15 trajectories from Sohae to US cities (rotating Earth, J2,
drag), and what the 2017 lofted tests said about the reach of the Hwasong-12 and Hwasong-14.
"""

from __future__ import annotations

import numpy as np

from bmdsim.earth import geodesy
from bmdsim.earth.places import get_place
from bmdsim.flight.shaping import max_range_toward, shape
from bmdsim.threats.catalog import catalog, get_missile
from bmdsim.threats.reach import fit_to_test, max_range_non_rotating

DEMO_TARGETS = ("Anchorage", "Honolulu", "Seattle", "Los Angeles", "Chicago", "Washington DC", "New York")

# Observed lofted tests (CSIS Missile Defense Project; KCNA figures), as in nk_tests.json
DEMO_TESTS = (
    ("Hwasong-12, 2017-05-14", "hwasong-12", 2111.5, 787.0, 1800.0, 4500.0),
    ("Hwasong-14, 2017-07-04", "hwasong-14", 2802.0, 933.0, 2340.0, 6700.0),
)


HALF_EARTH_KM = 20003.9  # half the meridian circumference: past this a missile reaches anywhere


def _range_text(km: float) -> str:
    if not np.isfinite(km):
        return "-"
    return "global" if km >= HALF_EARTH_KM else f"{km:,.0f}"


def demo_report(console, out_dir=None) -> None:
    """Print the demo; with out_dir, also draw the Hwasong-15 trajectories to a PNG there."""
    from rich.table import Table

    console.rule("[bold]bmdsim demo: the threat")
    t = Table(title="Missile catalog: maximum range on a non-rotating Earth (full model: boost, J2, drag)")
    for col in ("missile", "class", "stages", "launch mass t", "burn s", "ideal dv km/s", "max range km", "published km"):
        t.add_column(col, justify="left" if col in ("missile", "class") else "right")
    for m in catalog().values():
        mx = max_range_non_rotating(m)
        b = mx["flight"]
        rng = "orbital" if b.orbital[0] else f"{float(mx['max_range_m'][0]) / 1e3:,.0f}"
        t.add_row(
            m.name, m.missile_class, str(len(m.stage)), f"{m.launch_mass_kg / 1e3:,.1f}", f"{m.burn_time_s:,.0f}",
            f"{m.ideal_delta_v_mps() / 1e3:.2f}", rng,
            f"{m.published_range_km:,.0f}" if m.published_range_km else "-",
        )
    console.print(t)

    hs15 = get_missile("hwasong-15")
    sohae = get_place("Sohae")
    places = [get_place(n) for n in DEMO_TARGETS]
    tl = np.array([p.lat_deg for p in places])
    tn = np.array([p.lon_deg for p in places])
    mr = max_range_toward([hs15] * len(places), sohae.lat_deg, sohae.lon_deg, tl, tn)
    dist, _, _ = geodesy.inverse(sohae.lat_deg, sohae.lon_deg, tl, tn)
    ok = np.asarray(mr["max_range_m"]) >= np.asarray(dist)
    t = Table(title=f"{hs15.name} from {sohae.name}, minimum-energy trajectories (rotating Earth)")
    for col in ("target", "distance km", "max range km", "apogee km", "flight time min", "burnout km/s", "miss m"):
        t.add_column(col, justify="left" if col == "target" else "right")
    idx = np.flatnonzero(ok)
    if idx.size:
        s = shape([hs15] * idx.size, sohae.lat_deg, sohae.lon_deg, tl[idx], tn[idx], "min-energy")
    for i, p in enumerate(places):
        if ok[i]:
            j = int(np.searchsorted(idx, i))
            f = s.flight
            t.add_row(
                p.name, f"{dist[i] / 1e3:,.0f}", _range_text(mr["max_range_m"][i] / 1e3), f"{f.apogee_h_m[j] / 1e3:,.0f}",
                f"{f.t_impact_s[j] / 60:,.1f}", f"{f.burnout_speed_mps[j] / 1e3:.2f}", f"{s.miss_m[j]:.1f}",
            )
        else:
            t.add_row(p.name, f"{dist[i] / 1e3:,.0f}", _range_text(mr["max_range_m"][i] / 1e3), "out of reach", "", "", "")
    console.print(t)
    if out_dir is not None and idx.size:
        path = plot_trajectories(
            [places[i].name for i in idx], hs15, sohae, tl[idx], tn[idx], out_dir
        )
        console.print(f"Trajectories drawn to [bold]{path}[/bold]")

    t = Table(title="What the 2017 lofted tests say (payload fitted to apogee and range; flown for maximum range)")
    for col in ("test", "apogee km", "range km", "fitted payload kg", "flight time s (obs.)", "max range km", "published km"):
        t.add_column(col, justify="left" if col == "test" else "right")
    for name, mid, apo, rng, tf, pub in DEMO_TESTS:
        fit = fit_to_test(get_missile(mid), apo * 1e3, rng * 1e3)
        mx = max_range_non_rotating(fit.missile)
        t.add_row(
            name, f"{apo:,.0f}", f"{rng:,.0f}", f"{fit.missile.payload.mass_kg:,.0f}",
            f"{fit.flight.t_impact_s[0]:,.0f} ({tf:,.0f})", f"{mx['max_range_m'][0] / 1e3:,.0f}", f"{pub:,.0f}",
        )
    console.print(t)
    console.print(
        "Next in the chain: sensors and tracking, the engage/no-engage decision, interceptors. "
        "Try `bmdsim trajectory --missile hwasong-15 --launch Sohae --aim Seattle` or `bmdsim reach --help`."
    )


def plot_trajectories(names, missile, launch, aim_lat, aim_lon, out_dir) -> str:
    """Ground tracks (longitudes 0-360, so the Pacific stays whole) and altitude profiles."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = shape([missile] * len(names), launch.lat_deg, launch.lon_deg, aim_lat, aim_lon, "min-energy", record_dt_s=5.0)
    lat, lon, h = s.flight.record_geodetic()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 9), gridspec_kw={"height_ratios": [3, 2]})
    for i, name in enumerate(names):
        ok = np.isfinite(h[i])
        ax1.plot(lon[i, ok] % 360.0, lat[i, ok], lw=1.6, label=name)
        ax1.plot(aim_lon[i] % 360.0, aim_lat[i], "o", color=ax1.lines[-1].get_color())
        ax2.plot(s.flight.t_record_s[ok] / 60.0, h[i, ok] / 1e3, lw=1.6, label=name)
    ax1.plot(launch.lon_deg % 360.0, launch.lat_deg, "k^", ms=9, label=launch.name)
    ax1.set_xlabel("longitude (deg east, 0-360)")
    ax1.set_ylabel("latitude (deg)")
    ax1.set_title(f"{missile.name} from {launch.name}: minimum-energy ground tracks (rotating Earth)")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc="lower left")
    ax1.set_aspect("equal", adjustable="datalim")
    ax2.set_xlabel("time after launch (min)")
    ax2.set_ylabel("altitude (km)")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "hwasong15_trajectories.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
