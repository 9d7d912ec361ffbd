"""The benchmarks' common setup: the issue's Alaska scenario (one Hwasong-15 from Sohae at
Anchorage, four GBIs at Fort Greely) and N dispersed copies of its threat flown with a 1 s record.

Imported by the scripts in this folder (``python benchmarks/x.py`` puts the folder on sys.path).
"""

from __future__ import annotations

import numpy as np

SCENARIO = """
[scenario]
name = "Alaska: one Hwasong-15, four GBIs"
seed = 11

[policy]
protect = ["USA"]

[[threat]]
missile = "hwasong-15"
launch = "Sohae"
aim = "Anchorage"

[[battery]]
site = "Fort Greely"
rounds = 4

[doctrine]
mode = "salvo"
shots = 4
"""


def resolved():
    from bmdsim.engine.scenario import parse_scenario

    return parse_scenario(SCENARIO, source="alaska.toml").resolved()


def dispersed_flights(n: int):
    """(sensors, FlightBatch): n copies of the threat with small launch-azimuth and pitch errors
    (seed 1), recorded every second."""
    from bmdsim.flight.fly import fly, guidance_array, stack_missiles
    from bmdsim.flight.shaping import shape

    res = resolved()
    ts = res.threat_specs()[0]
    sh = shape([ts.missile], ts.launch.lat_deg, ts.launch.lon_deg, ts.aim.lat_deg, ts.aim.lon_deg)
    ms = [ts.missile] * n
    st, pl = stack_missiles(ms)
    rng = np.random.default_rng(1)
    g = guidance_array(
        ms, sh.azimuth_deg[0] + rng.normal(0, 0.05, n), sh.theta_deg[0] + rng.normal(0, 0.1, n),
        np.full(n, sh.t_cutoff_s[0]),
    )
    f = fly(np.full(n, ts.launch.lat_deg), np.full(n, ts.launch.lon_deg), st, pl, g, record_dt_s=1.0)
    return list(res.sensors), f
