"""The batched campaign engine (campaign.batch) against the single-run engine, and its dispersions.

Oracles: the single-run engine (`engine.run.run_scenario`, sampled impact predictions) on the same
seeds: the same detections (each object's noise stream is the one the single run gives that
threat), so the same decisions within one assessment epoch and the same shots and kills; the
dispersions against their own definitions (spread of aim points, launch points, burnout speeds).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bmdsim.campaign.batch import ASSESS_EVERY_S, _draw, _fly_truth, run_batch
from bmdsim.campaign.runner import check_dispersion, run_trial, trial_seed, trial_seed_sequences
from bmdsim.earth import frames, geodesy
from bmdsim.engine.run import run_scenario
from bmdsim.engine.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NO_PK = check_dispersion({"pk": False})


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["alaska_hwasong15", "hokkaido_overflight_2017", "guam_salvo_defense", "seoul_layered_nodong"]
)
def test_a_trial_equals_the_single_run_engine(name):
    resolved = load_scenario(SCENARIOS / f"{name}.toml").resolved()
    seed = trial_seed(resolved.seed, 0)
    single = run_scenario(
        resolved.name, seed, resolved.threat_specs(), resolved.sensors, resolved.batteries, resolved.policy,
        resolved.doctrine_map(),
    )
    rows = run_batch(resolved, [0], resolved.seed, NO_PK)
    assert len(rows) == len(single.assessments)
    for row, spec, a, o in zip(rows, single.threats, single.assessments, single.battle.outcomes):
        assert row["decision"] == a.decision.decision, row["threat"]
        if a.decision.declared_at_s is None:
            assert math.isnan(row["declared_at_s"])
        else:
            # rows are on the scenario's clock, a threat's assessments on its own
            assert abs(row["declared_at_s"] - (spec.time_s + a.decision.declared_at_s)) <= ASSESS_EVERY_S, row["threat"]
        assert row["interceptors_fired"] == o.interceptors_fired, row["threat"]
        assert row["intercepted"] == o.intercepted, row["threat"]


ALASKA = """
[scenario]
name = "Alaska"
seed = 5
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
[dispersion]
launch_time_s = 20
launch_site_km = 3
aim_km = 15
performance = 0.02
sensor_noise = 0.3
pk = true
"""


def test_a_trial_alone_equals_it_in_a_chunk_with_every_dispersion():
    resolved = parse_scenario(ALASKA).resolved()
    d = check_dispersion(resolved.dispersion)
    chunk = run_batch(resolved, [0, 1, 2], 5, d)
    alone = run_trial(resolved, 2, 5, d)
    assert json.dumps(alone) == json.dumps([r for r in chunk if r["trial"] == 2])
    assert json.dumps(run_batch(resolved, [2, 0], 5, d)) == json.dumps([chunk[2], chunk[0]])  # the order given


def _draws(resolved, n, d):
    rngs = [np.random.default_rng(trial_seed_sequences(9, k)[1]) for k in range(n)]
    return _draw(resolved, resolved.threat_specs(), rngs, check_dispersion(d))


def test_aim_and_site_dispersions_move_the_impact_and_launch_points():
    """aim_km = 20: impacts scatter about the aim point with a 20 km sigma east and north (the
    guidance's one Newton step leaves a miss far smaller); launch_site_km = 5 likewise."""
    resolved = parse_scenario(ALASKA.replace("[dispersion]", "[dispersion]\n").split("[dispersion]")[0]).resolved()
    n = 80
    d = _draws(resolved, n, {"aim_km": 20.0, "launch_site_km": 5.0})
    truth = _fly_truth(resolved.threat_specs(), d)
    aim = resolved.threats[0].aim
    lat, lon = truth.impact_lat_lon_deg
    basis = frames.enu_basis(aim.lat_deg, aim.lon_deg).reshape(3, 3)
    off = (frames.geodetic_to_ecef(lat, lon, 0.0) - frames.geodetic_to_ecef(aim.lat_deg, aim.lon_deg, 0.0)) @ basis[:2].T
    miss = off - d.aim_en_m[:, 0]
    assert np.percentile(np.hypot(*miss.T), 90) < 3000.0  # m: the guidance meets its own aim point
    for axis in range(2):
        assert 0.75 * 20e3 < off[:, axis].std() < 1.3 * 20e3
        assert abs(off[:, axis].mean()) < 3 * 20e3 / math.sqrt(n)
    launch = resolved.threats[0].launch
    dist = geodesy.inverse(launch.lat_deg, launch.lon_deg, truth.launch_lat_deg, truth.launch_lon_deg)[0]
    np.testing.assert_allclose(dist, np.hypot(*d.site_en_m[:, 0].T), atol=1.0)


def test_performance_dispersion_changes_the_boost():
    resolved = parse_scenario(ALASKA.split("[dispersion]")[0]).resolved()
    d = _draws(resolved, 40, {"performance": 0.02})
    truth = _fly_truth(resolved.threat_specs(), d)
    f = d.performance[:, 0]
    assert 0.01 < f.std() < 0.03
    # more thrust and Isp, faster at burnout: the speeds follow the factors
    v = truth.burnout_speed_mps
    assert np.corrcoef(f, v)[0, 1] > 0.9


def test_draws_are_per_trial_and_fixed_pk_is_kept():
    resolved = parse_scenario(ALASKA).resolved()
    d = _draws(resolved, 3, resolved.dispersion)
    pks = d.sspk[:, 0].tolist()
    assert d.sspk.shape == (3, len(resolved.batteries))
    assert len(set(pks)) == 3 and all(0 < p < 1 for p in pks)
    assert (np.abs(d.time_shift_s) <= 20).all() and d.noise.shape == (3, len(resolved.sensors))
    assert len(np.unique(d.noise)) == d.noise.size
    fixed = parse_scenario(ALASKA + '\n[overrides]\npk = { "gbi-ce2" = 0.5 }\n').resolved()
    d2 = _draws(fixed, 2, fixed.dispersion)
    assert d2.sspk[:, 0].tolist() == [0.5, 0.5]
    # the same trial draws the same, whatever else is in the chunk
    again = _draws(resolved, 2, resolved.dispersion)
    np.testing.assert_array_equal(again.aim_en_m, d.aim_en_m[:2])
