"""Measure the Promotion demand model's own- and cross-price elasticities, per segment.

    python -m retail_env.experiments.elasticities                 # default store, writes the docs table
    python -m retail_env.experiments.elasticities --days 200 --out /tmp/el   # quicker, elsewhere

Every scenario changes one product's price by +-``delta`` (2 %) for both segments and
draws ``days`` store-days of demand (the aggregate fidelity's Poisson draws, no stock
limit, no end-caps) with common random numbers: each scenario's stores replay the
same random stream as the list-price baseline, so differences are the price's doing.

- long run: the reference price equals the price (shoppers have adapted);
- short run: the reference price is held at list (the first period of a change), so a
  cut is a gain and a rise a loss, and the two differ (loss aversion).

Own-price: ``ln(Q'/Q) / ln(p'/p)`` for the product's own units (long run: the arc over
the cut and the rise), averaged over products with list-price units as weights (as the
model is calibrated), range over products. Cross-price: the same for every other
product of the category, mean and range over the within-category pairs. ``<out>.md``
(docs/tasks/promotion.md's table) and ``<out>.json`` are written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from retail_env.atomic import write_json, write_text
from retail_env.envs.promotion import core as core
from retail_env.sim import demand as dm
from retail_env.sim.rng import BatchRNG

from .readme_tables import RESULTS

SEGMENTS = ("non-members", "members", "all shoppers")
ROWS = {  # key: (label, published anchor)
    "own_long": (
        "own-price, long run (reference = price)",
        "-2.62, mean of 1,851 estimates (Bijmolt, van Heerde & Pieters 2005)",
    ),
    "own_short_cut": (
        "own-price, short run, cut (reference at list)",
        "immediate response exceeds the long run (Fibich et al. 2005)",
    ),
    "own_short_rise": (
        "own-price, short run, rise (reference at list)",
        "rises hurt more than cuts help: loss aversion 2.4 (Hardie et al. 1993)",
    ),
    "cross_long": (
        "cross-price, long run",
        "mean 0.26, median 0.10 of 7,264 estimates (Auer & Papies 2019)",
    ),
    "cross_short_cut": ("cross-price, short run, cut", ""),
}


def demand_units(
    params: core.PromoParams, price: np.ndarray, ref: np.ndarray, days: int, seed: int
) -> np.ndarray:
    """(K, S, N) units demanded over ``days`` store-days for K price scenarios (K, S, N)
    with references ``ref`` (K, S, N); every scenario replays the same random stream."""
    model, k = params.model, price.shape[0]
    dstate = dm.DemandState(ref=ref, pantry=np.zeros((k, dm.N_SEGMENTS, model.n_categories)))
    table = dm.demand_table(model, dstate, price)
    visits = np.broadcast_to(model.visit_rate * 24.0, (k, dm.N_SEGMENTS))
    rng = BatchRNG([seed] * k)
    total = np.zeros(price.shape)
    for _ in range(days):
        total += dm.sample_sales(table, visits, rng)[0]
    return total


def measure(preset: str = "default", delta: float = 0.02, days: int = 2000, seed: int = 0) -> dict:
    """Elasticity summaries per row of ``ROWS`` and segment of ``SEGMENTS``."""
    params = core.build_params(core.make_config(preset))
    lst, cat = params.catalog.price, params.catalog.category
    n = lst.size
    base = np.broadcast_to(lst, (dm.N_SEGMENTS, n))
    # scenarios: 0 = list; then per product j: short cut, short rise, long cut, long rise
    price = np.repeat(base[None], 1 + 4 * n, axis=0).copy()
    ref = price.copy()
    for j in range(n):
        for r, (f, long_run) in enumerate(
            ((1 - delta, False), (1 + delta, False), (1 - delta, True), (1 + delta, True))
        ):
            i = 1 + 4 * j + r
            price[i, :, j] *= f
            if long_run:
                ref[i, :, j] = price[i, :, j]
    units = demand_units(params, price, ref, days, seed)
    units = np.concatenate([units, units.sum(axis=1, keepdims=True)], axis=1)  # + all shoppers
    q0 = units[0]  # (S + 1, N)
    q = units[1:].reshape(n, 4, len(SEGMENTS), n)  # [changed j, scenario, segment, product]
    lc, lr = np.log(1 - delta), np.log(1 + delta)
    el = {
        "own_short_cut": np.log(q[:, 0] / q0) / lc,
        "own_short_rise": np.log(q[:, 1] / q0) / lr,
        "own_long": np.log(q[:, 3] / q[:, 2]) / (lr - lc),
        "cross_short_cut": np.log(q[:, 0] / q0) / lc,
        "cross_long": np.log(q[:, 3] / q[:, 2]) / (lr - lc),
    }  # (j, seg, i)
    same = (cat[:, None] == cat[None, :]) & ~np.eye(n, dtype=bool)  # (j, i)
    out = {"preset": preset, "delta": delta, "days": days, "seed": seed, "rows": {}}
    for key, e in el.items():
        row = {}
        for s, seg in enumerate(SEGMENTS):
            if key.startswith("own"):
                v = e[np.arange(n), s, np.arange(n)]
                mean = float(np.average(v, weights=q0[s]))
            else:
                v = e[:, s, :][same]
                mean = float(v.mean())
            row[seg] = {"mean": mean, "min": float(v.min()), "max": float(v.max())}
        out["rows"][key] = row
    return out


def markdown(res: dict) -> str:
    note = (
        f"Measured by `python -m retail_env.experiments.elasticities` on the `{res['preset']}` store: "
        f"+-{res['delta']:.0%} price changes, {res['days']:,} simulated store-days per "
        "scenario with common random numbers, no stock limit or end-caps. Own-price: mean "
        "over products weighted by list-price units [range]; cross-price: mean over "
        "within-category pairs [range]."
    )
    lines = [
        note,
        "",
        "| elasticity | " + " | ".join(SEGMENTS) + " | published |",
        "|---|" + "---|" * (len(SEGMENTS) + 1),
    ]
    for key, (label, source) in ROWS.items():
        cells = [
            f"{c['mean']:.2f} [{c['min']:.2f}, {c['max']:.2f}]"
            for c in (res["rows"][key][s] for s in SEGMENTS)
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {source} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--preset",
        default="default",
        choices=list(core.PRESETS),
        help="promotion preset whose demand model is measured",
    )
    ap.add_argument("--delta", type=float, default=0.02, help="relative price change (+-)")
    ap.add_argument("--days", type=int, default=2000, help="store-days simulated per scenario")
    ap.add_argument("--seed", type=int, default=0, help="common random numbers seed")
    ap.add_argument(
        "--out",
        default=str(RESULTS / "elasticities"),
        help="path stem of the .md and .json written",
    )
    args = ap.parse_args(argv)
    if not 0.0 < args.delta < 0.5 or args.days < 1:
        raise ValueError(f"--delta={args.delta} must be in (0, 0.5) and --days={args.days} >= 1")
    res = measure(args.preset, args.delta, args.days, args.seed)
    table = markdown(res)
    print(table)
    out = Path(args.out)
    write_json(out.with_suffix(".json"), res)
    write_text(out.with_suffix(".md"), table + "\n")
    return res


if __name__ == "__main__":
    main()
