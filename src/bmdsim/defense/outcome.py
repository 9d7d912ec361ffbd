"""Intercept outcomes by Monte Carlo, batched over trials (first axis), and their intervals.

The model is the one of the closed forms in ``bmdsim.defense.doctrine`` (Wilkening 2000):

- detection, tracking and discrimination succeed with ``p_detect`` (``P_dtd``), drawn once per
  threat per trial; a failure is persistent (every look chases the wrong object) and no shot
  can kill that threat;
- each shot kills with its single-shot kill probability, independently of the other shots
  given the SSPK; the SSPK may differ per trial (e.g. drawn from a Beta with ``beta_sspk``),
  which correlates the shots of a trial, as an uncertain SSPK does;
- shoot-look-shoot has perfect kill assessment: a look fires only at threats still alive in
  that trial, and counts the shots it fires. Undetected threats are fired at when
  ``fire_if_undetected`` (the default: a discrimination failure still launches interceptors,
  at a decoy) and are not when it is false (nothing to shoot at).

Every shot gets its own uniform draw, for every trial, whether or not it is fired: the stream of
random numbers does not depend on the outcomes, so two doctrines run with the same seed share
their random numbers (common random numbers). Loops run over looks, sites and the shot index
of a salvo, never over trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmdsim.errors import BmdsimInputError

__all__ = [
    "Z99",
    "Outcome",
    "beta_sspk",
    "normal_mean_interval",
    "resolve_assignment",
    "resolve_looks",
    "resolve_salvos",
    "resolve_shoot_look_shoot",
    "wilson_interval",
]

Z99 = 2.5758293035489004  # standard normal quantile 0.995: two-sided 99 %


@dataclass(frozen=True)
class Outcome:
    """What happened to each threat in each trial; arrays of shape (trials, threats)."""

    killed: np.ndarray  # bool
    shots_fired: np.ndarray  # int
    detected: np.ndarray  # bool: detection, tracking and discrimination succeeded
    kill_look: np.ndarray  # int8: the look that killed (0-based), -1 if none

    @property
    def leaked(self) -> np.ndarray:
        """(trials, threats) bool: not killed."""
        return ~self.killed

    @property
    def leakers(self) -> np.ndarray:
        """(trials,) number of leakers per trial."""
        return self.leaked.sum(axis=1)

    @property
    def no_leaker(self) -> np.ndarray:
        """(trials,) bool: every threat killed."""
        return self.killed.all(axis=1)


def wilson_interval(k, n, z: float = Z99):
    """Wilson score interval ``(lo, hi)`` for ``k`` successes in ``n`` trials (Wilson 1927).

    ``z`` is the normal quantile (default: 99 % two-sided). Vectorised over k and n.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any((k < 0) | (k > n)):
        raise BmdsimInputError("k, n", (k.tolist(), n.tolist()), "0 <= k <= n and n > 0")
    ph = k / n
    z2 = z * z
    den = 1.0 + z2 / n
    mid = (ph + z2 / (2 * n)) / den
    half = z * np.sqrt(ph * (1 - ph) / n + z2 / (4 * n * n)) / den
    return (mid - half)[()], (mid + half)[()]


def normal_mean_interval(samples, z: float = Z99, axis: int = 0):
    """``(mean, lo, hi)``: the sample mean and its normal interval ``mean +- z s / sqrt(n)``."""
    x = np.asarray(samples, dtype=float)
    n = x.shape[axis]
    if n < 2:
        raise BmdsimInputError("samples", n, "at least 2 samples along the axis")
    m = x.mean(axis=axis)
    half = z * x.std(axis=axis, ddof=1) / np.sqrt(n)
    return m[()], (m - half)[()], (m + half)[()]


def beta_sspk(rng: np.random.Generator, mean, concentration, size):
    """Per-trial SSPK drawn from a Beta of the given mean and concentration ``a + b``."""
    mean = np.asarray(mean, dtype=float)
    c = np.asarray(concentration, dtype=float)
    if np.any((mean <= 0) | (mean >= 1)):
        raise BmdsimInputError("mean", mean.tolist(), "in (0, 1)")
    if np.any(c <= 0):
        raise BmdsimInputError("concentration", c.tolist(), "> 0")
    return rng.beta(mean * c, (1 - mean) * c, size=size)


def _trials(trials) -> int:
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise BmdsimInputError("trials", trials, "a whole number >= 1")
    return int(trials)


def _check_prob(field, a):
    a = np.asarray(a, dtype=float)
    if not np.all((a >= 0) & (a <= 1)):
        raise BmdsimInputError(field, a[~((a >= 0) & (a <= 1))].flat[0].item(), "probabilities in [0, 1]")
    return a


def _check_shots(field, a):
    a = np.asarray(a)
    af = a.astype(float)
    if a.dtype == bool or not np.all((af >= 0) & (af == np.floor(af))):
        raise BmdsimInputError(field, a.tolist() if a.size < 20 else a.shape, "whole numbers >= 0")
    return a.astype(np.int64)


def resolve_looks(
    rng: np.random.Generator,
    sspk,
    shots,
    *,
    p_detect=1.0,
    trials: int,
    fire_if_undetected: bool = True,
) -> Outcome:
    """Resolve looks with perfect kill assessment between them.

    ``sspk`` and ``shots`` broadcast to (trials, threats, looks): the last axis is the look;
    ``p_detect`` broadcasts to (trials, threats). Look k fires ``shots[..., k]`` at each threat
    still alive after looks 0..k-1. Independent layers are looks with their own SSPK.
    """
    trials = _trials(trials)
    sspk = _check_prob("sspk", sspk)
    shots = _check_shots("shots", shots)
    p_detect = _check_prob("p_detect", p_detect)
    try:
        full = np.broadcast_shapes((trials, 1, 1), sspk.shape, shots.shape, p_detect.shape + (1,))
    except ValueError:
        raise BmdsimInputError(
            "sspk, shots, p_detect",
            (sspk.shape, shots.shape, p_detect.shape),
            f"shapes broadcastable to (trials={trials}, threats, looks), p_detect to (trials, threats)",
        ) from None
    if len(full) != 3:
        raise BmdsimInputError("sspk, shots", (sspk.shape, shots.shape), "at most 3 axes: (trials, threats, looks)")
    _, T, L = full
    sspk_b = np.broadcast_to(sspk, full)
    shots_b = np.broadcast_to(shots, full)

    detected = rng.random((trials, T)) < np.broadcast_to(p_detect, (trials, T))
    alive = np.ones((trials, T), dtype=bool)
    fired = np.zeros((trials, T), dtype=np.int64)
    kill_look = np.full((trials, T), -1, dtype=np.int8)
    for look in range(L):
        n = shots_b[:, :, look]
        s = sspk_b[:, :, look]
        engage = alive & (n > 0)
        if not fire_if_undetected:
            engage &= detected
        fired += np.where(engage, n, 0)
        hit = np.zeros((trials, T), dtype=bool)
        for k in range(int(n.max()) if n.size else 0):
            hit |= (rng.random((trials, T)) < s) & (k < n)
        killed_now = engage & detected & hit
        kill_look[killed_now] = look
        alive &= ~killed_now
    return Outcome(killed=~alive, shots_fired=fired, detected=detected, kill_look=kill_look)


def resolve_salvos(rng: np.random.Generator, sspk, shots, *, p_detect=1.0, trials: int) -> Outcome:
    """One salvo per threat: ``sspk`` and ``shots`` broadcast to (trials, threats)."""
    return resolve_looks(
        rng, np.asarray(sspk)[..., None], np.asarray(shots)[..., None], p_detect=p_detect, trials=trials
    )


def resolve_shoot_look_shoot(
    rng: np.random.Generator,
    sspk,
    shots_per_look: Sequence[int] | np.ndarray,
    *,
    p_detect=1.0,
    trials: int,
    fire_if_undetected: bool = True,
) -> Outcome:
    """Shoot-look-shoot: ``sspk`` broadcasts to (trials, threats), the same in every look;
    ``shots_per_look`` is (looks,) for every threat, or broadcasts to (trials, threats, looks)."""
    return resolve_looks(
        rng,
        np.asarray(sspk)[..., None],
        np.asarray(shots_per_look),
        p_detect=p_detect,
        trials=trials,
        fire_if_undetected=fire_if_undetected,
    )


def resolve_assignment(rng: np.random.Generator, shots, p, *, p_detect=1.0, trials: int) -> Outcome:
    """Resolve a weapon-target assignment as one salvo per threat from several sites.

    ``shots`` and ``p`` are (sites, threats), as in ``bmdsim.defense.assign``; ``p`` may also be
    (trials, sites, threats) for per-trial SSPK. ``p_detect`` broadcasts to (trials, threats).
    """
    trials = _trials(trials)
    shots = _check_shots("shots", shots)
    p = _check_prob("p", p)
    p_detect = _check_prob("p_detect", p_detect)
    if shots.ndim != 2:
        raise BmdsimInputError("shots", shots.shape, "shape (sites, threats)")
    S, T = shots.shape
    try:
        p_b = np.broadcast_to(p, (trials, S, T))
        pd = np.broadcast_to(p_detect, (trials, T))
    except ValueError:
        raise BmdsimInputError("p, p_detect", (p.shape, p_detect.shape), f"p ({S}, {T}) or (trials, {S}, {T})") from None
    detected = rng.random((trials, T)) < pd
    hit = np.zeros((trials, T), dtype=bool)
    for i in range(S):
        for k in range(int(shots[i].max()) if T else 0):
            hit |= (rng.random((trials, T)) < p_b[:, i, :]) & (k < shots[i])
    engaged = shots.sum(axis=0) > 0
    killed = detected & hit & engaged
    fired = np.broadcast_to(shots.sum(axis=0), (trials, T)).copy()
    return Outcome(killed=killed, shots_fired=fired, detected=detected, kill_look=np.where(killed, 0, -1).astype(np.int8))
