"""Weapon-target assignment: the MILP optimum against brute force, and against greedy.

Oracle: brute-force enumeration of every shot matrix on small raids (an independent
implementation of sum_j V_j (1 - prod_i (1 - p_ij)^n_ij) over all feasible allocations).
Values agree to 1e-6 (HiGHS's absolute MIP gap).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmdsim.defense.assign import assign, expected_value
from bmdsim.errors import BmdsimInputError

TOL = 1e-6


def brute_force(values, p, feasible, inventory, cap) -> float:
    S, T = p.shape
    cells = [(i, j) for i in range(S) for j in range(T) if feasible[i, j]]
    best = 0.0
    for counts in itertools.product(range(cap + 1), repeat=len(cells)):
        n = np.zeros((S, T), dtype=int)
        for (i, j), c in zip(cells, counts):
            n[i, j] = c
        if (n.sum(axis=0) > cap).any() or (n.sum(axis=1) > inventory).any():
            continue
        v = sum(values[j] * (1 - np.prod([(1 - p[i, j]) ** n[i, j] for i in range(S)])) for j in range(T))
        best = max(best, v)
    return best


@st.composite
def raids(draw, max_cells: int = 9, max_cap: int = 2):
    S = draw(st.integers(1, 3))
    T = draw(st.integers(1, max(1, max_cells // S)))
    prob = st.floats(0.0, 1.0, allow_nan=False)
    p = np.array(draw(st.lists(prob, min_size=S * T, max_size=S * T))).reshape(S, T)
    feasible = np.array(draw(st.lists(st.booleans(), min_size=S * T, max_size=S * T))).reshape(S, T)
    values = np.array(draw(st.lists(st.floats(0.0, 10.0), min_size=T, max_size=T)))
    inventory = np.array(draw(st.lists(st.integers(0, 4), min_size=S, max_size=S)))
    cap = draw(st.integers(0, max_cap))
    return values, p, feasible, inventory, cap


def check_valid(a, values, p, feasible, inventory, cap):
    assert a.shots.dtype.kind == "i" and (a.shots >= 0).all()
    assert (a.shots.sum(axis=1) <= inventory).all(), "inventory exceeded"
    assert (a.shots.sum(axis=0) <= cap).all(), "per-threat cap exceeded"
    assert not a.shots[~feasible].any(), "infeasible pair assigned"
    assert a.expected_value == pytest.approx(expected_value(values, a.shots, p), abs=1e-12)
    np.testing.assert_allclose(a.kill_probability, 1 - np.prod((1 - p) ** a.shots, axis=0))


@settings(max_examples=150, deadline=None)
@given(raids())
def test_milp_equals_brute_force_and_beats_greedy(raid):
    values, p, feasible, inventory, cap = raid
    m = assign(values, p, feasible, inventory, cap, method="milp")
    g = assign(values, p, feasible, inventory, cap, method="greedy")
    for a in (m, g):
        check_valid(a, values, p, feasible, inventory, cap)
    assert m.optimal and not m.restricted
    assert m.expected_value == pytest.approx(brute_force(values, p, feasible, inventory, cap), abs=TOL)
    assert m.expected_value >= g.expected_value - TOL


@settings(max_examples=60, deadline=None)
@given(raids(max_cells=12, max_cap=4))
def test_milp_never_below_greedy_even_when_restricted(raid):
    # max_sites_per_threat=1 prunes hard; greedy's own patterns are kept as columns
    values, p, feasible, inventory, cap = raid
    m = assign(values, p, feasible, inventory, cap, method="milp", max_sites_per_threat=1)
    g = assign(values, p, feasible, inventory, cap, method="greedy")
    check_valid(m, values, p, feasible, inventory, cap)
    assert m.expected_value >= g.expected_value - TOL


def test_known_raid_where_greedy_is_suboptimal():
    # Site 0 (p 0.9 at both threats) has one interceptor; site 1 reaches threat 0 only, p 0.5.
    # Greedy spends site 0 on threat 0 (gain 9 > 8.1), then site 1 too: 10 (1 - 0.1 * 0.5) = 9.5,
    # threat 1 unengaged; the optimum gives site 0 to threat 1: 10 * 0.5 + 9 * 0.9 = 13.1.
    values = np.array([10.0, 9.0])
    p = np.array([[0.9, 0.9], [0.5, 0.0]])
    feasible = np.array([[True, True], [True, False]])
    inventory = np.array([1, 1])
    g = assign(values, p, feasible, inventory, 2, method="greedy")
    m = assign(values, p, feasible, inventory, 2, method="milp")
    assert g.expected_value == pytest.approx(10 * (1 - 0.1 * 0.5))
    assert m.expected_value == pytest.approx(10 * 0.5 + 9 * 0.9)
    assert m.expected_value == pytest.approx(brute_force(values, p, feasible, inventory, 2))
    np.testing.assert_array_equal(m.shots, [[0, 1], [1, 0]])


def test_larger_brute_force_instance():
    rng = np.random.default_rng(3)
    S, T, cap = 2, 4, 3
    p = rng.uniform(0.5, 0.9, (S, T))
    feasible = rng.random((S, T)) < 0.7
    values = rng.uniform(1, 10, T)
    inventory = np.array([3, 4])
    m = assign(values, p, feasible, inventory, cap)
    assert m.expected_value == pytest.approx(brute_force(values, p, feasible, inventory, cap), abs=TOL)


def test_no_wasted_shots_and_deterministic():
    # abundant inventory, p = 0 at one feasible pair, a zero-value threat: nothing spent on them
    values = np.array([5.0, 0.0, 3.0])
    p = np.array([[0.7, 0.8, 0.0], [0.6, 0.6, 0.9]])
    feasible = np.ones((2, 3), dtype=bool)
    for method in ("milp", "greedy"):
        a = assign(values, p, feasible, [10, 10], 3, method=method)
        assert a.shots[:, 1].sum() == 0
        assert a.shots[0, 2] == 0
        b = assign(values, p, feasible, [10, 10], 3, method=method)
        np.testing.assert_array_equal(a.shots, b.shots)


def test_greedy_tie_breaks_to_lowest_site_then_threat():
    a = assign([1.0, 1.0], np.full((2, 2), 0.5), np.ones((2, 2), bool), [1, 1], 1, method="greedy")
    np.testing.assert_array_equal(a.shots, [[1, 0], [0, 1]])


def test_per_threat_caps_and_pattern_bound():
    rng = np.random.default_rng(5)
    S, T = 10, 6
    p = rng.uniform(0.5, 0.9, (S, T))
    feasible = np.ones((S, T), bool)
    values = rng.uniform(1, 10, T)
    caps = np.array([0, 1, 2, 3, 4, 5])
    a = assign(values, p, feasible, np.full(S, 2), caps, max_sites_per_threat=4, max_patterns=2_000)
    assert a.restricted and not a.optimal and "restricted" in a.status
    assert a.patterns <= 2_000 + T  # plus greedy's columns
    check_valid(a, values, p, feasible, np.full(S, 2), caps)
    full = assign(values, p, feasible, np.full(S, 2), caps, max_sites_per_threat=S)
    assert full.optimal and full.expected_value >= a.expected_value - TOL


def test_empty_and_degenerate():
    a = assign(np.zeros(0), np.zeros((2, 0)), np.zeros((2, 0), bool), [1, 1], 2)
    assert a.shots.shape == (2, 0) and a.expected_value == 0.0
    b = assign([3.0], [[0.5]], [[False]], [5], 2)
    assert b.shots.sum() == 0 and b.optimal


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"values": [-1.0, 1.0]}, "values"),
        ({"p": [[0.5, 1.5]]}, "p"),
        ({"p": [[0.5, 0.5, 0.5]]}, "p"),
        ({"feasible": [[1, 1]]}, "feasible"),
        ({"inventory": [2.5]}, "inventory"),
        ({"max_shots_per_threat": -1}, "max_shots_per_threat"),
        ({"method": "simplex"}, "method"),
    ],
)
def test_bad_input(kwargs, field):
    args = {
        "values": [1.0, 2.0],
        "p": [[0.5, 0.6]],
        "feasible": [[True, True]],
        "inventory": [2],
        "max_shots_per_threat": 2,
    } | kwargs
    with pytest.raises(BmdsimInputError) as e:
        assign(**args)
    assert e.value.field == field


def test_pair_cap_spreads_shots_over_sites():
    # a fire unit whose doctrine allows one look can take one shot; the second must come from
    # the other unit (layered defense), for both solvers
    from bmdsim.defense.assign import assign as _assign

    p = np.array([[0.75], [0.75]])
    for method in ("milp", "greedy"):
        a = _assign(np.ones(1), p, np.ones((2, 1), bool), np.array([2, 24]), 2, method=method, max_shots_per_pair=1)
        assert a.shots.tolist() == [[1], [1]]
        assert a.expected_value == pytest.approx(1 - 0.25**2)


@st.composite
def separable_raids(draw):
    """One threat over several sites, or one site over several threats: the fast path."""
    one_threat = draw(st.booleans())
    n = draw(st.integers(1, 4))
    S, T = (n, 1) if one_threat else (1, n)
    prob = st.floats(0.0, 1.0, allow_nan=False)
    p = np.array(draw(st.lists(prob, min_size=S * T, max_size=S * T))).reshape(S, T)
    feasible = np.array(draw(st.lists(st.booleans(), min_size=S * T, max_size=S * T))).reshape(S, T)
    values = np.array(draw(st.lists(st.floats(0.0, 10.0), min_size=T, max_size=T)))
    inventory = np.array(draw(st.lists(st.integers(0, 5), min_size=S, max_size=S)))
    cap = draw(st.integers(0, 3))
    return values, p, feasible, inventory, cap


@settings(max_examples=200, deadline=None)
@given(separable_raids())
def test_separable_fast_path_is_optimal(raid):
    """milp answers one-threat and one-site raids with the greedy (exact there): brute force agrees."""
    values, p, feasible, inventory, cap = raid
    m = assign(values, p, feasible, inventory, cap, method="milp")
    check_valid(m, values, p, feasible, inventory, cap)
    assert m.method == "milp" and m.optimal
    assert m.expected_value == pytest.approx(brute_force(values, p, feasible, inventory, cap), abs=1e-12)


def _greedy_reference(V, P, F, inv, cap, pair):
    """The greedy of the module docstring written plainly on arrays (the compiled kernel's
    oracle): one shot at a time to the first (site, threat) of greatest V_j S_j p_ij."""
    S, T = P.shape
    shots = np.zeros((S, T), dtype=np.int64)
    left = np.array(inv, dtype=np.int64)
    surv = np.ones(T)
    usable = F & (P > 0) & (V > 0)[None, :] & (pair > 0)
    while True:
        room = usable & (left > 0)[:, None] & (shots < pair) & (shots.sum(axis=0) < cap)[None, :]
        gain = np.where(room, V * surv * P, 0.0)
        if gain.size == 0 or gain.max() <= 0.0:
            return shots
        i, j = divmod(int(np.argmax(gain)), T)
        shots[i, j] += 1
        left[i] -= 1
        surv[j] *= 1.0 - P[i, j]


@settings(max_examples=200, deadline=None)
@given(raids(max_cells=12, max_cap=4), st.integers(1, 3))
def test_greedy_kernel_equals_plain_reference(raid, looks):
    from bmdsim.defense.assign import solve

    values, p, feasible, inventory, cap = raid
    # coarse probabilities make ties common: the tie-break (lowest site, then threat) is tested
    p = np.round(p * 4) / 4
    S, T = p.shape
    pair = np.full((S, T), looks, np.int64)
    caps = np.full(T, cap, np.int64)
    a = solve(np.asarray(values, float), p, feasible, np.asarray(inventory, np.int64), caps, pair, "greedy")
    np.testing.assert_array_equal(a.shots, _greedy_reference(np.asarray(values, float), p, feasible, inventory, caps, pair))
