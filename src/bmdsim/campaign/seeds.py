"""A chunk's random generators at once: the ones the campaign's seed sequences give, made faster.

Trial k of a campaign with root seed s draws from (``runner.trial_seed_sequences``)

- its dispersion stream ``SeedSequence(s, spawn_key=(k, 1))``, and
- its engine seed ``seed_k``: the first 64-bit word of ``SeedSequence(s, spawn_key=(k, 0))``
  shifted right by one; the engine's streams are ``SeedSequence(seed_k).spawn(n)`` (one per
  threat and one for the battle, as ``engine.run`` makes them).

numpy builds each ``SeedSequence`` and each PCG64 from it in Python-level code, about 36 us per
trial, 3 % of a campaign trial. `chunk_generators` computes the same words for a whole chunk in
one compiled pass and hands each PCG64 its four seed words directly (`_Words`), 1 us each.

The algorithm is numpy's ``SeedSequence`` (O'Neill's seed_seq hash, as numpy documents it):
the entropy words (the root's 32-bit words, little end first, padded with zeros to the pool
size of 4 when there is a spawn key, then each spawn-key integer's words) are hashed into a
pool of four 32-bit words (``_pool``), and a state of n words is drawn from the pool
(``_state64``). The tests check every generator against numpy's own, state for state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit
from numpy.random.bit_generator import ISeedSequence

# numpy's SeedSequence constants (numpy/random/bit_generator.pyx)
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4


@njit(cache=True, inline="always")
def _hashmix(value, h):
    """(hashed value, next hash constant), 32-bit words held in uint64."""
    m = np.uint64(0xFFFFFFFF)
    v = (value ^ h) & m
    h = (h * np.uint64(_MULT_A)) & m
    v = (v * h) & m
    return v ^ (v >> np.uint64(16)), h


@njit(cache=True, inline="always")
def _mix(x, y):
    r = (np.uint64(_MIX_L) * x - np.uint64(_MIX_R) * y) & np.uint64(0xFFFFFFFF)
    return r ^ (r >> np.uint64(16))


@njit(cache=True)
def _pool(ent, n, pool):
    """The pool (4 words) of the entropy words ent[:n] (``SeedSequence.mix_entropy``)."""
    h = np.uint64(_INIT_A)
    for i in range(_POOL):
        pool[i], h = _hashmix(ent[i] if i < n else np.uint64(0), h)
    for s in range(_POOL):
        for d in range(_POOL):
            if s != d:
                v, h = _hashmix(pool[s], h)
                pool[d] = _mix(pool[d], v)
    for s in range(_POOL, n):
        for d in range(_POOL):
            v, h = _hashmix(ent[s], h)
            pool[d] = _mix(pool[d], v)


@njit(cache=True)
def _state64(pool, out):
    """``generate_state(out.size, np.uint64)`` of a pool into out: 32-bit words, paired low first."""
    m = np.uint64(0xFFFFFFFF)
    h = np.uint64(_INIT_B)
    for i in range(2 * out.size):
        v = (pool[i % _POOL] ^ h) & m
        h = (h * np.uint64(_MULT_B)) & m
        v = (v * h) & m
        v = v ^ (v >> np.uint64(16))
        if i % 2 == 0:
            out[i // 2] = v
        else:
            out[i // 2] |= v << np.uint64(32)


@njit(cache=True, inline="always")
def _put_words(x, ent, n):
    """Append the 32-bit words of the integer x >= 0 (little end first; 0 is one word)."""
    ent[n] = x & np.uint64(0xFFFFFFFF)
    n += 1
    x >>= np.uint64(32)
    while x > 0:
        ent[n] = x & np.uint64(0xFFFFFFFF)
        n += 1
        x >>= np.uint64(32)
    return n


@njit(cache=True)
def _chunk_words(root, trials, n_streams, seeds, disp, streams):
    """For each trial: its engine seed, its dispersion stream's 4 PCG64 seed words, and the 4 of
    each of its n_streams engine streams (module docstring)."""
    ent = np.zeros(max(root.size, _POOL) + 8, np.uint64)
    pool = np.zeros(_POOL, np.uint64)
    first = np.zeros(1, np.uint64)
    for q in range(trials.size):
        n = root.size
        ent[:n] = root
        while n < _POOL:
            ent[n] = 0
            n += 1
        n = _put_words(np.uint64(trials[q]), ent, n)
        ent[n] = 0  # spawn key (k, 0): the engine
        _pool(ent, n + 1, pool)
        _state64(pool, first)
        seed = first[0] >> np.uint64(1)
        seeds[q] = seed
        ent[n] = 1  # (k, 1): the dispersions
        _pool(ent, n + 1, pool)
        _state64(pool, disp[q])
        m = _put_words(seed, ent, 0)
        while m < _POOL:
            ent[m] = 0
            m += 1
        for j in range(n_streams):  # SeedSequence(seed).spawn(n_streams)[j]: spawn key (j,)
            ent[m] = j
            _pool(ent, m + 1, pool)
            _state64(pool, streams[q, j])


class _Words(ISeedSequence):
    """A seed sequence that only hands a PCG64 its four precomputed seed words."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words != 4 or np.dtype(dtype) != np.uint64:  # pragma: no cover - PCG64 asks exactly this
            raise ValueError("these words seed a PCG64 only")
        return self.words


def _generator(words: np.ndarray) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(_Words(words)))


def chunk_generators(
    root_seed: int, trial_ids: Sequence[int], n_streams: int
) -> tuple[list[int], list[np.random.Generator], list[list[np.random.Generator]]]:
    """(engine seeds, dispersion generators, engine streams) of the trials: for trial k,
    ``seed_of(trial_seed_sequences(root_seed, k)[0])``, ``default_rng(trial_seed_sequences(
    root_seed, k)[1])`` and ``[default_rng(c) for c in SeedSequence(seed).spawn(n_streams)]``,
    the same generators (module docstring)."""
    root_seed = int(root_seed)
    if root_seed < 0:
        raise ValueError("the root seed must be a non-negative integer")
    words = []
    while True:
        words.append(root_seed & 0xFFFFFFFF)
        root_seed >>= 32
        if root_seed == 0:
            break
    trials = np.asarray(trial_ids, np.int64).reshape(-1)
    if trials.size and trials.min() < 0:
        raise ValueError("trial ids must be non-negative")
    n = trials.size
    seeds = np.zeros(n, np.uint64)
    disp = np.zeros((n, 4), np.uint64)
    streams = np.zeros((n, n_streams, 4), np.uint64)
    _chunk_words(np.array(words, np.uint64), trials, int(n_streams), seeds, disp, streams)
    return (
        [int(s) for s in seeds],
        [_generator(disp[q]) for q in range(n)],
        [[_generator(streams[q, j]) for j in range(n_streams)] for q in range(n)],
    )
