"""Weapon-target assignment: shots from S sites at T threats, maximising the expected value saved.

Threat j threatens value ``V_j``; site i can engage it only where ``feasible[i, j]`` (a non-empty
engagement window), each shot with single-shot kill probability ``p[i, j]``, independent. With
``n[i, j]`` shots the threat is killed with ``P_j = 1 - prod_i (1 - p_ij)^n_ij`` and the defense
saves ``sum_j V_j P_j`` in expectation (the static WTA problem; Manne 1958, Hosein & Athans 1990).
Site i has ``inventory[i]`` interceptors; a threat gets at most ``max_shots_per_threat`` shots.

Two solvers:

``milp`` (exact): per threat enumerate its allocation patterns, the vectors ``n_.j`` over its
feasible sites with ``sum_i n_ij <= max_shots`` and ``n_ij <= inventory_i``, each with its exact
kill probability; a binary picks at most one pattern per threat ("none" is picking nothing),
subject to every site's inventory. The objective is linear in the binaries, so the MILP optimum
is the optimum of the WTA problem over those patterns (to HiGHS's absolute gap, 1e-6 of the
objective's units; ``mip_rel_gap`` is set to 0). A per-shot cost of 1e-9 of the largest
value (far below any value difference that matters) makes ties prefer fewer shots, so the
answer does not waste interceptors.

Pattern explosion: a threat with k usable sites has ``C(k + m, m)`` patterns (m the shot cap).
Sites with ``p == 0`` are dropped (they never add value). If a threat still has more than
``max_sites_per_threat`` usable sites, or the total exceeds ``max_patterns``, each threat keeps
only its best sites (highest p, ties to the lower index; the kept count lowered until the
total fits). That restricted problem is no longer proven optimal for the full one: the result
says so (``optimal=False``, ``restricted=True``). The greedy solution's own patterns are always
added as columns, so the MILP answer is never worse than greedy even when restricted.

With one threat or one site the problem is separable and the greedy below is exact: ``milp``
then returns the greedy answer without a solver (marked optimal).

``greedy`` (baseline): repeatedly give one shot to the (site, threat) pair of greatest marginal
gain ``V_j S_j p_ij`` (``S_j`` the threat's current survival probability), until no pair with
positive gain has an interceptor and room under the cap. Ties go to the lowest site index, then
the lowest threat index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb
from typing import Literal

import numpy as np
from numba import njit
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import csc_array

from bmdsim.errors import BmdsimInputError

__all__ = ["Assignment", "assign", "expected_value", "solve", "threat_kill_probability"]


@dataclass(frozen=True)
class Assignment:
    """Shots per (site, threat) and what they buy."""

    shots: np.ndarray  # (S, T) int
    expected_value: float  # sum_j V_j P_j
    kill_probability: np.ndarray  # (T,)
    method: str  # 'milp' or 'greedy'
    status: str  # solver's word
    solve_s: float  # wall time of the solve
    optimal: bool  # proven optimal for the full problem
    restricted: bool = False  # milp only: sites per threat were pruned to bound the patterns
    patterns: int = 0  # milp only: number of columns


def threat_kill_probability(shots, p) -> np.ndarray:
    """``P_j = 1 - prod_i (1 - p_ij)^n_ij`` for shots and p of shape (S, T)."""
    return 1.0 - np.prod((1.0 - np.asarray(p, float)) ** np.asarray(shots), axis=0)


def expected_value(values, shots, p) -> float:
    """Expected value saved, ``sum_j V_j P_j``."""
    return float(np.dot(np.asarray(values, float), threat_kill_probability(shots, p)))


def assign(
    values,
    p,
    feasible,
    inventory,
    max_shots_per_threat,
    method: Literal["milp", "greedy"] = "milp",
    *,
    max_shots_per_pair=None,
    max_sites_per_threat: int = 8,
    max_patterns: int = 200_000,
    time_limit_s: float = 60.0,
) -> Assignment:
    """Assign interceptors to threats.

    ``values`` (T,) >= 0; ``p`` (S, T) in [0, 1]; ``feasible`` (S, T) bool; ``inventory`` (S,)
    whole numbers; ``max_shots_per_threat`` a whole number or (T,) of them;
    ``max_shots_per_pair`` (optional) broadcast to (S, T): at most that many shots from site i at
    threat j (a fire unit's doctrine may allow only so many looks). See the module docstring for
    the two methods and the pattern bound of ``milp``.
    """
    V, P, F, inv, cap = _check(values, p, feasible, inventory, max_shots_per_threat)
    pair = np.broadcast_to(
        np.asarray(cap.max(initial=0) if max_shots_per_pair is None else max_shots_per_pair, dtype=np.int64), P.shape
    )
    if np.any(pair < 0):
        raise BmdsimInputError("max_shots_per_pair", int(pair.min()), "whole numbers >= 0")
    return solve(V, P, F, inv, cap, pair, method, max_sites_per_threat=max_sites_per_threat,
                 max_patterns=max_patterns, time_limit_s=time_limit_s)


def solve(
    V: np.ndarray,
    P: np.ndarray,
    F: np.ndarray,
    inv: np.ndarray,
    cap: np.ndarray,
    pair: np.ndarray,
    method: Literal["milp", "greedy"] = "milp",
    *,
    max_sites_per_threat: int = 8,
    max_patterns: int = 200_000,
    time_limit_s: float = 60.0,
) -> Assignment:
    """`assign` on arrays already in its checked form: V (T,) float, P (S, T) float, F (S, T)
    bool, inv (S,) int64, cap (T,) int64, pair (S, T) int64, all valid (for callers that build
    them, such as the battle manager of a campaign, thousands of times a second)."""
    if method == "greedy":
        t = time.perf_counter()
        shots = _greedy(V, P, F, inv, cap, pair)
        return _result(V, P, shots, "greedy", "done", time.perf_counter() - t, optimal=False)
    if method == "milp":
        if int(max_sites_per_threat) < 1:
            raise BmdsimInputError("max_sites_per_threat", max_sites_per_threat, "a whole number >= 1")
        if min(P.shape) <= 1:
            # One threat: maximising 1 - prod (1 - p_i)^n_i is maximising sum n_i (-log(1 - p_i))
            # under a shot cap, a knapsack of unit weights that the best-p-first greedy solves.
            # One site: a separable concave allocation of one budget, which the greedy on
            # marginal gains also solves exactly (Gross 1956; Ibaraki & Katoh 1988, ch. 4).
            # A campaign meets these cases thousands of times a second: no MILP for them.
            t = time.perf_counter()
            shots = _greedy(V, P, F, inv, cap, pair)
            return _result(V, P, shots, "milp", "optimal (one threat or one site: greedy is exact)",
                           time.perf_counter() - t, optimal=True)
        return _milp(V, P, F, inv, cap, pair, int(max_sites_per_threat), int(max_patterns), float(time_limit_s))
    raise BmdsimInputError("method", method, "'milp' or 'greedy'")


# ---------------------------------------------------------------------------------------------


def _check(values, p, feasible, inventory, cap):
    V = np.asarray(values, dtype=float)
    if V.ndim != 1:
        raise BmdsimInputError("values", V.shape, "a 1-d array over threats")
    T = V.size
    if not np.all(np.isfinite(V) & (V >= 0)):
        raise BmdsimInputError("values", V[~(np.isfinite(V) & (V >= 0))][0].item(), "finite and >= 0")
    P = np.asarray(p, dtype=float)
    if P.ndim != 2 or P.shape[1] != T:
        raise BmdsimInputError("p", P.shape, f"shape (sites, {T})")
    S = P.shape[0]
    if not np.all((P >= 0) & (P <= 1)):
        raise BmdsimInputError("p", P[~((P >= 0) & (P <= 1))][0].item(), "probabilities in [0, 1]")
    F = np.asarray(feasible)
    if F.shape != (S, T):
        raise BmdsimInputError("feasible", F.shape, f"shape ({S}, {T})")
    if F.dtype != bool:
        raise BmdsimInputError("feasible", F.dtype, "a boolean array")
    inv = np.asarray(inventory)
    if inv.shape != (S,) or not _whole(inv):
        raise BmdsimInputError("inventory", inventory, f"{S} whole numbers >= 0, one per site")
    c = np.asarray(cap)
    if c.ndim > 1 or (c.ndim == 1 and c.shape != (T,)):
        raise BmdsimInputError("max_shots_per_threat", cap, f"a whole number, or {T} of them")
    c = np.broadcast_to(c, (T,))
    if not _whole(c):
        raise BmdsimInputError("max_shots_per_threat", cap, "a whole number >= 0, or one per threat")
    return V, P, F, inv.astype(np.int64), c.astype(np.int64)


def _whole(a: np.ndarray) -> bool:
    if a.dtype == bool:
        return False
    af = np.asarray(a, dtype=float)
    return bool(np.all(np.isfinite(af) & (af >= 0) & (af == np.floor(af))))


def _result(V, P, shots, method, status, solve_s, optimal, restricted=False, patterns=0) -> Assignment:
    kill = threat_kill_probability(shots, P)
    return Assignment(
        shots=shots,
        expected_value=float(np.dot(V, kill)),
        kill_probability=kill,
        method=method,
        status=status,
        solve_s=solve_s,
        optimal=optimal,
        restricted=restricted,
        patterns=patterns,
    )


def _greedy(V, P, F, inv, cap, pair) -> np.ndarray:
    shots = np.zeros(P.shape, dtype=np.int64)
    if shots.size:
        _greedy_kernel(
            np.ascontiguousarray(V, float), np.ascontiguousarray(P, float), np.ascontiguousarray(F, np.bool_),
            np.ascontiguousarray(inv, np.int64), np.ascontiguousarray(cap, np.int64),
            np.ascontiguousarray(pair, np.int64), shots,
        )
    return shots


@njit(cache=True)
def _greedy_kernel(V, P, F, inv, cap, pair, shots):
    """The greedy of the module docstring into shots (S, T), zero on entry: one shot at a time
    to the first pair (C order: lowest site, then lowest threat) of greatest gain V_j S_j p_ij."""
    S, T = P.shape
    left = inv.copy()
    surv = np.ones(T)
    usable = np.zeros((S, T), np.bool_)
    gain = np.zeros((S, T))
    for i in range(S):
        for j in range(T):
            usable[i, j] = F[i, j] and P[i, j] > 0.0 and V[j] > 0.0 and pair[i, j] > 0
            if usable[i, j] and left[i] > 0 and cap[j] > 0:
                gain[i, j] = V[j] * P[i, j]
    while True:
        bi, bj, g = 0, 0, gain[0, 0]
        for i in range(S):
            for j in range(T):
                if gain[i, j] > g:
                    bi, bj, g = i, j, gain[i, j]
        if not g > 0.0:
            break
        shots[bi, bj] += 1
        left[bi] -= 1
        surv[bj] *= 1.0 - P[bi, bj]
        if left[bi] == 0:
            for j in range(T):
                gain[bi, j] = 0.0
        n = 0
        for i in range(S):
            n += shots[i, bj]
        vs = V[bj] * surv[bj]
        for i in range(S):
            if n >= cap[bj]:
                gain[i, bj] = 0.0
            elif usable[i, bj] and left[i] > 0 and shots[i, bj] < pair[i, bj]:
                gain[i, bj] = vs * P[i, bj]
            else:
                gain[i, bj] = 0.0


@lru_cache(maxsize=64)
def _compositions(k: int, m: int) -> np.ndarray:
    """All vectors of k non-negative integers with sum <= m, as rows (stars and bars)."""
    rows = []
    for bars in combinations(range(m + k), k):
        # k bars among m + k slots: the gaps before each bar are the parts; what is after the
        # last bar is the unused slack, so the parts sum to at most m.
        prev = -1
        row = []
        for b in bars:
            row.append(b - prev - 1)
            prev = b
        rows.append(row)
    out = np.array(rows, dtype=np.int64).reshape(-1, k)
    out.setflags(write=False)
    return out


def _site_lists(V, P, F, inv, cap, k_max: int) -> list[np.ndarray]:
    out = []
    for j in range(P.shape[1]):
        if V[j] <= 0 or cap[j] <= 0:
            out.append(np.zeros(0, dtype=np.int64))
            continue
        sites = np.flatnonzero(F[:, j] & (P[:, j] > 0) & (inv > 0))
        # best sites first; stable sort keeps the lower index on ties
        sites = sites[np.argsort(-P[sites, j], kind="stable")][:k_max]
        out.append(np.sort(sites))
    return out


def _milp(V, P, F, inv, cap, pair, k_max, max_patterns, time_limit_s) -> Assignment:
    t_start = time.perf_counter()
    S, T = P.shape
    greedy = _greedy(V, P, F, inv, cap, pair)
    F = F & (pair > 0)

    full = _site_lists(V, P, F, inv, cap, S)
    k = min(k_max, max((len(s) for s in full), default=0))
    while True:
        sites = _site_lists(V, P, F, inv, cap, k)
        n_pat = sum(comb(len(s) + int(cap[j]), len(s)) for j, s in enumerate(sites) if len(s))
        if n_pat <= max_patterns or k <= 1:
            break
        k -= 1
    restricted = any(len(s) < len(f) for s, f in zip(sites, full))

    cols_threat, cols_n, cols_kill = [], [], []  # per threat: rows of an (npat, S) pattern matrix
    for j in range(T):
        s = sites[j]
        pats = np.zeros((0, S), dtype=np.int64)
        if len(s):
            comp = _compositions(len(s), int(cap[j]))
            comp = comp[np.all(comp <= np.minimum(inv[s], pair[s, j]), axis=1) & (comp.sum(axis=1) > 0)]
            pats = np.zeros((len(comp), S), dtype=np.int64)
            pats[:, s] = comp
        g = greedy[:, j]
        if g.any() and not np.any(np.all(pats == g, axis=1)):
            pats = np.vstack([pats, g[None, :]])
        if len(pats):
            cols_threat.append(np.full(len(pats), j))
            cols_n.append(pats)
            cols_kill.append(1.0 - np.prod((1.0 - P[:, j]) ** pats, axis=1))
    if not cols_n:
        return _result(V, P, np.zeros((S, T), np.int64), "milp", "optimal (nothing to assign)",
                       time.perf_counter() - t_start, optimal=True, restricted=restricted)
    thr = np.concatenate(cols_threat)
    N = np.vstack(cols_n)  # (ncol, S)
    kill = np.concatenate(cols_kill)
    ncol = len(thr)

    eps = 1e-9 * float(V.max())
    c = -(V[thr] * kill) + eps * N.sum(axis=1)
    # rows 0..T-1: one pattern per threat at most; rows T..T+S-1: inventories
    r_thr = thr
    c_thr = np.arange(ncol)
    nz_c, nz_s = np.nonzero(N)
    rows = np.concatenate([r_thr, T + nz_s])
    cols = np.concatenate([c_thr, nz_c])
    data = np.concatenate([np.ones(ncol), N[nz_c, nz_s].astype(float)])
    A = csc_array((data, (rows, cols)), shape=(T + S, ncol))
    ub = np.concatenate([np.ones(T), inv.astype(float)])
    res = milp(
        c,
        integrality=np.ones(ncol),
        bounds=(0, 1),
        constraints=LinearConstraint(A, -np.inf, ub),
        options={"mip_rel_gap": 0.0, "time_limit": time_limit_s, "presolve": True},
    )
    if res.x is None:
        shots, status, optimal = greedy, f"milp gave no solution ({res.message}); greedy used", False
    else:
        x = np.rint(res.x).astype(bool)
        shots = np.zeros((S, T), dtype=np.int64)
        np.add.at(shots.T, thr[x], N[x])
        optimal = res.status == 0 and not restricted
        status = "optimal" if res.status == 0 else str(res.message)
        if restricted:
            status += f" (restricted to the best {k} sites per threat)"
        # the MILP holds greedy's columns; this guards only against solver tolerance
        if expected_value(V, greedy, P) > expected_value(V, shots, P) + 1e-9 * max(1.0, float(V.sum())):
            shots, status = greedy, status + "; greedy kept (solver tolerance)"
    return _result(V, P, shots, "milp", status, time.perf_counter() - t_start, optimal, restricted, ncol)
