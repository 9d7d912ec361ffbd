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


def demo_report(console) -> None:
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
                p.name, f"{dist[i] / 1e3:,.0f}", f"{mr['max_range_m'][i] / 1e3:,.0f}", f"{f.apogee_h_m[j] / 1e3:,.0f}",
                f"{f.t_impact_s[j] / 60:,.1f}", f"{f.burnout_speed_mps[j] / 1e3:.2f}", f"{s.miss_m[j]:.1f}",
            )
        else:
            t.add_row(p.name, f"{dist[i] / 1e3:,.0f}", f"{mr['max_range_m'][i] / 1e3:,.0f}", "out of reach", "", "", "")
    console.print(t)

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
