"""Episode seeds of the Attribution task: the frozen evaluation block and how training
draws its seeds around it.

Evaluation episodes are seeded ``EVAL_SEED0 + i`` (experiments/evaluate*.py, conf/eval).
Every draw made for training (resets without a seed, autoresets, a store that saw no
event run again) skips the reserved block ``EVAL_SEEDS``, so a training run never
plays an evaluation episode, whatever its seed.
"""

from __future__ import annotations

import numpy as np

SEED_HI = 2**31 - 1                       # seeds are drawn from [0, SEED_HI)
EVAL_SEED0 = 10_000
EVAL_SEEDS = range(EVAL_SEED0, EVAL_SEED0 + 1_000)   # reserved: every frozen list fits in it


def is_eval_seed(seed: int) -> bool:
    return EVAL_SEEDS.start <= int(seed) < EVAL_SEEDS.stop


def draw_seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` seeds from [0, SEED_HI) outside ``EVAL_SEEDS`` (a draw that lands in the block,
    about 5 in 10^7, is drawn again, so every other draw is as before)."""
    seeds = rng.integers(0, SEED_HI, n)
    for i in range(len(seeds)):
        while is_eval_seed(seeds[i]):
            seeds[i] = rng.integers(0, SEED_HI)
    return seeds


def draw_seed(rng: np.random.Generator) -> int:
    """One seed, drawn as a scalar (the single env's draw), outside ``EVAL_SEEDS``."""
    seed = int(rng.integers(0, SEED_HI))
    while is_eval_seed(seed):
        seed = int(rng.integers(0, SEED_HI))
    return seed
