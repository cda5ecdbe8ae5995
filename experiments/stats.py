"""Summary statistics for evaluation tables: mean, IQM and bootstrap confidence intervals.

IQM (interquartile mean) and percentile-bootstrap CIs over seeds follow
Agarwal et al., "Deep RL at the Edge of the Statistical Precipice" (NeurIPS 2021).
The bootstrap uses its own fixed seed so a table is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BOOTSTRAP_SEED = 20211206
N_BOOTSTRAP = 2000


def iqm(x: Sequence[float] | np.ndarray) -> float:
    """Mean of the middle 50% of the values (sorted, 25% trimmed each side)."""
    a = np.sort(np.asarray(x, dtype=np.float64))
    if a.size == 0:
        raise ValueError("iqm of an empty sequence")
    n = a.size
    lo, hi = int(np.floor(0.25 * n)), int(np.ceil(0.75 * n))
    return float(a[lo:hi].mean()) if hi > lo else float(a.mean())


def bootstrap_ci(
    x: Sequence[float] | np.ndarray,
    stat: Callable[[np.ndarray], float] = np.mean,
    level: float = 0.95,
    n_boot: int = N_BOOTSTRAP,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``stat`` over the values."""
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        raise ValueError("bootstrap_ci of an empty sequence")
    if a.size == 1:
        return float(a[0]), float(a[0])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    stats = np.array([stat(a[i]) for i in idx])
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


def summarize(x: Sequence[float] | np.ndarray) -> dict[str, float]:
    """``{mean, iqm, ci_low, ci_high, n}`` with a 95% bootstrap CI of the mean."""
    a = np.asarray(x, dtype=np.float64)
    lo, hi = bootstrap_ci(a)
    return {"mean": float(a.mean()), "iqm": iqm(a), "ci_low": lo, "ci_high": hi, "n": int(a.size)}
