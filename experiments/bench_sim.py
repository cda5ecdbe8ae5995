"""Simulator throughput: store-ticks/s and shopper-ticks/s for B = 1, 64, 1024 (medium preset).

Usage: ``python -m experiments.bench_sim --json OUT [--seconds N] [--batches 1 64 1024]``

Stores are warmed up first so they hold their steady-state crowd (~29 shoppers on
the medium preset): up to ``WARM_STORES`` stores run ``--warm-ticks`` ticks (5 min of
store time by default) and their states are tiled over the batch; every store keeps
its own random stream, so the copies diverge from the first tick. Shopper-ticks
count only shoppers really in a store (not staff, not free slots). The whole tick
is timed: shoppers, staff, shelves and the sensors' ``sensor_step``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np

from retail_env.atomic import write_json
from retail_env.sim.state import scatter_stores
from retail_env.sim.store import StoreParams, make_params, reset, step

WARM_STORES = 16


def _copy_scalars(dst, src) -> None:
    """Ring cursors and other scalars of the warmed state (all copies share them)."""
    for f in dataclasses.fields(dst):
        d, s = getattr(dst, f.name), getattr(src, f.name)
        if dataclasses.is_dataclass(d) and not isinstance(d, type):
            _copy_scalars(d, s)
        elif not isinstance(d, np.ndarray):
            setattr(dst, f.name, s)


def warm_state(params: StoreParams, batch: int, warm_ticks: int):
    """A batch of populated stores and a fresh random generator per store."""
    n = math.gcd(batch, WARM_STORES)
    warm, rng = reset(params, list(range(10_000, 10_000 + n)))
    for _ in range(warm_ticks):
        step(warm, params, rng)
    if batch == n:
        return warm, rng
    state, rng = reset(params, list(range(batch)))
    for start in range(0, batch, n):
        scatter_stores(state, warm, np.arange(start, start + n))
    _copy_scalars(state, warm)
    return state, rng


def measure(params: StoreParams, batch: int, seconds: float, warm_ticks: int) -> dict:
    state, rng = warm_state(params, batch, warm_ticks)
    for _ in range(3):  # touch every buffer once more
        step(state, params, rng)
    ticks = shopper_ticks = 0
    t0 = time.perf_counter()
    while True:
        out = step(state, params, rng)
        ticks += 1
        shopper_ticks += out.n_active
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and ticks >= 5:
            break
    return {"store_ticks_per_s": batch * ticks / elapsed, "shopper_ticks_per_s": shopper_ticks / elapsed,
            "mean_shoppers": shopper_ticks / (batch * ticks), "ticks": ticks, "seconds": elapsed}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, help="output JSON path (written atomically)")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per batch size")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    ap.add_argument("--warm-ticks", type=int, default=3000, help="warm-up ticks (0.1 s each)")
    ap.add_argument("--preset", default="medium")
    args = ap.parse_args(argv)
    params = make_params(args.preset)
    results = {}
    print(f"{'B':>6} {'store-ticks/s':>14} {'shopper-ticks/s':>16} {'shoppers/store':>15}")
    for b in args.batches:
        r = measure(params, b, args.seconds, args.warm_ticks)
        results[str(b)] = r
        print(f"{b:>6} {r['store_ticks_per_s']:>14,.0f} {r['shopper_ticks_per_s']:>16,.0f} "
              f"{r['mean_shoppers']:>15.1f}", flush=True)
    out = {args.preset: results}
    write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
