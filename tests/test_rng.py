"""BatchRNG: the simulator's uncopied tick draws are the same stream as copied ones."""

from __future__ import annotations

import numpy as np

from retail_env.sim.rng import BatchRNG


def test_uniform_views_hold_the_numbers_copies_hold():
    for seeds in ([3], [3, 4, 5]):
        view, copy = BatchRNG(seeds, chunk=64), BatchRNG(seeds, chunk=64)
        for n in (5, 30, 7, 50, 64, 1, 100, 9):  # refills, and a request beyond a chunk
            v = view.uniform(n, copy=False)
            assert v.shape == (len(seeds), n) and v.flags.c_contiguous
            np.testing.assert_array_equal(v, copy.uniform(n))
    one = BatchRNG([3])
    v = one.uniform(8, copy=False)
    assert np.shares_memory(v, one._uniform.buf)  # one store: no copy made
