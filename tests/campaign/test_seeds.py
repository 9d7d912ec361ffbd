"""The chunk's generators (campaign.seeds) against numpy's SeedSequence, state for state.

Oracle: numpy itself, the path `runner.trial_seed_sequences`, `runner.seed_of` and
``SeedSequence(seed).spawn(n)`` (as engine.run seeds a single run).
"""

from __future__ import annotations

import numpy as np
import pytest

from bmdsim.campaign.runner import seed_of, trial_seed_sequences
from bmdsim.campaign.seeds import chunk_generators


@pytest.mark.parametrize("root", [0, 11, 2**32 - 1, 2**32, 2**40 + 3, 2**63 + 5, 2**130 + 7])
def test_chunk_generators_are_numpys(root):
    trials = [0, 1, 2, 99, 12345, 2**32 - 1, 2**32 + 5, 2**40]
    seeds, disp, streams = chunk_generators(root, trials, 3)
    for q, k in enumerate(trials):
        engine, dispersion = trial_seed_sequences(root, k)
        assert seeds[q] == seed_of(engine)
        assert disp[q].bit_generator.state == np.random.default_rng(dispersion).bit_generator.state
        for j, child in enumerate(np.random.SeedSequence(seeds[q]).spawn(3)):
            assert streams[q][j].bit_generator.state == np.random.default_rng(child).bit_generator.state
    # and they draw the same numbers
    engine, _ = trial_seed_sequences(root, trials[-1])
    ref = np.random.default_rng(np.random.SeedSequence(seed_of(engine)).spawn(3)[2])
    np.testing.assert_array_equal(streams[-1][2].standard_normal(5), ref.standard_normal(5))


def test_chunk_generators_bad_input():
    with pytest.raises(ValueError):
        chunk_generators(-1, [0], 2)
    with pytest.raises(ValueError):
        chunk_generators(1, [-3], 2)
