"""BatchRNG: its compiled uniform streams are NumPy's PCG64 streams, copied or not."""

from __future__ import annotations

import numpy as np

from retail_env.sim.rng import BatchRNG, _store_generators


def test_uniforms_are_numpys_pcg64_streams():
    seeds = [3, 4, 5]
    rng = BatchRNG(seeds)
    gens = [_store_generators(s)[1] for s in seeds]
    for n in (5, 30, 7, 5000, 1):
        np.testing.assert_array_equal(rng.uniform(n), np.stack([g.random(n) for g in gens]))
    rng.reseed(1, 77)
    gens[1] = _store_generators(77)[1]
    np.testing.assert_array_equal(
        rng.uniform(2, 3), np.stack([g.random(6) for g in gens]).reshape(3, 2, 3)
    )


def test_uniform_views_hold_the_numbers_copies_hold():
    for seeds in ([3], [3, 4, 5]):
        view, copy = BatchRNG(seeds), BatchRNG(seeds)
        for n in (5, 30, 7, 50, 64, 1, 100, 9):
            v = view.uniform(n, copy=False)
            assert v.shape == (len(seeds), n) and v.flags.c_contiguous
            np.testing.assert_array_equal(v, copy.uniform(n))
    one = BatchRNG([3])
    assert np.shares_memory(one.uniform(8, copy=False), one.uniform(8, copy=False))  # no allocation


def test_normals_refill_in_stream_order():
    chunked, whole = BatchRNG([3, 4], chunk=64), BatchRNG([3, 4], chunk=4096)
    got = np.concatenate([chunked.normal(n) for n in (40, 40, 100, 3)], axis=1)
    np.testing.assert_array_equal(got, whole.normal(183))
