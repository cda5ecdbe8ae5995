"""Simulator throughput: store-ticks/s and shopper-ticks/s for B = 1, 64, 1024 (medium preset).

Usage: ``python -m retail_env.experiments.bench_sim [--json OUT] [--md MD] [--seconds N] [--batches 1 64 1024]``

Prints the figures, writes a Markdown table to MD (default
``experiments/results/bench_sim.md``, for docs/performance.md) and, with ``--json``, OUT as
``{"medium": {"1": {"store_ticks_per_s": ..., "shopper_ticks_per_s": ...}, ...}}``.

Stores are warmed up first so they hold their steady-state crowd (~29 shoppers on
the medium preset): up to ``WARM_STORES`` stores run ``--warm-ticks`` ticks (5 min of
store time by default) and their states are tiled over the batch; every store keeps
its own random stream, so the copies diverge from the first tick. Shopper-ticks
count only shoppers really in a store (not staff, not free slots). The whole tick
is timed: shoppers, staff, shelves and the sensors' ``sensor_step``.

Rates are per wall-clock second; ``*_per_cpu_s`` divide by this process's CPU time
instead, which other jobs on the machine disturb far less.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time

import numpy as np

from retail_env.atomic import write_json, write_text
from retail_env.sim.state import scatter_stores
from retail_env.sim.store import StoreParams, make_params, reset, step

from .readme_tables import RESULTS

WARM_STORES = 16
WARM_TICKS = 3000  # 5 min of store time at 10 Hz: the store fills up to its crowd
# The project's performance budget (2 cores; the targets are in docs/performance.md): store-ticks/s at B = 1 and B = 1024.
TARGETS = {
    "1": ">= 10,000 store-ticks/s",
    "1024": ">= 100,000 store-ticks/s, >= 3M shopper-ticks/s",
}


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


def measure(params: StoreParams, batch: int, seconds: float, warm_ticks: int = WARM_TICKS) -> dict:
    state, rng = warm_state(params, batch, warm_ticks)
    for _ in range(3):  # touch every buffer once more
        step(state, params, rng)
    ticks = shopper_ticks = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        out = step(state, params, rng)
        ticks += 1
        shopper_ticks += out.n_active
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and ticks >= 5:
            break
    cpu = time.process_time() - c0
    return {
        "store_ticks_per_s": batch * ticks / elapsed,
        "shopper_ticks_per_s": shopper_ticks / elapsed,
        "store_ticks_per_cpu_s": batch * ticks / cpu,
        "mean_shoppers": shopper_ticks / (batch * ticks),
        "ticks": ticks,
        "seconds": elapsed,
        "cpu_seconds": cpu,
    }


def load_note() -> str:
    """The machine's load while measuring (other jobs share the 2 cores)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def markdown(results: dict, preset: str, seconds: float, load: str) -> str:
    """The docs table (docs/performance.md) of one run."""
    lines = [
        f"| stores B ({preset}) | store-ticks/s | shopper-ticks/s | shoppers/store "
        "| store-ticks per CPU-s | target |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for b, r in results.items():
        lines.append(
            f"| {b} | {r['store_ticks_per_s']:,.0f} | {r['shopper_ticks_per_s']:,.0f} | "
            f"{r['mean_shoppers']:.1f} | {r['store_ticks_per_cpu_s']:,.0f} | "
            f"{TARGETS.get(b, '')} |"
        )
    lines.append("")
    lines.append(
        f"`python -m retail_env.experiments.bench_sim`: {seconds:g} s timed per B after a "
        f"{WARM_TICKS // 600}-min warm-up; {load}."
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--json", help="output JSON path (written atomically)")
    ap.add_argument("--md", default=str(RESULTS / "bench_sim.md"), help="Markdown table path")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per batch size")
    ap.add_argument(
        "--batches",
        type=int,
        nargs="+",
        default=[1, 64, 1024],
        help="batch sizes B timed (default 1 64 1024)",
    )
    ap.add_argument("--warm-ticks", type=int, default=WARM_TICKS, help="warm-up ticks (0.1 s each)")
    ap.add_argument("--preset", default="medium", help="simulator preset (default medium)")
    args = ap.parse_args(argv)
    params = make_params(args.preset)
    results = {}
    print(f"{'B':>6} {'store-ticks/s':>14} {'shopper-ticks/s':>16} {'shoppers/store':>15}")
    for b in args.batches:
        r = measure(params, b, args.seconds, args.warm_ticks)
        results[str(b)] = r
        print(
            f"{b:>6} {r['store_ticks_per_s']:>14,.0f} {r['shopper_ticks_per_s']:>16,.0f} "
            f"{r['mean_shoppers']:>15.1f}",
            flush=True,
        )
    load = load_note()
    print(load)
    out = {args.preset: results}
    if args.json:
        write_json(args.json, out)
    write_text(args.md, markdown(results, args.preset, args.seconds, load))
    return out


if __name__ == "__main__":
    main()
