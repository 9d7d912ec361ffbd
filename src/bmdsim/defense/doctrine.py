"""Shot doctrine: closed forms of independent shots, and the planning of looks in a window.

Closed forms (Wilkening, "A Simple Model for Calculating Ballistic Missile Defense
Effectiveness", Science & Global Security 8(2), 2000; the figures of the public GMD debate are
in ``shared/reference/defense_math.json``):

- kill with n independent shots of single-shot kill probability p: ``1 - (1 - p)^n``;
- per warhead, with detection, tracking and discrimination ``P_dtd``: ``P_dtd (1 - (1 - SSPK)^n)``;
- no leaker among W independent warheads: ``P^W``; expected leakers ``W (1 - P)``;
- shoot-look-shoot with perfect kill assessment: kill ``1 - (1 - p)^(n1 + n2)``, expected shots
  ``n1 + (1 - p)^n1 n2``.

Every function broadcasts over numpy arrays (trials, threats, whatever the caller stacks) and
returns a numpy scalar for scalar input.

``P_dtd`` and shoot-look-shoot: a failure of detection, tracking or discrimination is drawn once
per threat and is persistent (the same decoy is chased in every look), so the kill assessment
sees the warhead alive and the next look fires. Hence with ``P_dtd`` the kill probability is
``P_dtd (1 - (1 - p)^N)`` and the shots are ``n1 + (1 - P_dtd (1 - (1 - p)^n1)) n2``;
``bmdsim.defense.outcome`` draws exactly this model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bmdsim.errors import BmdsimInputError

__all__ = [
    "Doctrine",
    "PlannedLook",
    "any_leaker",
    "expected_leakers",
    "kill_probability",
    "layered_kill_probability",
    "multi_look",
    "no_leaker",
    "plan_kill_and_shots",
    "shoot_look_shoot",
    "shots_needed",
    "with_detection",
]


# ---------------------------------------------------------------------------------------------
# input checks


def _prob(field: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    bad = ~((a >= 0.0) & (a <= 1.0))  # NaN is bad too
    if bad.any():
        raise BmdsimInputError(field, a[bad].flat[0].item(), "a probability in [0, 1]")
    return a


def _count(field: str, n) -> np.ndarray:
    a = np.asarray(n)
    if a.dtype.kind in "iu":
        bad = a < 0
    else:
        af = a.astype(float)
        bad = ~((af >= 0) & (af == np.floor(af)))
    if bad.any():
        raise BmdsimInputError(field, a[bad].flat[0].item(), "a non-negative whole number")
    return a.astype(np.int64)


def _out(a: np.ndarray):
    return a[()] if isinstance(a, np.ndarray) else a


# ---------------------------------------------------------------------------------------------
# closed forms


def kill_probability(p, n):
    """Kill probability of ``n`` independent shots of single-shot kill probability ``p``: 1-(1-p)^n."""
    p = _prob("p", p)
    n = _count("n", n)
    return _out(1.0 - (1.0 - p) ** n)


def with_detection(p_dtd, sspk, n):
    """Per-warhead kill probability with detection, tracking and discrimination:
    ``P_dtd (1 - (1 - SSPK)^n)`` (Wilkening 2000, eq. 1)."""
    p_dtd = _prob("p_dtd", p_dtd)
    return _out(p_dtd * kill_probability(sspk, n))


def no_leaker(P, W):
    """Probability that none of ``W`` independent warheads, each killed with ``P``, leaks: P^W."""
    P = _prob("P", P)
    W = _count("W", W)
    return _out(P**W)


def any_leaker(P, W):
    """Probability that at least one of ``W`` warheads leaks: 1 - P^W."""
    return _out(1.0 - np.asarray(no_leaker(P, W)))


def expected_leakers(P, W):
    """Expected number of leakers among ``W`` warheads each killed with ``P``: W (1 - P)."""
    P = _prob("P", P)
    W = _count("W", W)
    return _out(W * (1.0 - P))


def multi_look(p, shots_per_look: Sequence, p_dtd=1.0):
    """Kill probability and expected shots of several looks with perfect kill assessment.

    Look k fires ``shots_per_look[k]`` shots of kill probability ``p`` only if every earlier look
    failed. ``p`` may also be a sequence, one per look (independent layers). Returns
    ``(kill, expected_shots)`` with kill ``P_dtd (1 - prod_k (1 - p_k)^n_k)`` and expected shots
    ``sum_k n_k P(alive before look k)``, where a detection failure keeps the threat alive in
    every look (see the module docstring).
    """
    looks = list(shots_per_look)
    ps = list(p) if isinstance(p, (list, tuple)) else [p] * len(looks)
    if len(ps) != len(looks):
        raise BmdsimInputError("p", p, f"one probability, or one per look ({len(looks)})")
    p_dtd = _prob("p_dtd", p_dtd)
    miss = np.asarray(1.0)  # P(every earlier look missed | detected)
    shots = np.asarray(0.0)
    for k, (pk, nk) in enumerate(zip(ps, looks)):
        pk = _prob(f"p[{k}]", pk)
        nk = _count(f"shots_per_look[{k}]", nk)
        alive = 1.0 - p_dtd * (1.0 - miss)
        shots = shots + nk * alive
        miss = miss * (1.0 - pk) ** nk
    return _out(p_dtd * (1.0 - miss)), _out(shots * np.ones_like(miss))


def shoot_look_shoot(p, n1, n2, p_dtd=1.0):
    """Shoot-look-shoot with perfect kill assessment: ``(kill, expected_shots)``.

    Kill ``1 - (1-p)^(n1+n2)``, expected shots ``n1 + (1-p)^n1 n2`` (defense_math.json);
    with ``p_dtd`` see the module docstring.
    """
    return multi_look(p, [n1, n2], p_dtd=p_dtd)


def layered_kill_probability(layers: Sequence[tuple]):
    """Independent layers (e.g. midcourse then terminal), each a ``(p, n)`` pair.

    Returns ``(kill, expected_shots)``: kill ``1 - prod_k (1 - p_k)^n_k``; with perfect kill
    assessment between layers a layer fires only at threats that all earlier layers missed, so
    expected shots ``sum_k n_k prod_{m<k} (1 - p_m)^n_m``. Arrays broadcast.
    """
    layers = list(layers)
    for k, layer in enumerate(layers):
        if len(layer) != 2:
            raise BmdsimInputError(f"layers[{k}]", layer, "a (p, n) pair")
    return multi_look([lay[0] for lay in layers], [lay[1] for lay in layers])


def shots_needed(p, target):
    """Smallest ``n`` with ``1 - (1 - p)^n >= target`` (integer array).

    ``target`` in [0, 1); ``target == 1`` only with ``p == 1``; ``p == 0`` only with ``target == 0``.
    """
    p = _prob("p", p)
    target = _prob("target", target)
    p, target = np.broadcast_arrays(p, target)
    never = (target > 0) & ((p == 0) | ((target == 1) & (p < 1)))
    if never.any():
        i = np.argmax(never.ravel())
        raise BmdsimInputError(
            "target", target.ravel()[i].item(), f"reachable with p = {p.ravel()[i].item()}: below 1, and p > 0"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log1p(-target) / np.log1p(-p)
    x = np.where(p == 1, np.minimum(target, 1.0) > 0, x)
    x = np.where(target == 0, 0.0, x)
    n = np.ceil(x).astype(np.int64)
    # correct the floating point of the logarithms at exact boundaries
    n = np.where((n > 0) & (1.0 - (1.0 - p) ** np.maximum(n - 1, 0) >= target), n - 1, n)
    n = np.where(1.0 - (1.0 - p) ** n < target, n + 1, n)
    return _out(n)


# ---------------------------------------------------------------------------------------------
# planning looks in an engagement window


@dataclass(frozen=True)
class PlannedLook:
    """One look: the shots of a salvo, all launched at ``launch_s``, arriving at ``intercept_s``."""

    launch_s: float
    intercept_s: float
    shots: int


Flyout = float | Callable[[float], float]


class Doctrine(BaseModel):
    """How many interceptors a threat gets, and when.

    ``salvo``: one look of ``shots`` interceptors. ``shoot-look-shoot``: up to ``looks`` looks of
    ``shots`` each, the next launched only after the previous intercept and its kill assessment.
    When the window has room for fewer looks than ``looks``, ``fallback`` decides:
    ``full-salvo`` (default) fires the shots of the looks that do not fit in the last look that
    does (with two looks: the whole 2 x ``shots`` in the first look), so the threat still gets
    the doctrine's full number of interceptors; ``fewer-looks`` fires only ``shots`` per look that
    fits. Shots of one look are treated as launched together (ripple intervals of seconds are
    below this model's resolution).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["salvo", "shoot-look-shoot"] = Field(default="salvo", description="salvo or shoot-look-shoot")
    shots: int = Field(default=4, ge=1, description="interceptors per threat per look (salvo size)")
    looks: int = Field(default=2, ge=1, description="most looks per threat in shoot-look-shoot")
    kill_assessment_s: float = Field(
        default=30.0,
        ge=0.0,
        description="time after an intercept before its result is known (no public figure; an assumption)",
    )
    fallback: Literal["full-salvo", "fewer-looks"] = Field(
        default="full-salvo", description="what shoot-look-shoot does when the window has room for fewer looks"
    )

    def plan(
        self, window_start_s: float, window_end_s: float, flyout_s: Flyout, launch_ready_s: float
    ) -> tuple[PlannedLook, ...]:
        """Plan the looks at one threat from one site.

        ``[window_start_s, window_end_s]`` is the window of feasible intercept times (an empty or
        NaN window gives no looks); ``flyout_s`` the interceptor's flight time to the intercept
        point, a number or a callable of the intercept time; ``launch_ready_s`` the earliest
        launch. Each look intercepts as early as it can: at ``max(window_start, ready + flyout)``.
        Returns the looks in order, ``()`` when not even one fits.
        """
        t0, t1, ready = float(window_start_s), float(window_end_s), float(launch_ready_s)
        if not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
            return ()
        if not np.isfinite(ready):
            raise BmdsimInputError("launch_ready_s", launch_ready_s, "a finite time in seconds")
        if not callable(flyout_s):
            f = float(flyout_s)
            if not (np.isfinite(f) and f >= 0):
                raise BmdsimInputError("flyout_s", flyout_s, "a non-negative flight time in seconds, or a callable")
        n_looks = 1 if self.mode == "salvo" else self.looks
        looks: list[PlannedLook] = []
        for _ in range(n_looks):
            hit = _earliest_intercept(t0, t1, ready, flyout_s)
            if hit is None:
                break
            launch, intercept = hit
            looks.append(PlannedLook(launch, intercept, self.shots))
            ready = intercept + self.kill_assessment_s
        if looks and len(looks) < n_looks and self.fallback == "full-salvo":
            last = looks[-1]
            looks[-1] = PlannedLook(last.launch_s, last.intercept_s, self.shots * (n_looks - len(looks) + 1))
        return tuple(looks)


def plan_kill_and_shots(p, plan: Sequence[PlannedLook], p_dtd=1.0):
    """``(kill, expected_shots)`` of a plan with perfect kill assessment between its looks."""
    return multi_look(p, [look.shots for look in plan], p_dtd=p_dtd)


def _earliest_intercept(t0: float, t1: float, ready: float, flyout: Flyout) -> tuple[float, float] | None:
    """Earliest intercept time t in [t0, t1] whose launch ``t - flyout(t)`` is no earlier than ready."""
    if not callable(flyout):
        t = max(t0, ready + float(flyout))
        return (float(t - float(flyout)), float(t)) if t <= t1 else None

    def slack(t: float) -> float:
        f = float(flyout(t))
        if not (np.isfinite(f) and f >= 0):
            raise BmdsimInputError("flyout_s", f, f"a non-negative flight time at intercept time {t} s")
        return t - f - ready

    if slack(t0) >= 0:
        return float(t0 - float(flyout(t0))), float(t0)
    # The first sign change on a grid, refined by bisection: a window of launch times narrower
    # than (t1 - t0) / 256 between two grid points can be missed; flyout varies slowly in time.
    grid = np.linspace(t0, t1, 257)
    s = np.array([slack(t) for t in grid])
    ok = np.flatnonzero(s >= 0)
    if ok.size == 0:
        return None
    lo, hi = grid[ok[0] - 1], grid[ok[0]]
    for _ in range(60):  # bisection keeps the answer on the feasible side
        mid = 0.5 * (lo + hi)
        if slack(mid) >= 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-9 * max(1.0, abs(hi)):
            break
    return float(hi - float(flyout(hi))), float(hi)
