"""Episode seeds of the Attribution task: the frozen evaluation block and how training
draws its seeds around it.

Evaluation episodes are seeded ``EVAL_SEED0 + i`` (experiments/evaluate*.py, conf/eval).
Every draw made for training (resets without a seed, autoresets, a store that saw no
event run again) skips the reserved block ``EVAL_SEEDS``, so a training run never
plays an evaluation episode, whatever its seed.
"""

from __future__ import annotations

import numpy as np

from retail_env.errors import ConfigError

SEED_HI = 2**31 - 1  # seeds are drawn from [0, SEED_HI)
MAX_NUM_ENVS = 2**16  # stores in one vector env (docs/limits.md)
# Seeds every env accepts: a vector env seeds store i with seed + i, which stays an int64.
MAX_SEED = 2**63 - 1 - MAX_NUM_ENVS
EVAL_SEED0 = 10_000
EVAL_SEEDS = range(EVAL_SEED0, EVAL_SEED0 + 1_000)  # reserved: every frozen list fits in it


def check_seed(seed) -> int | None:
    """``seed`` (None, or an integer in [0, MAX_SEED]) as an int; else a ConfigError.

    Single and vector envs of both tasks call this first, so they take the same seeds."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(
            f"seed={seed!r} has the wrong type ({type(seed).__name__}): must be "
            f"an integer in [0, {MAX_SEED}] or None"
        )
    if not 0 <= int(seed) <= MAX_SEED:
        raise ConfigError(
            f"seed={seed!r} is out of range: must be in [0, {MAX_SEED}] (2**63 - 1 - 2**16) or None"
        )
    return int(seed)


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
