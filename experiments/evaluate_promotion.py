"""Evaluate every Promotion baseline on every preset with frozen seeds; print a Markdown table.

    python -m retail_env.experiments.evaluate_promotion                 # all presets, 8 seeds
    python -m retail_env.experiments.evaluate_promotion --seeds 3 --ids RetailStore/Promotion-Mini-v2
    python -m retail_env.experiments.evaluate_promotion --out /tmp/promo   # /tmp/promo.{md,json,csv}
    python -m retail_env.experiments.evaluate_promotion --kpi stockouts --baselines list_price hi_lo \
        --ids RetailStore/Promotion-Mini-v1 RetailStore/Promotion-Mini-v2 \
        --out experiments/results/promotion_stockouts     # docs/promotion_economics.md

Each cell is the mean episode profit over the frozen seeds with a 95 % percentile
bootstrap interval of the mean (experiments/stats.py), or with ``--kpi`` the mean of an
episode KPI (units lost to stock-outs, units spoiled or expedited). Seeds are frozen per id
(``EVAL_SEED_BASE``), so every policy meets the same stores and the table reproduces.
``<out>.md`` (docs/baselines.md's table), ``.json`` and ``.csv`` are written atomically;
``<out>`` defaults to ``experiments/results/promotion_eval``.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import retail_env  # noqa: F401  (registers the ids)
from retail_env.atomic import write_json, write_text
from retail_env.envs.registry import PROMOTION_IDS

from ..agents.factory import make_agent, run_episode
from ..agents.promotion.baselines import BASELINES
from .readme_tables import RESULTS
from .stats import summarize

EVAL_SEED_BASE = 2024_06_01  # frozen: seed i of every id is EVAL_SEED_BASE + i
DEFAULT_SEEDS = 8
DISCRETE_ONLY = {"hi_lo", "thompson"}
KPIS = ("spoilage", "stockouts", "expedited", "mean_discount", "member_share")
SLOW_IDS = {"Spatial"}  # the walking store (Promotion-Spatial-vN): opt in with --ids


def evaluate(env_id: str, baseline: str, n_seeds: int) -> dict | None:
    env = gym.make(env_id)
    base: Any = env.unwrapped  # a Promotion env (its cfg)
    if baseline in DISCRETE_ONLY and base.cfg.action != "discrete":
        return None
    seeds = [EVAL_SEED_BASE + i for i in range(n_seeds)]
    t0 = time.perf_counter()
    runs = [run_episode(env, make_agent(baseline, env), s) for s in seeds]
    env.close()
    out = summarize([r["profit"] for r in runs])  # dollars (the reward is scaled)
    out["seconds"] = time.perf_counter() - t0
    for k in KPIS:
        out[k] = sum(r[k] for r in runs) / len(runs)
    return out


def markdown(results: dict, ids: list[str], baselines: list[str], kpi: str = "profit") -> str:
    """Policies x ids: profit with its CI, or the mean of episode KPI ``kpi``."""
    short = [i.split("/")[-1] for i in ids]
    lines = ["| policy | " + " | ".join(short) + " |", "|---|" + "---|" * len(ids)]
    for b in baselines:
        cells = []
        for i in ids:
            r = results.get((i, b))
            if r is None:
                cells.append("n/a")
            elif kpi == "profit":
                cells.append(f"{r['mean']:,.0f} [{r['ci_low']:,.0f}, {r['ci_high']:,.0f}]")
            else:
                cells.append(f"{r[kpi]:,.1f}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--ids",
        nargs="*",
        default=None,
        help="env ids (default: the current version's, all but spatial)",
    )
    ap.add_argument(
        "--baselines", nargs="*", default=list(BASELINES), help="baselines to play (default: all)"
    )
    ap.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"frozen seeds per id (default {DEFAULT_SEEDS})",
    )
    ap.add_argument(
        "--kpi",
        default="profit",
        choices=("profit", *KPIS),
        help="what a table cell shows: episode profit with its CI (default) or "
        "the mean of an episode KPI",
    )
    ap.add_argument(
        "--out",
        default=str(RESULTS / "promotion_eval"),
        help="path stem of the .md, .json and .csv written",
    )
    args = ap.parse_args(argv)
    if args.seeds < 1:
        raise ValueError(f"--seeds={args.seeds} must be at least 1")
    ids = args.ids or [i for i in PROMOTION_IDS if not any(s in i for s in SLOW_IDS)]
    results = {}
    for env_id in ids:
        for b in args.baselines:
            results[(env_id, b)] = evaluate(env_id, b, args.seeds)
        print(f"{env_id}: done", flush=True)
    table = markdown(results, ids, args.baselines, args.kpi)
    seeds = f"{args.seeds} frozen seeds (seed {EVAL_SEED_BASE} + i)"
    note = (
        f"Mean episode profit ($) over {seeds}, 95% bootstrap CI of the mean."
        if args.kpi == "profit"
        else f"Mean episode {args.kpi} (units) over {seeds}."
    )
    print(note + "\n\n" + table)
    out = Path(args.out)
    rows = [{"env_id": i, "policy": b, **r} for (i, b), r in results.items() if r]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    write_text(out.with_suffix(".csv"), buf.getvalue())
    write_json(out.with_suffix(".json"), rows)
    write_text(out.with_suffix(".md"), note + "\n\n" + table + "\n")
    return table


if __name__ == "__main__":
    main()
