"""Campaigns of real scenarios reproduce the closed-form defense arithmetic.

Oracle: ../shared/reference/defense_math.json (Wilkening 2000, and the GMD test record): each
case is a scenario (Hwasong-15s from Sohae on Anchorage, GBIs at Fort Greely with the case's
kill probability fixed) run as a campaign through the whole chain (flight, sensors, tracks,
decision, battle); the expected value must lie inside the campaign's 99 % Wilson interval.
The case "P_dtd 0.9" needs a detection-tracking-discrimination probability the engine does not
model; its arithmetic is checked in tests/defense/test_outcome.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmdsim.campaign import run_campaign
from bmdsim.defense.outcome import wilson_interval

Z99 = 2.5758

SCENARIO = """
[scenario]
name = "{name}"
seed = 2017
[policy]
protect = ["USA"]
[[threat]]
missile = "hwasong-15"
launch = "Sohae"
aim = "Anchorage"
count = {count}
[[battery]]
site = "Fort Greely"
rounds = {rounds}
[doctrine]
mode = "{mode}"
shots = {shots}
looks = {looks}
[overrides]
pk = {{ "gbi-ce2" = {p} }}
[dispersion]
pk = false
"""


def _cases(reference_dir):
    return {c["what"]: c for c in json.loads((reference_dir / "defense_math.json").read_text())["cases"]}


def _campaign(tmp_path, trials, **kw):
    kw = {"count": 1, "mode": "salvo", "looks": 1, **kw}
    path = tmp_path / "case.toml"
    path.write_text(SCENARIO.format(name="defense math", **kw))
    return run_campaign(path, trials, chunk_size=trials)


def _inside(k, n, expect):
    lo, hi = wilson_interval(k, n, z=Z99)
    assert lo <= expect <= hi, (k, n, expect, lo, hi)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("what", "shots"),
    [("GMD intercept test record 10 of 18 (through 2017)", 1), ("four GBIs at p = 0.56", 4), ("four shots at p = 0.5", 4)],
)
def test_salvo_kill_probability(tmp_path, reference_dir, what, shots):
    case = _cases(reference_dir)[what]
    n = 1500
    r = _campaign(tmp_path, n, rounds=shots, shots=shots, p=case["p"])
    kills = sum(row["intercepted"] for row in r.rows)
    assert all(row["decision"] == "engage" and row["interceptors_fired"] == shots for row in r.rows)
    expect = case.get("expect_kill", case["p"])
    _inside(kills, n, expect)


@pytest.mark.slow
def test_five_warheads_at_least_one_leaks(tmp_path, reference_dir):
    case = _cases(reference_dir)["five warheads, 0.95 each, chance at least one leaks"]
    n = 600
    r = _campaign(tmp_path, n, count=case["W"], rounds=case["W"], shots=1, p=case["P"])
    trials_with_leak = n - round(r.summary["p_no_leaker"] * n)
    _inside(trials_with_leak, n, case["expect_any_leak"])


@pytest.mark.slow
def test_shoot_look_shoot(tmp_path, reference_dir):
    case = _cases(reference_dir)["shoot-look-shoot 2 + 2 at p = 0.56"]
    n = 1500
    r = _campaign(tmp_path, n, rounds=4, shots=case["n1"], mode="shoot-look-shoot", looks=2, p=case["p"])
    kills = sum(row["intercepted"] for row in r.rows)
    _inside(kills, n, case["expect_kill"])
    fired = np.array([row["interceptors_fired"] for row in r.rows], float)
    assert set(fired) <= {2.0, 4.0}  # a second look only after a miss
    half = Z99 * fired.std(ddof=1) / np.sqrt(n)
    assert abs(fired.mean() - case["expect_shots"]) < half
