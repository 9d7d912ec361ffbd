"""Closed forms of shot doctrine and the planning of looks.

Oracle: shared/reference/defense_math.json ("exact to the printed digits"): each expected number
is read with its printed digits (Decimal) and the closed form, rounded to those digits, must
equal it.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmdsim.defense.doctrine import (
    Doctrine,
    PlannedLook,
    any_leaker,
    expected_leakers,
    kill_probability,
    layered_kill_probability,
    multi_look,
    no_leaker,
    plan_kill_and_shots,
    shoot_look_shoot,
    shots_needed,
    with_detection,
)
from bmdsim.errors import BmdsimInputError


@pytest.fixture(scope="module")
def cases(reference_dir):
    data = json.loads((reference_dir / "defense_math.json").read_text(), parse_float=Decimal)
    return data["cases"]


def case(cases, starts: str) -> dict:
    (c,) = [c for c in cases if c["what"].startswith(starts)]
    return c


def assert_printed(value, expected: Decimal) -> None:
    """``value`` rounded to the digits printed in ``expected`` equals it."""
    digits = -expected.as_tuple().exponent
    assert round(float(value), digits) == float(expected), (float(value), expected)


# ---------------------------------------------------------------------------------------------
# defense_math.json, case by case


def test_gmd_record(cases):
    # defense_math.json case "GMD intercept test record 10 of 18": p = 10/18 to the printed digits
    assert_printed(10 / 18, case(cases, "GMD intercept test record")["p"])
    assert_printed(kill_probability(10 / 18, 1), case(cases, "GMD intercept test record")["p"])


@pytest.mark.parametrize("what", ["four GBIs at p = 0.56", "four shots at p = 0.5"])
def test_salvo(cases, what):
    # defense_math.json cases "four GBIs at p = 0.56", "four shots at p = 0.5": 1 - (1-p)^n
    c = case(cases, what)
    assert_printed(kill_probability(float(c["p"]), c["n"]), c["expect_kill"])


def test_five_warheads_any_leak(cases):
    # defense_math.json case "five warheads, 0.95 each, chance at least one leaks": 1 - P^W
    c = case(cases, "five warheads")
    assert_printed(any_leaker(float(c["P"]), c["W"]), c["expect_any_leak"])
    assert_printed(1 - no_leaker(float(c["P"]), c["W"]), c["expect_any_leak"])
    assert expected_leakers(float(c["P"]), c["W"]) == pytest.approx(0.25)  # W (1 - P)


def test_shoot_look_shoot(cases):
    # defense_math.json case "shoot-look-shoot 2 + 2 at p = 0.56": kill 1-(1-p)^4, shots n1 + (1-p)^n1 n2
    c = case(cases, "shoot-look-shoot 2 + 2")
    kill, shots = shoot_look_shoot(float(c["p"]), c["n1"], c["n2"])
    assert_printed(kill, c["expect_kill"])
    assert_printed(shots, c["expect_shots"])


def test_detection_and_warheads(cases):
    # defense_math.json case "P_dtd 0.9, 4 shots, SSPK 0.5, 5 warheads": P = P_dtd (1-(1-SSPK)^n), P^W
    c = case(cases, "P_dtd 0.9")
    P = with_detection(float(c["P_dtd"]), float(c["SSPK"]), c["n"])
    assert_printed(P, c["expect_P"])
    assert_printed(no_leaker(P, c["W"]), c["expect_no_leaker"])


def test_shots_needed(cases):
    # defense_math.json case "shots needed for >= 0.97 kill"
    c = case(cases, "shots needed")
    ps = np.array([float(p) for p in c["expect"]])
    want = np.array(list(c["expect"].values()))
    np.testing.assert_array_equal(shots_needed(ps, 0.97), want)
    for p, n in zip(ps, want):
        assert shots_needed(p, 0.97) == n


# ---------------------------------------------------------------------------------------------
# properties of the closed forms


@given(st.floats(0, 1), st.integers(0, 30), st.integers(0, 30))
def test_sls_kill_equals_salvo_of_all_shots(p, n1, n2):
    # defense_math.json formulas: SLS kill equals 1 - (1-p)^(n1+n2); fewer shots expected than fired
    kill, shots = shoot_look_shoot(p, n1, n2)
    assert kill == pytest.approx(kill_probability(p, n1 + n2), abs=1e-15)
    assert n1 - 1e-12 <= shots <= n1 + n2 + 1e-12


@given(st.floats(0.001, 1), st.floats(0, 0.9999))
def test_shots_needed_is_the_smallest(p, target):
    n = shots_needed(p, target)
    assert kill_probability(p, n) >= target
    if n > 0:
        assert kill_probability(p, n - 1) < target


def test_shots_needed_exact_boundary():
    # 1 - 0.5^2 = 0.75 exactly: two shots, not three
    assert shots_needed(0.5, 0.75) == 2
    assert shots_needed(1.0, 0.99) == 1
    assert shots_needed(0.3, 0.0) == 0


def test_vectorised_shapes():
    p = np.linspace(0.1, 0.9, 5)[:, None]
    n = np.arange(4)[None, :]
    assert kill_probability(p, n).shape == (5, 4)
    k, s = shoot_look_shoot(p, n, 2)
    assert k.shape == s.shape == (5, 4)
    assert with_detection(0.9, p, n).shape == (5, 4)


def test_layered_two_layers():
    # independent layers: 1 - (1-p1)^n1 (1-p2)^n2; shots n1 + (1-p1)^n1 n2 (same algebra as SLS)
    kill, shots = layered_kill_probability([(0.56, 2), (0.8, 1)])
    assert kill == pytest.approx(1 - 0.44**2 * 0.2, abs=1e-15)
    assert shots == pytest.approx(2 + 0.44**2, abs=1e-15)
    k2, s2 = layered_kill_probability([(0.56, 2), (0.56, 2)])
    assert (k2, s2) == pytest.approx(shoot_look_shoot(0.56, 2, 2), abs=1e-15)


def test_multi_look_with_detection():
    # a detection failure persists: kill P_dtd (1-q^4), shots 2 + (1 - P_dtd (1 - q^2)) 2
    kill, shots = multi_look(0.5, [2, 2], p_dtd=0.9)
    assert kill == pytest.approx(0.9 * (1 - 0.5**4))
    assert shots == pytest.approx(2 + (1 - 0.9 * 0.75) * 2)


@pytest.mark.parametrize(
    ("fn", "args", "field"),
    [
        (kill_probability, (1.2, 3), "p"),
        (kill_probability, (0.5, -1), "n"),
        (kill_probability, (0.5, 1.5), "n"),
        (no_leaker, (np.nan, 3), "P"),
        (shots_needed, (0.0, 0.5), "target"),
        (shots_needed, (0.5, 1.0), "target"),
    ],
)
def test_bad_input_names_the_field(fn, args, field):
    with pytest.raises(BmdsimInputError) as e:
        fn(*args)
    assert e.value.field == field


# ---------------------------------------------------------------------------------------------
# planning looks


SLS = Doctrine(mode="shoot-look-shoot", shots=2, looks=2, kill_assessment_s=30.0)


def test_sls_two_looks_in_a_long_window():
    looks = SLS.plan(window_start_s=600.0, window_end_s=1200.0, flyout_s=300.0, launch_ready_s=0.0)
    assert looks == (PlannedLook(300.0, 600.0, 2), PlannedLook(630.0, 930.0, 2))
    # the second launch waits for the first intercept and its kill assessment
    assert looks[1].launch_s == looks[0].intercept_s + SLS.kill_assessment_s


def test_sls_one_look_in_a_short_window_fires_the_whole_salvo():
    looks = SLS.plan(window_start_s=600.0, window_end_s=900.0, flyout_s=300.0, launch_ready_s=0.0)
    assert looks == (PlannedLook(300.0, 600.0, 4),)  # fallback 'full-salvo': 2 x 2 in the first look
    fewer = SLS.model_copy(update={"fallback": "fewer-looks"})
    assert fewer.plan(600.0, 900.0, 300.0, 0.0) == (PlannedLook(300.0, 600.0, 2),)


def test_sls_boundary_exactly_fits():
    # second intercept 600 + 30 + 300 = 930: fits a window ending at 930, not one ending at 929
    assert len(SLS.plan(600.0, 930.0, 300.0, 0.0)) == 2
    assert len(SLS.plan(600.0, 929.0, 300.0, 0.0)) == 1


def test_three_looks_fallback_merges_the_rest():
    d = Doctrine(mode="shoot-look-shoot", shots=1, looks=3, kill_assessment_s=10.0)
    looks = d.plan(100.0, 300.0, 100.0, 0.0)  # 100, 210, (320 does not fit)
    assert [(lk.intercept_s, lk.shots) for lk in looks] == [(100.0, 1), (210.0, 2)]


def test_salvo_one_look_and_late_readiness():
    d = Doctrine(mode="salvo", shots=4)
    assert d.plan(600.0, 1200.0, 300.0, 0.0) == (PlannedLook(300.0, 600.0, 4),)
    # ready late: intercept at ready + flyout inside the window
    assert d.plan(600.0, 1200.0, 300.0, 500.0) == (PlannedLook(500.0, 800.0, 4),)
    # too late: no look
    assert d.plan(600.0, 700.0, 300.0, 500.0) == ()


def test_empty_window_gives_no_looks():
    assert SLS.plan(700.0, 600.0, 100.0, 0.0) == ()
    assert SLS.plan(np.nan, np.nan, 100.0, 0.0) == ()


def test_callable_flyout():
    # flyout grows with the intercept time: t - (200 + 0.1 t) >= ready
    looks = SLS.plan(100.0, 1000.0, lambda t: 200.0 + 0.1 * t, 0.0)
    assert len(looks) == 2
    for lk in looks:
        assert lk.launch_s + 200.0 + 0.1 * lk.intercept_s == pytest.approx(lk.intercept_s, abs=1e-6)
    assert looks[0].intercept_s == pytest.approx(200.0 / 0.9, abs=1e-6)
    assert looks[0].launch_s >= 0.0
    assert looks[1].launch_s >= looks[0].intercept_s + 30.0 - 1e-6


def test_plan_kill_and_shots_matches_sls():
    # defense_math.json case "shoot-look-shoot 2 + 2 at p = 0.56" through a plan
    looks = SLS.plan(600.0, 1200.0, 300.0, 0.0)
    assert plan_kill_and_shots(0.56, looks) == pytest.approx((0.96251904, 2.3872))


def test_doctrine_is_validated_and_frozen():
    with pytest.raises(ValueError):
        Doctrine(mode="hope")
    with pytest.raises(ValueError):
        Doctrine(shots=0)
    with pytest.raises(ValueError):
        SLS.shots = 3
    with pytest.raises(BmdsimInputError):
        SLS.plan(0.0, 100.0, -5.0, 0.0)
