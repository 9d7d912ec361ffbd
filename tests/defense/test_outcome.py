"""Monte Carlo intercept outcomes against the closed forms.

Oracle: shared/reference/defense_math.json. Each case is simulated with 200,000 trials and a
fixed seed; the closed form must lie within the estimate's own 99 % interval: Wilson for a
probability, the normal interval of the mean for expected shots and leakers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmdsim.defense.assign import assign
from bmdsim.defense.doctrine import (
    kill_probability,
    layered_kill_probability,
    multi_look,
    no_leaker,
    shoot_look_shoot,
    shots_needed,
    with_detection,
)
from bmdsim.defense.outcome import (
    Z99,
    beta_sspk,
    normal_mean_interval,
    resolve_assignment,
    resolve_looks,
    resolve_salvos,
    resolve_shoot_look_shoot,
    wilson_interval,
)
from bmdsim.errors import BmdsimInputError

N = 200_000


@pytest.fixture(scope="module")
def cases(reference_dir):
    return json.loads((reference_dir / "defense_math.json").read_text())["cases"]


def case(cases, starts: str) -> dict:
    (c,) = [c for c in cases if c["what"].startswith(starts)]
    return c


def assert_in_wilson(successes, n, truth) -> None:
    lo, hi = wilson_interval(int(successes), int(n))
    assert lo <= truth <= hi, f"{truth} outside 99% Wilson [{lo:.5f}, {hi:.5f}] of {successes}/{n}"


def assert_in_mean_interval(samples, truth) -> None:
    m, lo, hi = normal_mean_interval(samples)
    assert lo <= truth <= hi, f"{truth} outside 99% interval [{lo:.5f}, {hi:.5f}] of mean {m:.5f}"


# ---------------------------------------------------------------------------------------------
# defense_math.json, case by case


def test_gmd_record_single_shot(cases):
    # defense_math.json case "GMD intercept test record 10 of 18": one shot at p = 0.5556
    p = case(cases, "GMD intercept test record")["p"]
    o = resolve_salvos(np.random.default_rng(101), p, 1, trials=N)
    assert_in_wilson(o.killed.sum(), N, p)


@pytest.mark.parametrize(("what", "seed"), [("four GBIs at p = 0.56", 102), ("four shots at p = 0.5", 103)])
def test_salvo(cases, what, seed):
    # defense_math.json cases "four GBIs at p = 0.56" and "four shots at p = 0.5"
    c = case(cases, what)
    o = resolve_salvos(np.random.default_rng(seed), c["p"], c["n"], trials=N)
    assert_in_wilson(o.killed.sum(), N, kill_probability(c["p"], c["n"]))
    assert_in_wilson(o.killed.sum(), N, c["expect_kill"])
    assert (o.shots_fired == c["n"]).all()


def test_five_warheads_any_leak(cases):
    # defense_math.json case "five warheads, 0.95 each, chance at least one leaks"
    c = case(cases, "five warheads")
    o = resolve_salvos(np.random.default_rng(104), np.full(c["W"], c["P"]), 1, trials=N)
    assert o.killed.shape == (N, c["W"])
    assert_in_wilson((~o.no_leaker).sum(), N, 1 - c["P"] ** c["W"])
    assert_in_wilson((~o.no_leaker).sum(), N, c["expect_any_leak"])
    assert_in_mean_interval(o.leakers, c["W"] * (1 - c["P"]))  # expected leakers W (1 - P)


def test_shoot_look_shoot(cases):
    # defense_math.json case "shoot-look-shoot 2 + 2 at p = 0.56": kill probability and expected shots
    c = case(cases, "shoot-look-shoot 2 + 2")
    o = resolve_shoot_look_shoot(np.random.default_rng(105), c["p"], [c["n1"], c["n2"]], trials=N)
    kill, shots = shoot_look_shoot(c["p"], c["n1"], c["n2"])
    assert_in_wilson(o.killed.sum(), N, kill)
    assert_in_wilson(o.killed.sum(), N, c["expect_kill"])
    assert_in_mean_interval(o.shots_fired, shots)
    assert_in_mean_interval(o.shots_fired, c["expect_shots"])
    # the second look fires only where the first failed
    first_kill = o.kill_look == 0
    assert (o.shots_fired[first_kill] == c["n1"]).all()
    assert (o.shots_fired[~first_kill] == c["n1"] + c["n2"]).all()


def test_detection_with_five_warheads(cases):
    # defense_math.json case "P_dtd 0.9, 4 shots, SSPK 0.5, 5 warheads": P and P^W
    c = case(cases, "P_dtd 0.9")
    o = resolve_salvos(np.random.default_rng(106), np.full(c["W"], c["SSPK"]), c["n"], p_detect=c["P_dtd"], trials=N)
    P = with_detection(c["P_dtd"], c["SSPK"], c["n"])
    # warheads are independent within a trial: the per-warhead estimate pools N * W outcomes
    assert_in_wilson(o.killed.sum(), o.killed.size, P)
    assert_in_wilson(o.killed.sum(), o.killed.size, c["expect_P"])
    assert_in_wilson(o.no_leaker.sum(), N, no_leaker(P, c["W"]))
    assert_in_wilson(o.no_leaker.sum(), N, c["expect_no_leaker"])
    # undetected warheads are never killed
    assert not (o.killed & ~o.detected).any()


@pytest.mark.parametrize("p", [0.56, 0.5, 0.6, 0.8])
def test_shots_needed(cases, p):
    # defense_math.json case "shots needed for >= 0.97 kill": n reaches 0.97, n - 1 does not
    n = case(cases, "shots needed")["expect"][str(p)]
    assert shots_needed(p, 0.97) == n
    rng = np.random.default_rng(107)
    at_n = resolve_salvos(rng, p, n, trials=N).killed
    below = resolve_salvos(rng, p, n - 1, trials=N).killed
    assert_in_wilson(at_n.sum(), N, kill_probability(p, n))
    assert_in_wilson(below.sum(), N, kill_probability(p, n - 1))
    assert at_n.mean() >= 0.97 > below.mean()


# ---------------------------------------------------------------------------------------------
# the rest of the model


def test_sls_with_detection_shots():
    # closed form of doctrine.multi_look: a detection failure keeps the threat alive, so look 2 fires
    o = resolve_shoot_look_shoot(np.random.default_rng(201), 0.5, [2, 2], p_detect=0.9, trials=N)
    kill, shots = multi_look(0.5, [2, 2], p_dtd=0.9)
    assert_in_wilson(o.killed.sum(), N, kill)
    assert_in_mean_interval(o.shots_fired, shots)


def test_no_fire_when_undetected():
    # with fire_if_undetected=False an undetected threat costs nothing: shots P_dtd (n1 + q^n1 n2)
    o = resolve_shoot_look_shoot(
        np.random.default_rng(202), 0.5, [2, 2], p_detect=0.9, trials=N, fire_if_undetected=False
    )
    assert (o.shots_fired[~o.detected] == 0).all()
    assert_in_mean_interval(o.shots_fired, 0.9 * (2 + 0.25 * 2))


def test_layers_as_looks():
    # independent layers (midcourse 2 x 0.56, then terminal 1 x 0.8): doctrine.layered_kill_probability
    o = resolve_looks(np.random.default_rng(203), [0.56, 0.8], [2, 1], trials=N)
    kill, shots = layered_kill_probability([(0.56, 2), (0.8, 1)])
    assert_in_wilson(o.killed.sum(), N, kill)
    assert_in_mean_interval(o.shots_fired, shots)


def test_per_trial_sspk_from_a_beta():
    # SSPK ~ Beta(mean m, concentration c): one shot kills with m; two shots with
    # 1 - E[(1-p)^2] = 1 - ((1-m)^2 + m(1-m)/(c+1)) (moments of the Beta), not 1 - (1-m)^2
    rng = np.random.default_rng(204)
    m, c = 0.56, 4.0
    sspk = beta_sspk(rng, m, c, size=(N, 1))
    one = resolve_salvos(rng, sspk, 1, trials=N)
    two = resolve_salvos(rng, sspk, 2, trials=N)
    assert_in_wilson(one.killed.sum(), N, m)
    truth = 1 - ((1 - m) ** 2 + m * (1 - m) / (c + 1))
    assert_in_wilson(two.killed.sum(), N, truth)
    lo, hi = wilson_interval(two.killed.sum(), N)
    assert not lo <= kill_probability(m, 2) <= hi  # the correlation is visible


def test_assignment_resolves_to_its_kill_probability():
    # several sites at one threat: 1 - prod_i (1 - p_ij)^n_ij (assign.threat_kill_probability)
    p = np.array([[0.6, 0.7, 0.0], [0.8, 0.5, 0.9]])
    feasible = p > 0
    a = assign([5.0, 3.0, 1.0], p, feasible, [3, 2], 2)
    o = resolve_assignment(np.random.default_rng(205), a.shots, p, trials=N)
    for j in range(3):
        if a.shots[:, j].sum():
            assert_in_wilson(o.killed[:, j].sum(), N, a.kill_probability[j])
        else:
            assert not o.killed[:, j].any()
    np.testing.assert_array_equal(o.shots_fired[0], a.shots.sum(axis=0))


def test_same_seed_same_outcome_and_shapes():
    a = resolve_shoot_look_shoot(np.random.default_rng(7), [0.5, 0.7, 0.9], [1, 2], p_detect=0.95, trials=1000)
    b = resolve_shoot_look_shoot(np.random.default_rng(7), [0.5, 0.7, 0.9], [1, 2], p_detect=0.95, trials=1000)
    for f in ("killed", "shots_fired", "detected", "kill_look"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.killed.shape == a.shots_fired.shape == a.leaked.shape == (1000, 3)
    assert a.leakers.shape == a.no_leaker.shape == (1000,)


def test_common_random_numbers():
    # the draws do not depend on outcomes: a better SSPK never kills fewer, trial by trial
    lo = resolve_salvos(np.random.default_rng(8), 0.4, 3, trials=10_000)
    hi = resolve_salvos(np.random.default_rng(8), 0.6, 3, trials=10_000)
    assert not (lo.killed & ~hi.killed).any()


def test_wilson_interval():
    # Wilson 1927 at 99 %: k = 0 still gives a positive upper bound; k = n a lower bound below 1
    lo, hi = wilson_interval(0, 100)
    assert lo == pytest.approx(0.0, abs=1e-15)
    assert hi == pytest.approx(Z99**2 / (100 + Z99**2))
    lo, hi = wilson_interval(100, 100)
    assert hi == pytest.approx(1.0) and lo < 1
    lo, hi = wilson_interval(np.array([10, 50]), 100)
    assert lo.shape == (2,) and (lo < [0.1, 0.5]).all() and (hi > [0.1, 0.5]).all()
    with pytest.raises(BmdsimInputError):
        wilson_interval(5, 3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sspk": 1.5, "shots": 1, "trials": 10}, "sspk"),
        ({"sspk": 0.5, "shots": -1, "trials": 10}, "shots"),
        ({"sspk": 0.5, "shots": 1, "trials": 0}, "trials"),
        ({"sspk": 0.5, "shots": 1, "trials": 10, "p_detect": 2.0}, "p_detect"),
        ({"sspk": np.full((3, 2), 0.5), "shots": 1, "trials": 10}, "sspk, shots, p_detect"),
    ],
)
def test_bad_input(kwargs, field):
    with pytest.raises(BmdsimInputError) as e:
        resolve_salvos(np.random.default_rng(0), **kwargs)
    assert e.value.field == field
